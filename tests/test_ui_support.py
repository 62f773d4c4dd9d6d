"""Helpers for the UI tests (no tests here): build the app on a workspace and let workers settle."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.worker import WorkerCancelled, WorkerState


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


def _busy(app: Any) -> list[str]:
    """The workers still pending or running (a handler may have started one since the last wait)."""
    return [f"{w.group}/{w.name}" for w in app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]


async def settle(pilot: Pilot, timeout: float = 30.0) -> None:
    """Wait until the app is idle: every worker done, every pending message and animation handled, and the
    screen's text the same on two looks in a row (a worker's result that starts more work, mounts rows or
    changes the layout shows up as a change and earns another round). Fails after `timeout` seconds, naming
    what was still busy. Debounced timers are not work yet: wait for their effect with `wait_for`."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: str | None = None
    while True:
        try:
            await asyncio.wait_for(_workers_done(app), timeout=max(deadline - loop.time(), 0.01))
        except TimeoutError:
            raise AssertionError(f"workers still running after {timeout}s: {_busy(app)}") from None
        await pilot.wait_for_scheduled_animations()  # queued messages handled, animations done, CPU idle
        shown = screen_text(app)
        if shown == last and not _busy(app):
            return
        last = shown
        if loop.time() > deadline:
            raise AssertionError(f"the app did not settle within {timeout}s (busy workers: {_busy(app)})")


def freeze_cursors(app: Any) -> None:
    """Stop text cursors blinking so screenshots are stable."""
    for widget in app.screen.query("TextArea, Input"):
        widget.cursor_blink = False


def screen_text(app: Any) -> str:
    """Everything visible on the current screen as plain text (for asserting on what users see)."""
    return "\n".join("".join(segment.text for segment in strip) for strip in app.screen._compositor.render_strips())
