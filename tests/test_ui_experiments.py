"""Experiments flows: the list with score means, one experiment vs its base, comparing experiments."""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.widgets.arrow_table import ArrowTable
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle


def toasts(app) -> list[str]:  # type: ignore[no-untyped-def]
    """The text of the notifications on screen: Textual's toasts, found by their type name (the test must
    run with `run_test(notifications=True)`)."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def test_list_shows_every_experiment_with_score_means(sample_ws_path: Path) -> None:
    from loop_tui.evals import summarize

    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#experiments-table", ArrowTable)
        experiments = app.workspace.objects("experiment", app.project.id)
        assert table.raw.column("experiment").to_pylist() == [e.name for e in experiments]
        summary = summarize(app.workspace, experiments[0].id)
        factuality = summary.scores["Factuality"].score
        assert table.raw.column("Factuality")[0].as_py().startswith(f"{factuality * 100:5.1f}%")


async def test_experiment_view_summary_and_rows_by_regression(sample_ws_path: Path) -> None:
    from loop_tui.evals import compare_rows

    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        from loop_tui.ui.screens.experiment_view import ExperimentScreen

        assert isinstance(app.screen, ExperimentScreen)
        exp = app.screen.experiment
        text = screen_text(app)
        assert "Factuality" in text and "regressed" in text
        diffs = compare_rows(app.workspace, exp.id)
        rows = app.screen.query_one("#experiment-rows", ArrowTable)
        assert rows.row_count == len(diffs)
        worst = min(diffs[0].deltas.values())
        assert f"{worst:+.2f}" in rows.raw.slice(0, 1).to_pylist()[0].values()
        await pilot.press("enter")  # the row's trace
        await settle(pilot)
        from loop_tui.ui.screens.trace import TraceScreen

        assert isinstance(app.screen, TraceScreen)
        assert app.screen.query_one("#trace-tree").root.children


async def test_compare_two_marked_experiments(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("c")  # nothing marked yet
        await wait_for(pilot, lambda: any("mark two or more" in text for text in toasts(app)), timeout=10)
        await pilot.press("space", "down", "space", "c")
        await settle(pilot)
        from loop_tui.ui.screens.compare import CompareScreen

        assert isinstance(app.screen, CompareScreen)
        rows = app.screen.rows
        assert rows and [r.worst_delta for r in rows] == sorted(r.worst_delta for r in rows)
        assert "output diff vs base" in screen_text(app)
        assert app.screen.query_one("#compare-table", ArrowTable).row_count == len(rows)


async def test_experiment_view_reruns_exactly_after_a_confirmation(sample_ws_path: Path, fake_server_env) -> None:
    from loop_tui.config import load_settings
    from loop_tui.evals import PromptSpec, run_experiment
    from loop_tui.store import Workspace
    from loop_tui.ui.screens.experiment_view import ExperimentScreen
    from loop_tui.ui.widgets.modals import ConfirmModal

    ws = Workspace.open(sample_ws_path)
    prompt = PromptSpec.from_dict({"messages": [{"role": "user", "content": "{{input.question}}"}], "model": "gpt-4o-mini"})
    await run_experiment(ws, "support-bot", prompt, "support-golden", ["Levenshtein"], name="to-rerun",
                         settings=load_settings())
    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("enter")  # the newest experiment: to-rerun
        await settle(pilot)
        assert isinstance(app.screen, ExperimentScreen) and app.screen.experiment.name == "to-rerun"
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal) and "rows × 1 trial(s) with gpt-4o-mini" in app.screen.detail
        await pilot.press("y")
        for _ in range(50):
            await settle(pilot)
            if isinstance(app.screen, ExperimentScreen) and app.screen.experiment.name == "to-rerun-rerun":
                break
        assert isinstance(app.screen, ExperimentScreen) and app.screen.experiment.name == "to-rerun-rerun"
        original = app.workspace.get_object("experiment", app.project.id, "to-rerun")
        assert app.screen.base_id == original.id
        assert "vs to-rerun" in str(app.screen.query_one("#experiment-scores").border_subtitle)


async def test_a_rerun_that_cannot_run_says_why(sample_ws_path: Path) -> None:
    from loop_tui.store import Workspace

    ws = Workspace.open(sample_ws_path)
    project = ws.project("support-bot")
    ws.delete_object(ws.get_object("dataset", project.id, "support-golden").id)  # what every experiment ran on
    app = make_app(sample_ws_path, page="experiments", project="support-bot")
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await wait_for(pilot, lambda: any("which was deleted" in text for text in toasts(app)), timeout=10)


class _FakeRerun:
    def __init__(self) -> None:
        self.cancelled = 0

    def cancel(self) -> None:
        self.cancelled += 1


async def test_a_rerun_is_cancelled_by_ctrl_g_or_leaving_but_not_by_ctrl_g_in_the_chat(sample_ws_path: Path) -> None:
    from loop_tui.ui.screens.experiment_view import ExperimentScreen

    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ExperimentScreen)
        screen.rerun = run = _FakeRerun()
        await pilot.press("ctrl+l")  # typing to Loop: ctrl+g there is Loop's continue
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert run.cancelled == 0
        screen.query_one("#experiment-rows Grid").focus()  # back on the page: ctrl+g cancels the re-run
        await settle(pilot)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert run.cancelled == 1 and app.screen is screen
        await pilot.press("escape")  # leaving the experiment stops its re-run
        await settle(pilot)
        assert app.screen is not screen and run.cancelled == 2


def test_metric_values_fit_the_narrow_metrics_panel() -> None:
    # Seen at 80x24: "prompt_tokens 1,703." and "estimated_cost 0.0080" were cut at the panel's edge.
    from types import SimpleNamespace

    from loop_tui.ui.experiments_data import metric_rows

    metrics = {
        "duration": SimpleNamespace(name="duration", value=4.1712, unit="s", diff=None, improvements=0, regressions=0),
        "prompt_tokens": SimpleNamespace(name="prompt_tokens", value=1703.45, unit="tok", diff=None, improvements=0,
                                         regressions=0),
        "estimated_cost": SimpleNamespace(name="estimated_cost", value=0.00801, unit="$", diff=-0.1, improvements=3,
                                          regressions=1),
    }
    rows = {row[0]: row for row in metric_rows(SimpleNamespace(metrics=metrics))}
    assert rows["duration"][1] == "4.17 s"
    assert rows["prompt_tokens"][1] == "1,703"
    assert rows["estimated_cost"][1:3] == ("$0.0080", "-10.0%")
