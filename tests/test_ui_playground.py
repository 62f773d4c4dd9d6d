"""Playground flows: the task loads, a run fills rows with scores live (fake model server), the prompt
is validated and saved as a new version, and the run is compared with the previous one."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import ProgressBar, SelectionList, TextArea

from loop_tui.ui.widgets.arrow_table import ArrowTable
from tests.test_ui_support import make_app, screen_text, settle


async def _playground(pilot):  # type: ignore[no-untyped-def]
    await settle(pilot)
    scorers = pilot.app.screen.query_one("#pg-scorers", SelectionList)
    scorers.deselect_all()
    scorers.select("Levenshtein")  # a fast heuristic scorer: no judge model calls
    await pilot.pause()
    return pilot.app.screen


async def test_task_loads_from_the_projects_playground(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        text = app.screen.query_one("#pg-messages", TextArea).text
        assert text.startswith("## system") and "{{input.question}}" in text
        assert "support-playground" in screen_text(app)


async def test_run_fills_rows_and_scores_then_compares(sample_ws_path: Path, fake_server_env) -> None:
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _playground(pilot)
        dataset_id = screen.query_one("#pg-dataset").value
        rows = app.workspace.read_rows("dataset", dataset_id).num_rows
        await pilot.press("ctrl+r")
        await settle(pilot, rounds=8)
        while screen.current_run is not None:
            await pilot.pause(0.1)
        await settle(pilot)
        assert screen.last_result is not None, screen_text(app)
        table = screen.query_one("#pg-results", ArrowTable)
        assert table.row_count == rows
        assert "Levenshtein" in table.raw.column_names
        assert all(v != "" for v in table.raw.column("Levenshtein").to_pylist())
        assert screen.query_one(ProgressBar).progress == rows
        assert f"done: {rows} rows" in screen_text(app)
        first = screen.last_result.experiment_id
        await pilot.press("ctrl+r")  # a second run, then compare it with the first
        await settle(pilot, rounds=8)
        while screen.current_run is not None:
            await pilot.pause(0.1)
        await settle(pilot)
        assert screen.last_result.base_id == first
        await pilot.press("f4")
        await settle(pilot)
        from loop_tui.ui.screens.compare import CompareScreen

        assert isinstance(app.screen, CompareScreen)
        assert [e.id for e in app.screen.experiments][0] == first


async def test_run_without_a_model_key_says_so(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _playground(pilot)
        await pilot.press("ctrl+r")
        await settle(pilot, rounds=6)
        error = str(screen.query_one("#pg-error").render())
        assert "key" in error or "model" in error
        assert screen.current_run is None


async def test_bad_prompt_is_reported_and_save_makes_a_new_version(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _playground(pilot)
        editor = screen.query_one("#pg-messages", TextArea)
        editor.load_text("no header here")
        await pilot.pause()
        assert "## system" in str(screen.query_one("#pg-error").render())
        editor.load_text("## system\nBe brief.\n## user\n{{input.question}}")
        await pilot.pause()
        prompt = screen.state.prompt
        versions = len(app.workspace.object_versions(prompt.id))
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert len(app.workspace.object_versions(prompt.id)) == versions + 1
        latest = app.workspace.object_by_id(prompt.id)
        assert latest.data["messages"][0] == {"role": "system", "content": "Be brief."}
