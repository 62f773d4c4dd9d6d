"""Removing widgets from code that may be cancelled (a worker replaced by a newer one, a widget's workers
cancelled as it leaves).

Textual's removal (`widget.remove()`, `remove_children()`) waits for the removed widgets' message loops with
one `asyncio.gather`, and the app waits for the same removal. Cancelling a caller that waits for it cancels
that gather, and with it the removed widgets' loops: the app then takes their CancelledError as its own and
stops handling anything (seen in the playground under load: its results grid is redrawn by an exclusive
worker, so a newer redraw cancelled an older one in the middle of removing the old grid).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def finish_removal(removal: Awaitable[None]) -> None:
    """Wait for `removal`; cancelling the caller stops the wait, never the removal."""
    await asyncio.shield(asyncio.ensure_future(removal))
