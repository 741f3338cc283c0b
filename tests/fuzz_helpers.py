"""Shared harness of the fuzz suites (issue 12): bounded hypothesis profiles and the outcome contract.

Profiles (``HYPOTHESIS_PROFILE``): ``ci`` (default, used by ``make test``: a
bounded, derandomised example count so the suite is fast and reproducible) and
``deep`` (``make fuzz``: many more random examples). Every case must end in
exit 0, or exit 2 with exactly one ``error: ...`` line on stderr; anything
else (a traceback, another exit code such as 3 from an engine invariant, or a
case running past its wall-time limit) fails the test.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "deep", max_examples=600, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

def scaled(fraction: float):
    """Settings with ``fraction`` of the profile's example count (for suites whose cases cost a second)."""
    return settings(max_examples=max(3, int(settings.default.max_examples * fraction)))


CASE_SECONDS = 30  # wall-time limit of one case: a hang fails the case instead of the suite


class Hang(Exception):
    """A case ran past CASE_SECONDS."""


@contextlib.contextmanager
def time_limit(seconds: int = CASE_SECONDS):
    def _alarm(_sig, _frame):
        raise Hang(f"case ran longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_main(main, argv: list[str], seconds: int = CASE_SECONDS) -> tuple[int, str]:
    """Call a CLI ``main(argv)`` in-process; returns (exit code, stderr) after checking the contract."""
    err = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(err), time_limit(seconds):
        try:
            main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    text = err.getvalue()
    check_outcome(code, text, argv)
    _event(code, text)
    return code, text


def _event(code: int, stderr: str) -> None:
    """Tally outcomes for ``--hypothesis-show-statistics`` (exit 0, or exit 2 by the error's first words)."""
    from hypothesis import event
    from hypothesis.errors import InvalidArgument

    label = "exit 0" if code == 0 else "exit 2: " + " ".join(error_line(stderr).split()[1:3])
    if "deadlock" in stderr:
        label = "exit 2: deadlock"
    try:
        event(label)
    except InvalidArgument:  # not inside a hypothesis test
        pass


def check_outcome(code: int, stderr: str, what) -> None:
    assert code in (0, 2), f"{what}: exit {code}\n{stderr}"
    assert "Traceback" not in stderr, f"{what}: traceback\n{stderr}"
    if code == 2:
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, f"{what}: expected one error line\n{stderr}"


def error_line(stderr: str) -> str:
    return next(line for line in stderr.splitlines() if line.startswith("error:"))


def check_user_error(fn, *args, seconds: int = CASE_SECONDS, **kw):
    """Call ``fn``; it must return or raise a UserError whose message is one line. Returns (value, message)."""
    from contracts.errors import UserError

    with time_limit(seconds):
        try:
            value = fn(*args, **kw)
            _tally("exit 0")
            return value, None
        except UserError as e:
            msg = str(e)
            _tally("exit 2")
            assert msg and "\n" not in msg, f"multi-line error: {msg!r}"
            assert e.exit_code == 2, f"exit code {e.exit_code}: {msg}"
            return None, msg


def _tally(label: str) -> None:
    from hypothesis import event
    from hypothesis.errors import InvalidArgument

    try:
        event(label)
    except InvalidArgument:
        pass
