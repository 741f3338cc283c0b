"""User-facing errors shared by every vitsim command.

A :class:`UserError` is something the user can cause (unknown model, malformed
YAML, infeasible memory, a corrupt program file). Every ``python -m`` entry
point catches it, prints its one-sentence message to stderr and exits with
``exit_code`` (2 by default): no traceback for user errors.
"""

from __future__ import annotations

import functools
import logging
import sys


class UserError(Exception):
    """An error the user caused; the message is one clear sentence."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def describe_validation_error(err: Exception) -> str:
    """Turn a pydantic ValidationError into 'field a.b.c: reason' for the first problem."""
    errors = getattr(err, "errors", None)
    if callable(errors):
        items = errors()
        if items:
            first = items[0]
            loc = ".".join(str(p) for p in first.get("loc", ())) or "<root>"
            msg = first.get("msg", "invalid")
            more = f" (and {len(items) - 1} more problem(s))" if len(items) > 1 else ""
            return f"field '{loc}': {msg}{more}"
    return str(err).splitlines()[0]


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
            print("error: interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper
