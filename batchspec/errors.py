"""Exceptions that cross layers.

``BatchspecError`` is a *known* failure (bad input, unreadable file, unreachable endpoint): the CLI prints its
message and exits with ``exit_code`` (2 unless said otherwise). Anything else is an internal error (exit 3).
"""

from __future__ import annotations


class BatchspecError(Exception):
    """A failure the user can act on; never shown with a traceback."""

    exit_code: int = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
