"""Snapshots of Loop's pickers, the tune-scorer modal and an empty workspace at 120×40. Each waits for the loaded
state (never a fixed pause) before the picture.

A modal over a page of the full app (help, project picker, dataset history) is in test_ui_snapshots_modals.py,
with the wait that makes sure the page behind the modal is in the picture.

Review a changed SVG by eye before `pytest --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.loop.pickers import ConversationHistoryModal, ModelPickerModal, ToolTogglesModal
from loop_tui.ui.loop.tune import TuneScorerModal, start_tune_scorer
from tests.test_loop_ui_support import make_app as make_harness
from tests.test_loop_ui_support import wait_for
from tests.test_ui_snapshots import SIZE, _ready
from tests.test_ui_support import freeze_cursors, make_app, screen_text, settle


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
    assert _picker_snapshot(snap_compare, sample_ws, "ctrl+r", ConversationHistoryModal, "No saved conversations yet")


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
