"""User-facing errors shared by every vitsim command.

A :class:`UserError` is something the user can cause (unknown model, malformed
YAML, infeasible memory, a corrupt program file). Every ``python -m`` entry
point catches it, prints its one-sentence message to stderr and exits with
``exit_code`` (2 by default): no traceback for user errors.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import logging
import os
import sys


class UserError(Exception):
    """An error the user caused; the message is one clear sentence."""

    def __init__(self, message: str, exit_code: int = 2):
        # user text quoted in the message (a spec, a key) may hold newlines or control characters:
        # escape them so the error stays one line on stderr
        message = "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))
        super().__init__(message)
        self.exit_code = exit_code


def describe_validation_error(err: Exception | list[dict], fields_at=None, strip: int = 0) -> str:
    """Turn a pydantic ValidationError (or its list of error items) into one clause naming the first problem.

    Unknown fields come first (a typo such as ``flit_bitz`` is the real cause
    of the "field required" error beside it): "unknown field 'flit_bitz' in
    noc; did you mean 'flit_bits'?" when ``fields_at(parent_path)`` lists the
    allowed names. Other problems read "field 'a.b.c': reason". ``strip`` drops
    leading location parts (the tag of a discriminated union). The count of
    further problems leaves out the "missing" error a suggested name explains.
    """
    if isinstance(err, list):  # the error items themselves, as a caller rewrote them
        items = err
    else:
        errors = getattr(err, "errors", None)
        if not callable(errors):
            return str(err).splitlines()[0]
        items = errors()
    if not items:
        return str(err).splitlines()[0]
    items = sorted(items, key=lambda e: e.get("type") != "extra_forbidden")  # stable: unknown fields first
    first = items[0]
    loc = tuple(first.get("loc", ()))[strip:]
    rest = items[1:]
    if first.get("type") == "extra_forbidden" and loc:
        parent, key = loc[:-1], str(loc[-1])
        where = f" in {'.'.join(str(p) for p in parent)}" if parent else " at the top level"
        allowed = list(fields_at(parent)) if fields_at is not None else []
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        text = f"unknown field '{key}'{where}"
        if close:
            text += f"; did you mean '{close[0]}'?"
            explained = parent + (close[0],)
            rest = [e for e in rest if not (e.get("type") == "missing" and tuple(e.get("loc", ()))[strip:] == explained)]
        elif allowed:
            text += f" (allowed: {', '.join(allowed)})"
    else:
        msg = str(first.get("msg", "invalid"))
        msg = msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
        text = f"field '{'.'.join(str(p) for p in loc)}': {msg}" if loc else msg
    if rest:
        text += f" (and {len(rest)} more problem(s))" if not text.endswith("?") else f" ({len(rest)} more problem(s) after it)"
    return text


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr ('error: ...') and exit 2, like every other user error."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def cli_entry(func):
    """Decorator for CLI ``main`` functions: UserError -> one line on stderr + exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        try:
            return func(*args, **kwargs)
        except UserError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            # Leave at once: an interrupt that landed inside an extension module's import or a
            # worker thread can make interpreter finalisation crash (seen: "PyThreadState_Get ... GIL
            # is released", exit -6). Every file is written to a temporary and renamed, so nothing
            # is left half-written; the next write into the folder removes the temporaries.
            print("error: interrupted", file=sys.stderr, flush=True)
            os._exit(130)

    return wrapper
