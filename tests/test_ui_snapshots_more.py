"""Snapshots of the modals and the edge pages (help, project picker, dataset history, Loop's pickers, tune
scorer, an empty workspace) at 120×40. Each waits for the loaded state (never a fixed pause) before the picture.

Review a changed SVG by eye before `pytest --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.loop.pickers import HistoryModal, ModelPickerModal, ToolTogglesModal
from loop_tui.ui.loop.tune import TuneScorerModal, start_tune_scorer
from tests.test_loop_ui_support import make_app as make_harness
from tests.test_loop_ui_support import wait_for
from tests.test_ui_snapshots import SIZE, _ready, on_screen
from tests.test_ui_support import freeze_cursors, make_app, screen_text, settle


def test_help_screen(snap_compare, sample_ws_path: Path) -> None:
    """You should see the help screen over the logs page: a table of every key of the page and the app
    (/ filter, enter open, s sort, ? help, ctrl+p palette…) with what each does."""

    async def open_help(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("question_mark")
        await on_screen(pilot, "HelpScreen")
        await wait_for(pilot, lambda: "Filter" in screen_text(pilot.app), timeout=30)
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "logs"), terminal_size=SIZE, run_before=open_help)


def test_project_picker(snap_compare, sample_ws_path: Path) -> None:
    """You should see "Switch project" with the sample workspace's projects (support-bot highlighted,
    invoice-extraction…) over the logs page."""

    async def open_picker(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ready(pilot)
        await pilot.press("ctrl+o")
        await on_screen(pilot, "ProjectPicker")
        await wait_for(pilot, lambda: "invoice-extraction" in screen_text(pilot.app), timeout=30)
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "logs"), terminal_size=SIZE, run_before=open_picker)


def test_dataset_history(snap_compare, sample_ws_path: Path) -> None:
    """You should see "History of escalations" over the datasets page: its writes newest first (when, what,
    rows, description "sample rows for escalations", write id) and "enter undoes the selected write"."""

    async def open_history(pilot) -> None:  # type: ignore[no-untyped-def]
        # No write of its own first: a new write's time and id come from the running clock, not the data.
        await _ready(pilot)
        await pilot.press("h")
        await on_screen(pilot, "HistoryModal")
        await wait_for(pilot, lambda: "sample rows for escalations" in screen_text(pilot.app), timeout=30)
        await _ready(pilot)

    assert snap_compare(make_app(sample_ws_path, "datasets"), terminal_size=SIZE, run_before=open_history)


def test_empty_workspace(snap_compare, tmp_path: Path) -> None:
    """You should see the logs page of a workspace with no projects: the header without a project and,
    where the rows would be, "No projects in this workspace yet: run `loop-tui demo` or `loop-tui import`."."""

    async def empty(pilot) -> None:  # type: ignore[no-untyped-def]
        await wait_for(pilot, lambda: "No projects in this workspace yet" in screen_text(pilot.app), timeout=30)
        await _ready(pilot)

    app = make_app(tmp_path / "empty-ws", "logs", project=None)
    assert snap_compare(app, terminal_size=SIZE, run_before=empty)


async def _harness_ready(pilot) -> None:  # type: ignore[no-untyped-def]
    await settle(pilot)
    freeze_cursors(pilot.app)
    await settle(pilot)


def _picker_snapshot(snap_compare, sample_ws, key: str, modal: type, shows: str) -> bool:  # type: ignore[no-untyped-def]
    app = make_harness(sample_ws, "logs")

    async def open_picker(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press(key)
        await wait_for(pilot, lambda: isinstance(app.screen, modal) and shows in screen_text(app), timeout=30)
        await _harness_ready(pilot)

    return snap_compare(app, terminal_size=SIZE, run_before=open_picker)


def test_loop_model_picker(snap_compare, sample_ws) -> None:
    """You should see Loop's model picker: the allowlisted models, each with its endpoint or "no key: set
    $…", and the offline model "(built-in, answers a fixed set of requests)", the current one highlighted."""
    assert _picker_snapshot(snap_compare, sample_ws, "ctrl+b", ModelPickerModal, "offline")


def test_loop_tool_toggles(snap_compare, sample_ws) -> None:
    """You should see every Loop tool with a checkbox (all on), read-only tools and the ones that change
    data, and the keys: space toggles, ctrl+s saves, esc cancels."""
    assert _picker_snapshot(snap_compare, sample_ws, "ctrl+t", ToolTogglesModal, "search_docs")


def test_loop_history_picker(snap_compare, sample_ws) -> None:
    """You should see "Loop conversations · support-bot" and, with none saved yet, "No saved conversations
    yet." (the list is never left loading)."""
    assert _picker_snapshot(snap_compare, sample_ws, "ctrl+r", HistoryModal, "No saved conversations yet")


def test_tune_scorer_modal(snap_compare, sample_ws) -> None:
    """You should see the tune-scorer modal on invoice-extraction's playground: the scorer to tune, the
    rows with their scores to mark as wrong (space), the score they should get, and instructions."""
    project = "invoice-extraction"
    playground = sample_ws.objects("playground", sample_ws.project(project).id)[0]
    app = make_harness(sample_ws, "playground", project=project, playground_id=playground.id)

    async def open_tune(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        start_tune_scorer(app.chat)
        await wait_for(pilot, lambda: isinstance(app.screen, TuneScorerModal), timeout=60)
        await wait_for(pilot, lambda: bool(app.screen.query("#loop-tune-rows")), timeout=30)
        await _harness_ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_tune)
