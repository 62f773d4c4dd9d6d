"""Snapshots of modals over a page of the full app at 120×40: the help screen, the project picker and a
dataset's history. Each waits for the loaded state (never a fixed pause) before the picture.

A modal's picture holds the page it was opened on, tinted, around the modal box. Under `-n 2` load that page
was once missing from the picture for good (a blank background that no wait fixed): a modal paints its
background once (the page below, as that page's own layout had it then) and keeps the paint until something
asks the modal to paint again. So each test first waits for the page to be ready and takes its text, then
opens the modal and waits until the picture shows that same text around the modal box, asking the modal to
paint again on each miss (`PageBehindShown`).

Review a changed SVG by eye before `pytest --snapshot-update`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from tests.test_loop_ui_support import wait_for
from tests.test_ui_snapshots import SIZE, _ready, screen_settled
from tests.test_ui_support import make_app, screen_text, settle


def _cells(line: str, start: int, end: int) -> str:
    """The characters of `line` in cell columns [start, end) (a wide character counts as two)."""
    out, column = [], 0
    for char in line:
        if start <= column < end:
            out.append(char)
        column += cell_len(char)
    return "".join(out)


class PageBehindShown:
    """Whether the picture shows, around the modal box, the text the page showed before the modal opened; on
    a miss it asks the modal to paint again (its background is painted once and kept) and remembers where
    the picture differed, for the timeout's message."""

    def __init__(self, app: Any, page_text: str) -> None:
        self.app = app
        self.page_lines = page_text.splitlines()
        self.difference = "nothing compared yet"

    def __call__(self) -> bool:
        box = self.app.screen.query_one(".modal-box").region
        shown = screen_text(self.app).splitlines()
        for row, (seen, page) in enumerate(zip(shown, self.page_lines, strict=True)):
            if box.y <= row < box.bottom:  # the rows the box covers: compare what is left and right of it
                width = cell_len(page)
                seen, page = (_cells(seen, 0, box.x) + _cells(seen, box.right, width),
                              _cells(page, 0, box.x) + _cells(page, box.right, width))
            if seen != page:
                self.difference = f"row {row}: {seen.strip()!r} where the page showed {page.strip()!r}"
                self.app.screen.refresh()  # the modal paints its background (the page below) again
                return False
        return True

    def __repr__(self) -> str:
        return f"the page behind the modal in the picture (last difference: {self.difference})"


async def _page_then_modal(pilot: Any, key: str, modal: type, shows: str) -> None:
    """Wait for the page to be ready, press `key`, and wait for `modal` showing `shows` over that page. The
    cursor is put on the page's main table first: where focus lands while a page loads varies (the list of
    datasets or its rows), and the focused pane's border shows in the picture behind the modal."""
    await _ready(pilot)
    pilot.app.screen.focus_main()
    await _ready(pilot)
    page_text = screen_text(pilot.app)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, modal) and shows in screen_text(pilot.app), timeout=30)
    await _ready(pilot)  # the modal's own tables laid out and measured, its looks steady
    await wait_for(pilot, PageBehindShown(pilot.app, page_text), timeout=30)
    await screen_settled(pilot)


@pytest.fixture
def utc_local_time() -> Iterator[None]:
    """Show local times as UTC (the history lists when each write happened, in local time)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_help_screen(snap_compare, sample_ws_path: Path) -> None:
    """You should see "Keys (remap any of them in Settings → Key bindings)" over the logs page (tinted around
    the box): the logs page's keys first (/ Filter logs.filter, r Refresh logs.refresh, …), then the app's
    (? Help app.help, ctrl+o Project app.project, …), each with its action and its id, and the line about
    ctrl+p."""
    from loop_tui.ui.screens.help import HelpScreen

    async def open_help(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await _page_then_modal(pilot, "question_mark", HelpScreen, "logs.")

    assert snap_compare(make_app(sample_ws_path, "logs"), terminal_size=SIZE, run_before=open_help)


def test_project_picker(snap_compare, sample_ws_path: Path) -> None:
    """You should see "Switch project" over the logs page with the workspace's projects, invoice-extraction
    and support-bot, the current one (support-bot) highlighted; no Braintrust line (no key is set)."""
    from loop_tui.ui.screens.project_picker import ProjectPicker

    async def open_picker(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await _page_then_modal(pilot, "ctrl+o", ProjectPicker, "invoice-extraction")

    assert snap_compare(make_app(sample_ws_path, "logs"), terminal_size=SIZE, run_before=open_picker)


def test_dataset_history(snap_compare, sample_ws_path: Path, utc_local_time: None) -> None:
    """You should see "History of escalations" over the datasets page: its one write, when it happened
    (2026-11-27 00:00:00), "insert", 15 rows, "sample rows for escalations" and the write's whole id (it was
    cut, with a scroll bar, in a box too narrow for it), and the line "enter undoes the selected write (as a
    new write) · esc closes"."""
    from loop_tui.store import Workspace
    from loop_tui.ui.screens.history import HistoryModal

    ws = Workspace.open(sample_ws_path)
    escalations = ws.get_object("dataset", ws.project("support-bot").id, "escalations")
    (write,) = ws.history(table="dataset", object_id=escalations.id, limit=10)

    async def open_history(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await _page_then_modal(pilot, "h", HistoryModal, f"sample rows for escalations  {write.xact_id}")

    assert snap_compare(make_app(sample_ws_path, "datasets"), terminal_size=SIZE, run_before=open_history)
