"""A grid's content replaced twice at once (a "Loading rows…" message, then the rows) keeps the focus."""

from __future__ import annotations

import asyncio

import pyarrow as pa
from textual.app import App, ComposeResult
from textual.widgets import OptionList

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
