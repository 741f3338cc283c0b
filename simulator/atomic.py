"""Write files into runs/ without ever damaging what is already there, and read them back.

Every output is written to a temporary file in the same folder and renamed
into place (rename is atomic on POSIX), so an interrupted or failed command
leaves earlier results intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

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
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, _MODE & ~_current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: str, obj: Any) -> None:
    """Deterministic JSON (sorted keys, fixed indent, trailing newline)."""
    write_text(path, json.dumps(obj, sort_keys=True, indent=1) + "\n")


def read_json(path: str, what: str) -> Any:
    """Parse a JSON file; a missing or corrupt file is a UserError naming ``what`` (e.g. 'program file')."""
    from simulator.errors import UserError

    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise UserError(f"{what} {path!r} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{what} {path!r} is not valid JSON ({e})") from None
