"""Helpers for the UI tests (no tests here): build the app on a workspace and let workers settle."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled


def make_app(ws_path: Path, page: str = "logs", project: str | None = "support-bot", settings: Any = None) -> Any:
    """A LoopApp on the workspace at `ws_path` (settings default to the test's isolated file)."""
    from loop_tui.config import load_settings
    from loop_tui.store import Workspace
    from loop_tui.ui.app import LoopApp

    return LoopApp(Workspace.open(ws_path), settings or load_settings(), start_page=page, project=project)


async def _workers_done(app: Any) -> None:
    # An exclusive worker (a debounced check) is cancelled when a newer one starts: that is not a failure.
    for worker in list(app.workers):
        with contextlib.suppress(WorkerCancelled):
            await worker.wait()


async def settle(pilot: Pilot, rounds: int = 4) -> None:
    """Wait until workers (and the messages and timers they trigger) are done."""
    for _ in range(rounds):
        await _workers_done(pilot.app)
        await pilot.pause(0.05)
    await _workers_done(pilot.app)
    await pilot.pause()


def freeze_cursors(app: Any) -> None:
    """Stop text cursors blinking so screenshots are stable."""
    for widget in app.screen.query("TextArea, Input"):
        widget.cursor_blink = False


def screen_text(app: Any) -> str:
    """Everything visible on the current screen as plain text (for asserting on what users see)."""
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())
