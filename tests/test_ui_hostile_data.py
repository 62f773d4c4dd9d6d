"""Text from data is data in the app (issue 12, items 9 and 10): a workspace whose names, spans, rows and
errors hold Rich markup and terminal control sequences opens on every page, view, picker and modal without a
crash, shows the text as written, and never puts a control character on the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loop_tui.ui.widgets.arrow_table import ArrowTable
from tests.hostile_data import (
    CHILD_SPAN_NAME,
    DATASET,
    ERROR,
    EXPERIMENT,
    EXPERIMENT_B,
    PROJECT,
    PROMPT,
    SCORER,
    SPAN_NAME,
    build_hostile_workspace,
    shown,
)
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle

SIZE = (200, 50)


@pytest.fixture
def hostile_ws(tmp_path: Path) -> Path:
    """A fresh hostile workspace (tests write to it: the app remembers the project)."""
    build_hostile_workspace(tmp_path / "ws")
    return tmp_path / "ws"


async def assert_safe_screen(pilot: Any, *expected: str) -> str:
    """The screen comes to show every `expected` text (as `shown()` makes it), with no control character."""
    app = pilot.app
    try:
        await wait_for(pilot, lambda: all(shown(item) in screen_text(app) for item in expected), timeout=15)
    except AssertionError:
        text = screen_text(app)
        missing = [shown(item) for item in expected if shown(item) not in text]
        raise AssertionError(f"not on the screen: {missing}\n{text}") from None
    await pilot.pause()
    text = screen_text(app)
    controls = sorted({repr(c) for c in text if not c.isprintable() and c != "\n"})
    assert not controls, f"control characters on screen: {controls}"
    return text


async def settled(pilot: Any) -> None:
    """`settle`, tolerating an exclusive worker cancelled by its successor (that is the app working)."""
    from textual.worker import WorkerCancelled

    for _ in range(3):
        try:
            await settle(pilot)
            return
        except WorkerCancelled:
            continue


async def open_page(pilot: Any, page: str) -> None:
    await pilot.app.run_action(f"switch_page('{page}')")
    await settled(pilot)


async def test_every_page_opens_and_shows_names_as_written(hostile_ws: Path) -> None:
    # project=None: the app picks the remembered (here: the only) project, as on every launch.
    app = make_app(hostile_ws, page="logs", project=None)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await wait_for(pilot, lambda: app.screen.query_one("#logs-table", ArrowTable).row_count == 1)
        await assert_safe_screen(pilot, PROJECT, SPAN_NAME, "[bold]question[/ ")
        await open_page(pilot, "experiments")
        await wait_for(pilot, lambda: app.screen.query_one(ArrowTable).row_count == 2)
        await assert_safe_screen(pilot, EXPERIMENT, EXPERIMENT_B, "[i]score[/")
        await open_page(pilot, "datasets")
        await wait_for(pilot, lambda: app.screen.query_one("#dataset-rows", ArrowTable).row_count == 1)
        await assert_safe_screen(pilot, DATASET, "rows of " + DATASET)
        await open_page(pilot, "playground")
        await wait_for(pilot, lambda: shown(PROMPT) in screen_text(app))
        await assert_safe_screen(pilot, PROMPT, DATASET, "[b]system[/")
        await open_page(pilot, "btql")
        await assert_safe_screen(pilot, PROJECT)
        await open_page(pilot, "settings")
        await assert_safe_screen(pilot, PROJECT)


async def test_a_markup_project_is_remembered_and_reopened(hostile_ws: Path) -> None:
    """The crash came back on every launch because the app reopens the last project."""
    for _ in range(2):
        app = make_app(hostile_ws, page="datasets", project=None)
        async with app.run_test(size=SIZE) as pilot:
            await settled(pilot)
            assert app.project is not None and app.project.name == PROJECT
            await assert_safe_screen(pilot, PROJECT, DATASET)


async def test_trace_tree_and_span_detail_show_spans_as_written(hostile_ws: Path) -> None:
    from loop_tui.ui.screens.trace import TraceScreen

    app = make_app(hostile_ws, page="logs", project=None)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        table = app.screen.query_one("#logs-table", ArrowTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        table.focus_grid()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TraceScreen))
        await settled(pilot)
        # The span type in brackets used to be eaten as a markup tag, and `[red]span[/` shown as `span[/`.
        text = await assert_safe_screen(pilot, f"[task] {SPAN_NAME}", f"[llm] {CHILD_SPAN_NAME}", ERROR.splitlines()[0])
        assert "at line 2" in text


async def test_dataset_row_editor_history_and_confirm_modal(hostile_ws: Path) -> None:
    from loop_tui.ui.screens.dataset_row import DatasetRowEditor
    from loop_tui.ui.screens.history import HistoryModal
    from loop_tui.ui.widgets.modals import ConfirmModal

    app = make_app(hostile_ws, page="datasets", project=None)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        rows = app.screen.query_one("#dataset-rows", ArrowTable)
        await wait_for(pilot, lambda: rows.row_count == 1)
        rows.focus_grid()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DatasetRowEditor))
        await assert_safe_screen(pilot, "of " + DATASET)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, DatasetRowEditor))
        await app.screen.run_action("history")
        await wait_for(pilot, lambda: isinstance(app.screen, HistoryModal))
        await assert_safe_screen(pilot, "History of " + DATASET)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HistoryModal))
        rows.focus_grid()
        await app.screen.run_action("delete_row")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await assert_safe_screen(pilot, "[bold]question[/ ")
        await pilot.press("n")


async def test_pickers_show_names_as_written(hostile_ws: Path) -> None:
    from loop_tui.ui.screens.project_picker import ProjectPicker
    from loop_tui.ui.widgets.modals import ChoiceModal

    app = make_app(hostile_ws, page="logs", project=None)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, ProjectPicker))
        await assert_safe_screen(pilot, PROJECT)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ProjectPicker))
        table = app.screen.query_one("#logs-table", ArrowTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        table.focus_grid()
        await app.screen.run_action("add_to_dataset")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await assert_safe_screen(pilot, DATASET)
        await pilot.press("escape")


async def test_experiment_view_and_compare_show_names_as_written(hostile_ws: Path) -> None:
    from loop_tui.ui.screens.compare import CompareScreen
    from loop_tui.ui.screens.experiment_view import ExperimentScreen

    app = make_app(hostile_ws, page="experiments", project=None)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        table = app.screen.query_one(ArrowTable)
        await wait_for(pilot, lambda: table.row_count == 2)
        table.focus_grid()
        await pilot.press("space", "down", "space")
        await app.screen.run_action("compare")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen))
        await settled(pilot)
        await assert_safe_screen(pilot, EXPERIMENT, EXPERIMENT_B, "[/]better ")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, CompareScreen))
        await settled(pilot)
        app.screen.query_one(ArrowTable).focus_grid()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExperimentScreen))
        await settled(pilot)
        await assert_safe_screen(pilot, "[i]score[/")


async def test_notifications_are_plain_text(hostile_ws: Path) -> None:
    app = make_app(hostile_ws, page="logs", project="[/nope" + "\x1b]0;x\x07")
    app.NOTIFICATION_TIMEOUT = 600  # the toasts stay until read, however slow the machine (a public App setting)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settled(pilot)
        await wait_for(pilot, lambda: "no project named" in screen_text(app))
        await assert_safe_screen(pilot, PROJECT)
        app.notify("[bold]x[/ \x1b[2J", title="[/t", timeout=600)
        await wait_for(pilot, lambda: "[bold]x[/ ␛[2J" in screen_text(app))
        await assert_safe_screen(pilot, "[/t")


async def test_scorer_names_in_the_playground_and_tool_picker_labels(hostile_ws: Path) -> None:
    from loop_tui.ui.loop.pickers import ToolTogglesModal

    app = make_app(hostile_ws, page="playground", project=None)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await wait_for(pilot, lambda: shown(SCORER)[:12] in screen_text(app))
        await assert_safe_screen(pilot)
        await app.screen.query_one("LoopChat").run_action("pick_tools")
        await wait_for(pilot, lambda: isinstance(app.screen, ToolTogglesModal))
        text = await assert_safe_screen(pilot)
        assert "edit_data [changes data]" in text


async def test_settings_with_markup_model_names_open(hostile_ws: Path) -> None:
    """Names typed into settings (a model, a provider) are shown as written on the settings page and in Loop."""
    from loop_tui.config import Settings

    settings = Settings()
    settings.models.allowlist = ["[/model" + "\x1b]0;x\x07", *settings.models.allowlist]
    app = make_app(hostile_ws, page="settings", project=None, settings=settings)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot)
        await assert_safe_screen(pilot, "[/model\x1b]0;x\x07")


async def test_loop_transcript_shows_what_the_model_quotes_as_written(hostile_ws: Path, fake_server_env: Any) -> None:
    """A model steered by a planted row repeats its escapes: answer, tool card and user turn stay inert."""
    from loop_tui.store import Workspace
    from tests.hostile_data import TAKEOVER
    from tests.test_loop_ui_support import make_app as make_loop_app
    from tests.test_loop_ui_support import wait_idle

    fake_server_env.script([
        {"text": "Row says " + TAKEOVER + " [bold]x[/ ",
         "tool_calls": [{"name": "get_summarized_results", "arguments": {"note": "[/" + TAKEOVER}}]},
        {"text": "done [/" + TAKEOVER},
    ])
    app = make_loop_app(Workspace.open(hostile_ws), "logs", PROJECT, model="gpt-4.1")
    async with app.run_test(size=SIZE) as pilot:
        app.chat.send("what does [/ " + TAKEOVER + " mean?")
        await wait_idle(pilot, app)
        await assert_safe_screen(pilot, "Row says " + TAKEOVER, "done [/" + TAKEOVER, "what does [/ " + TAKEOVER)
        card = app.chat.query_one("ToolCard")
        card.action_toggle_card()  # expanded: arguments and result, which list the hostile names
        await pilot.pause()
        shown_card = "\n".join(str(w.render()) for w in card.query("Static"))
        assert '"note": "[/\\u001b]0;pwned' in shown_card
        assert all(c.isprintable() or c == "\n" for c in shown_card)
