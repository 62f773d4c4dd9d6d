"""Errors that carry a user-facing sentence.

`UserError` is raised anywhere for bad input (a malformed file, an unknown project, a bad setting). The CLI
prints its message on one line and exits with code 2; the UI shows it in place. It never wraps a
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: `str(err)` says what is wrong and how to fix it, in one sentence."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class NotFoundError(UserError):
    """A named object (project, experiment, dataset, prompt, scorer) does not exist."""


class ConflictError(UserError):
    """A write would break an invariant (a duplicate name, an undo over a newer change)."""
