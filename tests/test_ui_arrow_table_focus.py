"""A grid's content replaced twice at once (a "Loading rows…" message, then the rows) keeps the focus."""

from __future__ import annotations

import asyncio

import pyarrow as pa
from textual.app import App, ComposeResult
from textual.widgets import OptionList, Static

from loop_tui.ui.widgets.arrow_table import ArrowTable
from tests.test_loop_ui_support import wait_for


class _Page(App):
    def compose(self) -> ComposeResult:
        yield OptionList("first dataset", "second dataset")  # where Textual moves focus when the focused line goes
        yield ArrowTable(id="rows")


async def test_a_message_and_rows_replacing_each_other_at_once_keep_the_focus_in_the_table() -> None:
    # Seen on the datasets page under load: opening a dataset shows "Loading rows…" and then its rows; when the
    # two replacements ran at once, the cursor ended up in the datasets list instead of the rows.
    app = _Page()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(ArrowTable)
        await table.show_message("Loading…")
        table.focus_grid()
        await wait_for(pilot, lambda: table.has_focus_within)
        rows = pa.table({"input": ["a", "b"], "expected": ["x", "y"]})
        await asyncio.gather(table.show_message("Loading rows…"), table.show(rows))
        await wait_for(pilot, lambda: table.grid is not None)
        assert table.grid is not None and table.grid.has_focus


class _SlowToLeave(Static):
    """A child whose removal takes until the test says so (as a grid's can, on a busy machine)."""

    def __init__(self, leave: asyncio.Event) -> None:
        super().__init__("slow")
        self.leave = leave

    async def on_unmount(self) -> None:
        await self.leave.wait()


async def _still_running(app: App) -> bool:
    """Whether the app's message loop still handles what is posted to it."""
    handled = asyncio.Event()
    app.call_later(handled.set)
    try:
        await asyncio.wait_for(handled.wait(), timeout=10)
    except TimeoutError:
        return False
    return True


async def test_a_replacement_cancelled_while_it_removes_the_old_grid_leaves_the_app_running() -> None:
    # Seen in the playground under load (CI): its results grid is redrawn by an exclusive worker every 0.3 s
    # during a run, so a newer redraw cancels an older one. One cancelled while it waited for the old grid's
    # removal cancelled Textual's gather of that grid's message loop; the app awaits the same removal, took
    # the CancelledError as its own, and stopped handling anything (the next key press timed out).
    app = _Page()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(ArrowTable)
        leave = asyncio.Event()
        slow = _SlowToLeave(leave)
        await table.mount(slow)
        first = table.run_worker(table.show(pa.table({"n": [1]})), exclusive=True, group="redraw",
                                 exit_on_error=False)
        await wait_for(pilot, lambda: slow.is_attached and not slow.is_running)  # its removal has begun
        table.run_worker(table.show(pa.table({"n": [2]})), exclusive=True, group="redraw", exit_on_error=False)
        await wait_for(pilot, lambda: first.is_cancelled)
        leave.set()
        assert await _still_running(app), "the app stopped handling messages"
        await wait_for(pilot, lambda: table.raw is not None and table.raw.column("n").to_pylist() == [2])
