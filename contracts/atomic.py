"""Write files into runs/ without ever damaging what is already there, and read them back.

Every output is written to a temporary file in the same folder and renamed
into place (rename is atomic on POSIX), so an interrupted or failed command
leaves earlier results intact. Temporary names carry the writer's process id
(``.tmp-<pid>-...``): a writer killed with SIGKILL cannot remove its
temporary, so the next write into the folder removes the temporaries of
processes that no longer exist. Two writers never share a temporary, and
:func:`run_folder_lock` lets a whole run hold its folder so that two runs
into one folder take turns instead of interleaving their files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from typing import Any

LOCK_FILE = ".vitsim.lock"
LOCK_ENV = "VITSIM_RUN_LOCK_HELD"  # set by a parent that holds the lock of the folder (python -m pipeline)

_MODE = 0o644  # mkstemp creates 0600; results are ordinary readable files


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str, text: str) -> None:
    write_bytes(path, text.encode())


def write_bytes(path: str, data: bytes) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _MODE & ~_current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: str) -> None:
    """Remove ``.tmp-<pid>-*`` files whose writer no longer runs (it was killed mid-write)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not name.startswith(".tmp-"):
            continue
        pid = name[5:].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))


@contextlib.contextmanager
def run_folder_lock(folder: str):
    """Hold ``folder`` for one run: a second run into the same folder waits until the first is done.

    An advisory ``flock`` on ``folder/.vitsim.lock``; the kernel releases it
    when the holder exits, however it exits (SIGKILL included), so a killed run
    never leaves the folder locked. A child of a holder (``LOCK_ENV`` names the
    folder) does not lock again.
    """
    import fcntl

    folder = os.path.abspath(folder)
    os.makedirs(folder, exist_ok=True)
    if os.environ.get(LOCK_ENV) == folder:
        yield
        return
    with open(os.path.join(folder, LOCK_FILE), "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            remove_stale_temporaries(folder)
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def write_json(path: str, obj: Any) -> None:
    """Deterministic JSON (sorted keys, fixed indent, trailing newline)."""
    write_text(path, json.dumps(obj, sort_keys=True, indent=1) + "\n")


def read_json(path: str, what: str) -> Any:
    """Parse a JSON file; a missing or corrupt file is a UserError naming ``what`` (e.g. 'program file')."""
    from contracts.errors import UserError

    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise UserError(f"{what} {path!r} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{what} {path!r} is not valid JSON ({e})") from None


def file_digest(path: str) -> str:
    """sha256 of a file's bytes (read in 1 MiB blocks): names the exact file a result came from."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
