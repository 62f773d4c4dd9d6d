"""Loop inside the real app: each page tells Loop what it shows, workflow keys reach the page's chat,
Loop's accepted query lands in the BTQL editor, and Loop's data edits (and their undo) reload the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loop_tui.ui.loop import LoopChat, find_chat
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from loop_tui.ui.widgets.arrow_table import ArrowTable
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, settle

SIZE = (150, 45)
BAD_QUERY = "select: id, metadata.modle | from: project_logs('support-bot') | limit: 5"


def chat_of(app: Any) -> LoopChat:
    """The Loop chat on the current page."""
    chat = find_chat(app)
    assert chat is not None
    return chat


async def wait_chat_idle(pilot: Any, chat: LoopChat) -> None:
    """Until the chat's run has finished and its messages are handled."""
    await wait_for(pilot, lambda: not chat.running and not any(
        w.group == "loop-agent" and w.is_running for w in pilot.app.workers))
    await pilot.pause()  # until the run's last messages are handled


def tool_names(chat: LoopChat) -> list[str]:
    """The tools Loop called in this chat, in order."""
    return [w.tool_name for w in chat.transcript.children if type(w).__name__ == "ToolCard"]


def user_turns(chat: LoopChat) -> list[str]:
    """What was sent to Loop in this chat."""
    return [w.text for w in chat.transcript.children if type(w).__name__ == "UserTurn"]


async def open_page(pilot: Any, page: str) -> None:
    """Switch to a page with its key and let it load."""
    await pilot.press(str(["playground", "experiments", "datasets", "logs", "btql"].index(page) + 1))
    await settle(pilot)


# ----- page context -----------------------------------------------------------------------------
async def test_list_pages_give_loop_the_ids_they_show(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ws, pid = app.workspace, app.project.id
        experiments = ws.objects("experiment", pid)
        await pilot.press("down")
        ctx = chat_of(app).page_context()
        assert (ctx.page, ctx.project, ctx.experiment_id) == ("experiments", "support-bot", experiments[1].id)

        await open_page(pilot, "datasets")
        screen = app.screen
        await pilot.press("down", "down")
        ctx = chat_of(app).page_context()
        row = screen.query_one("#dataset-rows", ArrowTable).raw_row()
        assert ctx.dataset_id == screen.current.id == ws.objects("dataset", pid)[0].id
        assert ctx.selected_row_ids == [row["id"]]
        assert ws.query("SELECT dataset_id FROM dataset WHERE id = ?", [row["id"]])[0]["dataset_id"] == ctx.dataset_id

        await open_page(pilot, "playground")
        playground = ws.objects("playground", pid)[0]
        ctx = chat_of(app).page_context()
        assert (ctx.playground_id, ctx.dataset_id) == (playground.id, playground.data["dataset_id"])

        await open_page(pilot, "logs")
        await pilot.press("down")
        ctx = chat_of(app).page_context()
        row = app.screen.query_one("#logs-table", ArrowTable).raw_row()
        assert ctx.selected_row_ids == [row["id"]] and ctx.btql_query is None
        await pilot.press("t")  # narrowing the logs puts the page's query (with its time range) in the context
        await settle(pilot)
        ctx = chat_of(app).page_context()
        assert ctx.btql_query is not None and "interval 1 hour" in ctx.btql_query.lower().replace("hours", "hour")


async def test_pushed_pages_give_loop_the_experiment_rows_and_spans(sample_ws_path: Path) -> None:
    from loop_tui.ui.screens.compare import CompareScreen
    from loop_tui.ui.screens.experiment_view import ExperimentScreen
    from loop_tui.ui.screens.trace import TraceScreen

    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        ws = app.workspace
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ExperimentScreen)
        exp = app.screen.experiment
        ctx = chat_of(app).page_context()
        assert ctx.experiment_id == exp.id and len(ctx.selected_row_ids) == 1
        (row,) = ws.query("SELECT experiment_id, is_root FROM experiment WHERE id = ?", ctx.selected_row_ids)
        assert row == {"experiment_id": exp.id, "is_root": True}

        await pilot.press("enter")  # the row's trace: Loop sees the highlighted span of that experiment
        await settle(pilot)
        assert isinstance(app.screen, TraceScreen)
        ctx = chat_of(app).page_context()
        assert ctx.page == "experiments" and ctx.experiment_id == exp.id
        assert ws.query("SELECT experiment_id FROM experiment WHERE id = ?", ctx.selected_row_ids)[0]["experiment_id"] == exp.id

        await pilot.press("escape")
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("space", "down", "space", "c")
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        base, other = app.screen.experiments
        ctx = chat_of(app).page_context()
        assert ctx.experiment_id == other.id and ctx.base_experiment_id == base.id
        assert ws.query("SELECT experiment_id FROM experiment WHERE id = ?", ctx.selected_row_ids)[0]["experiment_id"] == other.id
        note = app.screen.loop_request_note("summarize")
        assert base.id in note and other.name in note


