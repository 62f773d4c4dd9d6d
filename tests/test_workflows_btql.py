"""Loop's BTQL workflows in the real app with a scripted model: the data-source picker (pick and cancel)."""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.loop.source_picker import SourcePickerModal
from tests.test_workflows_support import (
    SIZE,
    ask,
    make_app,
    open_app,
    result_of,
    tool_call,
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
