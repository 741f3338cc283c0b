"""The .venv install stamp: a sha256 of the files that decide what gets installed.

    python3 tools/venv_stamp.py hash                # print the digest of the requirement files
    python3 tools/venv_stamp.py check .venv/.installed   # print "ok" if the stamp holds today's digest
    python3 tools/venv_stamp.py write .venv/.installed   # record today's digest (after a successful install)

The Makefile reinstalls only when the recorded digest differs from today's, so
a fresh clone next to an existing venv (every file newer than the stamp) does
not reinstall, and a changed pin always does. Standard library only: it runs
with the system python before the venv exists.
"""

from __future__ import annotations

import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = ("requirements.txt", "requirements-dev.txt", "setup.cfg", "pyproject.toml")


def digest(root: str = ROOT) -> str:
    h = hashlib.sha256()
    for name in FILES:
        path = os.path.join(root, name)
        h.update(name.encode() + b"\0")
        if os.path.isfile(path):
            with open(path, "rb") as f:
                h.update(f.read())
        h.update(b"\0")
    return h.hexdigest()


def main(argv: list[str]) -> int:
    if len(argv) < 1 or argv[0] not in ("hash", "check", "write") or (argv[0] != "hash" and len(argv) != 2):
        print("usage: venv_stamp.py hash | check STAMP | write STAMP", file=sys.stderr)
        return 2
    today = digest()
    if argv[0] == "hash":
        print(today)
    elif argv[0] == "check":
        try:
            with open(argv[1]) as f:
                recorded = f.read().strip()
        except OSError:
            recorded = ""
        print("ok" if recorded == today else "stale")
    else:
        with open(argv[1] + ".tmp", "w") as f:
            f.write(today + "\n")
        os.replace(argv[1] + ".tmp", argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
