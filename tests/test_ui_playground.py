"""Playground flows: the task loads, a run fills rows with scores live (fake model server), the prompt
is validated and saved as a new version, and the run is compared with the previous one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import ProgressBar, SelectionList, TextArea

from loop_tui.ui.widgets.arrow_table import ArrowTable
from tests.test_loop_ui_support import wait_for
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
        await wait_for(pilot, lambda: screen.current_run is None and screen.last_result is not None, timeout=60)
        await settle(pilot)
        assert screen.last_result is not None, screen_text(app)
        table = screen.query_one("#pg-results", ArrowTable)
        assert table.row_count == rows
        assert "Levenshtein" in table.raw.column_names
        assert all(v != "" for v in table.raw.column("Levenshtein").to_pylist())
        assert screen.query_one(ProgressBar).progress == rows
        assert f"done: {rows} rows" in screen_text(app)
        first = screen.last_result.experiment_id
        before = screen.last_result
        await pilot.press("ctrl+r")  # a second run, then compare it with the first
        await wait_for(pilot, lambda: screen.current_run is None and screen.last_result is not before, timeout=60)
        await settle(pilot)
        assert screen.last_result.base_id == first
        await pilot.press("f4")
        from loop_tui.ui.screens.compare import CompareScreen

        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), timeout=30)
        assert [e.id for e in app.screen.experiments][0] == first


async def test_run_without_a_model_key_says_so_in_the_apps_terms(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _playground(pilot)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "OPENAI_API_KEY" in str(screen.query_one("#pg-error").render()), timeout=30)
        await settle(pilot)
        error = str(screen.query_one("#pg-error").render())
        assert "set the environment variable OPENAI_API_KEY" in error
        assert "the playground's model field" in error and "--model" not in error  # no command-line flag in the app
        assert screen.current_run is None
        assert screen.query_one(ProgressBar).total is not None  # the waiting animation stopped with the run


def _unreachable(monkeypatch) -> Any:  # type: ignore[no-untyped-def]
    """Settings and environment for an OpenAI endpoint nobody listens on (refused at once, no retries)."""
    import socket

    from loop_tui.config import ProviderSettings, load_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    settings = load_settings()
    settings.providers["openai"] = ProviderSettings(max_retries=0)
    return settings


async def _run_to_the_end(pilot, screen) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: screen.current_run is None and "run failed" in screen_text(pilot.app))
    await settle(pilot)


async def test_a_run_against_an_unreachable_endpoint_stops_early_and_saves_nothing(
    sample_ws_path: Path, monkeypatch
) -> None:
    app = make_app(sample_ws_path, page="playground", settings=_unreachable(monkeypatch))
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _playground(pilot)
        project_id = screen.project.id
        experiments = [e.id for e in app.workspace.objects("experiment", project_id)]
        await _run_to_the_end(pilot, screen)
        assert 8 <= len(screen.rows) < 40  # stopped after a wave of failures, not after every row
        label = screen.query_one("#pg-error")
        error = str(label.render())
        assert "stopped early" in error and "could not reach" in error and "ctrl+k keeps it" in error
        region = label.region
        shown = [line[region.x : region.right] for line in screen_text(app).splitlines()[region.y : region.bottom]]
        assert " ".join(" ".join(shown).split()) == " ".join(error.split())  # wrapped, never cut
        assert [e.id for e in app.workspace.objects("experiment", project_id)] == experiments  # nothing saved
        bar = screen.query_one(ProgressBar)
        assert bar.total == 40 and bar.progress == len(screen.rows)  # stopped, not animating

        await pilot.press("ctrl+k")  # the user asks to keep it after all
        await settle(pilot)
        kept = app.workspace.objects("experiment", project_id)
        assert len(kept) == len(experiments) + 1 and kept[0].data["status"] == "failed"
        assert "kept as experiment" in screen_text(app)


async def test_enter_on_a_result_row_shows_its_whole_error(sample_ws_path: Path, monkeypatch) -> None:
    from loop_tui.ui.widgets.text_view import TextViewModal

    app = make_app(sample_ws_path, page="playground", settings=_unreachable(monkeypatch))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _playground(pilot)
        await _run_to_the_end(pilot, screen)
        table = screen.query_one("#pg-results", ArrowTable)
        assert table.row_count == len(screen.rows)
        table.focus_grid()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextViewModal))
        shown = app.screen.text
        full_error = screen.rows[0].error
        assert len(full_error) > 60 and full_error in shown  # the grid cell shows 24 characters of it
        assert "could not reach" in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TextViewModal))


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


async def test_a_new_task_defaults_to_a_model_the_user_has_a_key_for(
    sample_ws_path: Path, monkeypatch: Any
) -> None:
    # Seen in tmux: with only OPENAI_API_KEY set, a new task picked claude-4-sonnet (the allowlist's first
    # entry), so its first run failed for want of an Anthropic key while Loop itself used an OpenAI model.
    from textual.widgets import Select

    from loop_tui.config import Settings
    from loop_tui.llm import resolve_model
    from loop_tui.store import Workspace

    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-sent")
    settings = Settings()
    allow = settings.models.allowlist
    assert resolve_model(allow[0], settings).provider == "anthropic"  # the case that went wrong
    ws = Workspace.open(sample_ws_path)
    project = ws.create_project("trivia")
    ws.save_object("dataset", project.id, "trivia-qa", {})
    app = make_app(sample_ws_path, page="playground", project="trivia", settings=settings)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        chosen = app.screen.query_one("#pg-model", Select).value
        assert isinstance(chosen, str) and resolve_model(chosen, settings).provider == "openai"