async def test_btql_page_gives_loop_the_query_and_its_error(sample_ws_path: Path) -> None:
    from loop_tui.agent.offline.btql_fix import parse_error

    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.editor.load_text(BAD_QUERY)
        await wait_for(pilot, lambda: app.screen._error is not None)
        ctx = chat_of(app).page_context()
        assert ctx.btql_query == BAD_QUERY
        error = parse_error(ctx.btql_error or "")  # the form Loop's own tools report errors in
        assert error is not None and error["kind"] == "bind" and "metadata.model" in error["hint"]
        app.screen.editor.load_text(BAD_QUERY.replace("modle", "model"))
        await wait_for(pilot, lambda: app.screen._error is None)
        assert chat_of(app).page_context().btql_error is None


# ----- workflows from page keys -----------------------------------------------------------------
async def test_regressions_key_on_an_experiment_runs_in_its_chat(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        chat = chat_of(app)
        await pilot.press("R")
        await wait_chat_idle(pilot, chat)
        assert user_turns(chat)[0].startswith("What regressed in this experiment")
        assert tool_names(chat) == ["get_summarized_results"]
        answer = "\n".join(w.text for w in chat.transcript.children if type(w).__name__ == "AssistantAnswer")
        assert app.screen.experiment.name in answer and "regress" in answer.lower()


async def test_fix_with_loop_offline_puts_the_fixed_query_in_the_editor(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.editor.load_text(BAD_QUERY)
        await wait_for(pilot, lambda: screen._error is not None)
        await pilot.press("escape")  # out of the editor: F is a page key again
        await pilot.press("F")
        modal = await _wait_modal(pilot, app)
        assert "metadata.model" in modal.preview.text
        await pilot.press("y")
        await wait_for(pilot, lambda: "metadata.model" in screen.editor.text)
        assert screen.editor.text == BAD_QUERY.replace("modle", "model")
        await wait_for(pilot, lambda: screen._error is None)  # re-validated: the error mark is gone
        # ...and run at once; the editor takes the cursor only when the user asks (e), so page keys keep working.
        await wait_for(pilot, lambda: "rows" in str(screen.query_one("#btql-status").render()))
        assert not screen.editor.has_focus


async def test_chat_keys_win_over_the_pages_priority_keys(sample_ws_path: Path) -> None:
    from loop_tui.ui.loop.pickers import ConversationHistoryModal

    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.focused is chat_of(app).input
        await pilot.press("ctrl+r")  # Loop's history here, not a playground run
        await pilot.pause()
        assert isinstance(app.screen, ConversationHistoryModal)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.current_run is None


async def _wait_modal(pilot: Any, app: Any) -> ConfirmChangeModal:
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmChangeModal))
    await pilot.pause()  # until the modal has handled its mount
    return app.screen  # type: ignore[return-value]


# ----- Loop's changes reload the page -----------------------------------------------------------
@pytest.mark.parametrize("undo_from", ["chat", "page"])
async def test_loop_data_edit_and_its_undo_reload_the_datasets_page(sample_ws_path: Path, fake_server_env,
                                                                    undo_from: str) -> None:
    fake_server_env.script([
        {"tool_calls": [{"name": "edit_data", "arguments": {"operations": [
            {"op": "add", "input": {"question": "Can I pay in yen?"}, "expected": "Yes, JPY works.", "tags": ["loop"]},
        ]}}]},
        {"text": "Added one row."},
    ])
    app = make_app(sample_ws_path, page="datasets")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#dataset-rows", ArrowTable)
        before = table.row_count
        chat = chat_of(app)
        await pilot.press("ctrl+l")
        await pilot.press(*"add a yen row", "enter")
        modal = await _wait_modal(pilot, app)
        assert modal.preview.kind == "rows"
        await pilot.press("y")
        await wait_chat_idle(pilot, chat)
        await wait_for(pilot, lambda: table.row_count == before + 1)
        assert "Can I pay in yen?" in str(table.raw.column("input").to_pylist())
        if undo_from == "page":
            screen.set_focus(None)  # the workflow ran from a page key: ctrl+z still reaches Loop's undo
            await pilot.pause()
        await pilot.press("ctrl+z")
        await wait_for(pilot, lambda: table.row_count == before)
        assert not screen.check_action("loop_chat", ("undo",))  # nothing left to undo: the key is off
