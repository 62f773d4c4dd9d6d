"""Helpers for the UI tests (no tests here): build the app on a workspace and let workers settle."""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from pathlib import Path
from typing import Any

from rich.cells import cell_len
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
    """Everything visible on the current screen as plain text (for asserting on what users see).

    Read from `App.export_screenshot()` (the public way to get what the screen draws): each run of text in
    the SVG names its line and starts at a pixel offset, so the lines are rebuilt cell by cell.
    """
    return screenshot_text(app.export_screenshot(), app.size.width, app.size.height)


_SVG_TEXT = re.compile(r'<text [^>]*?x="([\d.]+)"[^>]*?textLength="([\d.]+)"[^>]*?line-(\d+)\)"[^>]*>([^<]*)</text>')


def screenshot_text(svg: str, width: int, height: int) -> str:
    """The plain text of an SVG screenshot (Rich's `export_svg`), `height` lines padded to `width` cells."""
    runs = [
        (float(x), float(length), int(line), html.unescape(text.replace("&#160;", " ")))  # spaces are written as nbsp
        for x, length, line, text in _SVG_TEXT.findall(svg)
    ]
    char_width = next((length / len(text) for _, length, _, text in runs if text), 1.0)
    lines: list[list[str]] = [[] for _ in range(height)]
    used = [0] * height
    for x, _, line, text in runs:  # in drawing order: left to right within a line
        text = text.replace("\n", "")  # each line of the SVG ends with its newline
        if not text or not 0 <= line < height:
            continue
        column = round(x / char_width)
        if column > used[line]:  # runs of blanks are not written to the SVG
            lines[line].append(" " * (column - used[line]))
            used[line] = column
        lines[line].append(text)
        used[line] += cell_len(text)
    return "\n".join("".join(parts) + " " * max(0, width - used[row]) for row, parts in enumerate(lines))
