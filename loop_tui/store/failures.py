"""What the store says when the disk, not the user, is at fault.

Both are `UserError`s (one sentence, no traceback) but exit with 1, not 2: the input was fine, the write or
read failed, and the sentence says what is on disk now.
"""

from __future__ import annotations

from loop_tui.errors import UserError


class WriteFailed(UserError):
    """A write could not be committed (disk full, I/O error); nothing of it is visible."""

    exit_code = 1


class DamagedError(UserError):
    """A stored file is damaged or missing; the sentence names it and says how to repair it."""

    exit_code = 1
