"""Copying text out of the app (issue 11 item 11): a row, a span, a query and Loop's answer reach the
terminal's clipboard (OSC 52, through Textual's public `copy_to_clipboard`) and the fallback file."""

from __future__ import annotations

import json
from pathlib import Path

from loop_tui.ui.clipboard import CLIPBOARD_FILE
from loop_tui.ui.ui_state import state_file
from loop_tui.ui.widgets.arrow_table import ArrowTable
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, settle


def _saved() -> str:
    path = state_file(CLIPBOARD_FILE)
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # rows are the user's data: owner only
    return path.read_text(encoding="utf-8")


async def test_y_on_a_grid_copies_the_stored_row_as_json_and_y_in_a_trace_the_span(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, "logs")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#logs-table", ArrowTable)
        table.focus_grid()
        await pilot.press("j", "y")
        row = json.loads(app.clipboard)
        assert row["id"] == table.raw_row()["id"]
        assert isinstance(row["input"], dict | list | str) and row["input"] == json.loads(_saved())["input"]
        assert not isinstance(row["input"], str) or not row["input"].startswith("{")  # JSON text decoded
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "TraceScreen" and bool(
            app.screen.query_one("SpanTree").cursor_node and app.screen.query_one("SpanTree").cursor_node.data))
        await pilot.press("y")
        span = json.loads(app.clipboard)
        assert span["root_span_id"] == row["root_span_id"] and "span_id" in span
        assert json.loads(_saved()) == span


async def test_y_on_the_btql_page_copies_the_query(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, "btql")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("y")
        assert app.clipboard == app.screen.editor.text and "from:" in app.clipboard
        assert _saved() == app.clipboard


async def test_ctrl_y_in_the_chat_copies_loops_last_answer(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, "logs")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+l", *"summarize the logs", "enter")
        chat = app.screen.query_one("LoopChat")
        await wait_for(pilot, lambda: not chat.running and any(w.text.strip() for w in chat.transcript.query("AssistantAnswer")),
                       timeout=60)
        await pilot.press("ctrl+y")
        answers = [w.text for w in chat.transcript.query("AssistantAnswer") if w.text.strip()]
        assert app.clipboard == answers[-1] and _saved() == answers[-1]


async def test_Y_on_a_grid_copies_one_field_of_the_row_in_full(sample_ws_path: Path) -> None:
    from loop_tui.ui.widgets.modals import ChoiceModal

    app = make_app(sample_ws_path, "logs")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#logs-table", ArrowTable)
        table.focus_grid()
        await pilot.press("Y")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal))
        labels = [label for label, _ in app.screen.choices]
        await pilot.press(*["down"] * labels.index(next(x for x in labels if x.startswith("id:"))), "enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, ChoiceModal))
        assert app.clipboard == table.raw_row()["id"] == _saved()
