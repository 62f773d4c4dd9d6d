"""Loop's BTQL workflows in the real app with a scripted model: the data-source picker (pick and cancel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loop_tui.store import Workspace
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from loop_tui.ui.loop.source_picker import SourcePickerModal
from tests.test_workflows_support import (
    SIZE,
    ask,
    chat_of,
    make_app,
    open_app,
    result_of,
    tool_call,
    tool_results,
    wait_idle,
    wait_modal,
)


async def test_get_data_source_opens_a_picker_and_the_model_gets_the_users_pick(sample_ws_path: Path,
                                                                                 fake_server_env) -> None:
    fake_server_env.script([
        tool_call("get_data_source"),
        tool_call("run_btql", query="select: count(1) as n | from: dataset('support-golden')"),
        {"text": "The dataset has that many rows."},
    ])
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "count the rows of a source I choose")
        picker = await wait_modal(pilot, SourcePickerModal)
        labels = [str(s.get("from")) for s in picker.sources]
        assert "project_logs('support-bot')" in labels and "dataset('support-golden')" in labels
        assert {s["kind"] for s in picker.sources} == {"logs", "experiment", "dataset"}
        target = labels.index("dataset('support-golden')")
        for _ in range(target):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_idle(pilot, chat)
        assert result_of(fake_server_env, "get_data_source")["picked"]["from"] == "dataset('support-golden')"
        pid = app.workspace.project("support-bot").id
        ds = app.workspace.get_object("dataset", pid, "support-golden")
        expected = app.workspace.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [ds.id])[0]["n"]
        assert result_of(fake_server_env, "run_btql")["rows"] == [[expected]]


async def test_cancelling_the_source_picker_tells_the_model_no_source_was_picked(sample_ws_path: Path,
                                                                                 fake_server_env) -> None:
    fake_server_env.script([tool_call("get_data_source"), {"text": "Which data do you mean?"}])
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "query something")
        await wait_modal(pilot, SourcePickerModal)
        await pilot.press("escape")
        await wait_idle(pilot, chat)
        assert "did not pick a source" in result_of(fake_server_env, "get_data_source")
        assert not isinstance(app.screen, SourcePickerModal)


async def test_cancelling_the_run_closes_an_open_source_picker(sample_ws_path: Path, fake_server_env) -> None:
    fake_server_env.script([tool_call("get_data_source"), {"text": "never sent"}])
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "query something")
        await wait_modal(pilot, SourcePickerModal)
        chat.action_cancel()
        await wait_idle(pilot, chat)
        assert not isinstance(app.screen, SourcePickerModal)


# ----- write, modify and fix the query on screen (the accepted query lands in the editor) -------------
async def _btql_page(pilot, query: str | None = None):
    from tests.test_loop_ui_support import wait_for

    await open_app(pilot)
    screen = pilot.app.screen
    if query is not None:
        screen.editor.load_text(query)
        await wait_for(pilot, lambda: screen.editor.text == query)
    await pilot.press("escape")  # out of the editor: the workflow keys are page keys
    return screen


def _answer_with(query: str) -> dict:
    return {"text": f"Here is the query:\n\n```sql\n{query}\n```"}


ERRORS_BY_MODEL = ("dimensions: metadata.model as model | measures: count(1) as errors | filter: error != null "
                   "| from: project_logs('support-bot')")


async def test_write_a_query_and_put_it_in_the_editor(sample_ws_path: Path, fake_server_env) -> None:
    from tests.test_loop_ui_support import wait_for

    fake_server_env.script([tool_call("run_btql", query=ERRORS_BY_MODEL), _answer_with(ERRORS_BY_MODEL)])
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _btql_page(pilot)
        await pilot.press("W")
        chat = chat_of(app)
        assert chat.input.value == "Write a BTQL query that "
        await pilot.press(*"counts errors by model", "enter")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert "+dimensions: metadata.model as model" in modal.preview.text
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.editor.text == ERRORS_BY_MODEL)
        await wait_idle(pilot, chat)
        assert result_of(fake_server_env, "run_btql")["row_count"] > 0


async def test_modify_the_query_on_screen(sample_ws_path: Path, fake_server_env) -> None:
    from tests.test_loop_ui_support import wait_for

    modified = ERRORS_BY_MODEL.replace("error != null", "error != null and created > now() - interval 7 day")
    fake_server_env.script([tool_call("run_btql", query=modified), _answer_with(modified)])
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _btql_page(pilot, ERRORS_BY_MODEL)
        await pilot.press("M")
        await pilot.press(*"keep only the last 7 days", "enter")
        await wait_modal(pilot, ConfirmChangeModal)
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.editor.text == modified)
        sent = fake_server_env.requests[0].body  # the system prompt carries the page context
        assert ERRORS_BY_MODEL in json.dumps(sent)  # the model saw the query on screen


@pytest.mark.parametrize(("broken", "kind"), [
    ("selec: id | from: project_logs('support-bot') | limit: 3", "parse"),
    ("select: id, metadata.modle | from: project_logs('support-bot') | limit: 3", "bind"),
])
async def test_fix_a_query_with_loop(sample_ws_path: Path, fake_server_env, broken: str, kind: str) -> None:
    from tests.test_loop_ui_support import wait_for

    fixed = broken.replace("selec:", "select:").replace("modle", "model")
    fake_server_env.script([tool_call("run_btql", query=broken), tool_call("run_btql", query=fixed), _answer_with(fixed)])
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _btql_page(pilot, broken)
        await wait_for(pilot, lambda: screen._error is not None)
        await pilot.press("F")
        await wait_modal(pilot, ConfirmChangeModal)
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.editor.text == fixed)
        results = [r for name, r in tool_results(fake_server_env) if name == "run_btql"]
        assert results[0].startswith(f"Error: BTQL {kind} error") and json.loads(results[1])["row_count"] == 3
        assert f"BTQL {kind} error" in json.dumps(fake_server_env.requests[0].body)  # the page's error reached Loop


async def test_query_an_explicit_source_by_id(sample_ws_path: Path, fake_server_env) -> None:
    ws = Workspace.open(sample_ws_path)
    exp = ws.objects("experiment", ws.project("support-bot").id)[0]
    fake_server_env.script([tool_call("run_btql", query=f"select: count(1) as n | from: experiment('{exp.id}') | filter: is_root"),
                            {"text": "Counted."}])
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, f"how many rows does experiment {exp.id} have?")
        await wait_idle(pilot, chat)
        n = ws.query("SELECT count(*) AS n FROM experiment WHERE experiment_id = ? AND is_root", [exp.id])[0]["n"]
        assert result_of(fake_server_env, "run_btql")["rows"] == [[n]]


async def test_a_query_in_an_answer_to_a_typed_question_is_offered_for_the_editor(sample_ws_path: Path) -> None:
    # Seen in tmux: typing "group this by model" in the chat on the BTQL page (offline model) answered with the
    # rewritten query in a code block cut at the panel's edge, and nothing offered to put it in the editor.
    from tests.test_loop_ui_support import wait_for

    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=SIZE) as pilot:
        screen = await _btql_page(pilot, "select: * | from: project_logs('support-bot') | limit: 5")
        chat = await ask(pilot, "group this by model")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert "+dimensions: metadata.model as model" in " ".join(modal.preview.text.split())
        await pilot.press("y")
        await wait_for(pilot, lambda: screen.editor.text.startswith("dimensions: metadata.model as model"))
        await wait_idle(pilot, chat)
