"""Focus and keys: a text field takes the cursor only when the user asks, esc gives it back and closes the
innermost thing only, and no key is lost or swallowed on the way."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.widgets import Input, TextArea

from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.btql_editor import BtqlEditor
from tests.test_ui_support import make_app, settle


def _in_text_field(app) -> bool:  # type: ignore[no-untyped-def]
    return isinstance(app.focused, Input | TextArea)


async def test_emptying_the_logs_table_keeps_the_cursor_out_of_the_filter(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        table = screen.query_one("#logs-table", ArrowTable)
        assert table.grid is not None and table.grid.has_focus
        # A filter that matches nothing (as "last hour" does on old logs), applied with the grid focused.
        screen.query_state = screen.query_state.with_(filter="metadata.model = 'no-such-model'")
        await pilot.press("r")
        await settle(pilot)
        assert table.row_count == 0 and table.grid is None  # the "No logs match" message
        assert not _in_text_field(app)
        await pilot.press("t", "v")  # page keys still reach the page
        await settle(pilot)
        assert screen.query_one("#logs-filter-input", Input).value == ""
        assert screen.query_state.time_range != "all" and screen.query_state.view != "traces"
        await pilot.press("slash", "x")
        assert _in_text_field(app)
        await pilot.press("escape")
        assert not _in_text_field(app)
        await pilot.press("s")
        assert screen.query_one("#logs-filter-input", Input).value == "x"


async def test_btql_page_does_not_take_the_cursor_and_digits_switch_pages(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("5")
        await settle(pilot)
        editor = app.screen.query_one(BtqlEditor)
        query = editor.text
        assert query.startswith("select:")
        assert not editor.has_focus
        footer_keys = set(app.screen.active_bindings)
        assert "6" in footer_keys  # the page-number hint stays in the footer
        await pilot.press("6")
        await settle(pilot)
        assert app.current_mode == "settings"
        await pilot.press("5")
        await settle(pilot)
        assert app.screen.query_one(BtqlEditor).text == query
        for key in ("i", "slash", "enter"):  # each asks for the editor; esc gives the page keys back
            await pilot.press(key)
            assert editor.has_focus, key
            await pilot.press("escape")
            assert not editor.has_focus
        assert editor.text == query


async def test_esc_in_loops_chat_leaves_the_chat_not_the_experiment(sample_ws_path: Path) -> None:
    from loop_tui.ui.screens.experiment_view import ExperimentScreen

    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ExperimentScreen)
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "loop-input"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ExperimentScreen)  # still in the experiment
        assert app.focused is None or app.focused.id != "loop-input"
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ExperimentScreen)  # the next esc goes back


async def test_keys_typed_while_a_page_opens_are_not_lost(sample_ws_path: Path) -> None:
    from loop_tui.ui.screens.experiment_view import ExperimentScreen

    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        # First visit: the experiments are still loading when j and enter arrive. (pilot.press waits for
        # the app to idle after each key; a terminal does not, so the keys are queued as a terminal sends them.)
        for key, character in (("2", "2"), ("j", "j"), ("enter", "\r")):
            app.post_message(events.Key(key, character))
        await settle(pilot)
        assert isinstance(app.screen, ExperimentScreen)
        listed = app.get_screen_stack("experiments")[0].experiments
        assert app.screen.experiment.id == listed[1].id  # j moved to the second row before enter opened it


async def test_tab_in_the_playground_never_lets_enter_edit_the_prompt(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="playground")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        editor = app.screen.query_one("#pg-messages", TextArea)
        prompt = editor.text
        assert prompt.strip()
        for _ in range(12):  # round the whole focus chain, pressing enter wherever it lands
            await pilot.press("tab")
            if app.focused is editor:
                await pilot.press("enter", "x")
                assert editor.text == prompt
        await pilot.press("e")  # asked for: now it edits
        assert app.focused is editor and not editor.read_only
        await pilot.press("x")
        assert editor.text != prompt
        await pilot.press("escape")
        assert app.focused is not editor and editor.read_only


async def test_q_on_settings_with_unsaved_changes_asks_first(sample_ws_path: Path) -> None:
    from loop_tui.ui.widgets.modals import ConfirmModal

    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("q")  # nothing changed: q quits at once
        await settle(pilot)
        assert not app.is_running
    app = make_app(sample_ws_path, page="settings")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("d")  # make the highlighted model the default: an unsaved change
        await settle(pilot)
        assert app.screen.dirty
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")  # stay
        await settle(pilot)
        assert app.is_running and app.current_mode == "settings"
        await pilot.press("q", "y")  # quit without saving
        await settle(pilot)
        assert not app.is_running


async def test_a_filter_typed_while_the_logs_page_opens_lands_in_the_filter(sample_ws_path: Path) -> None:
    # Seen in tmux: "4", "/" and "error != null" typed at once from the experiments page left the filter empty;
    # the letters ran as page keys ("n" turned the page) and the cursor ended in the filter with nothing in it.
    from loop_tui.ui.widgets.filter_bar import FilterBar
    from tests.test_loop_ui_support import wait_for

    app = make_app(sample_ws_path, page="experiments")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        keys = [("4", "4"), ("slash", "/"), *[(c if c.isalnum() else {" ": "space", "!": "exclamation_mark",
                                                                        "=": "equals_sign"}[c], c)
                                               for c in "error != null"]]
        for key, character in keys:
            app.post_message(events.Key(key, character))
        await wait_for(pilot, lambda: app.screen.id == "page-logs" and bool(app.screen.query(FilterBar))
                       and app.screen.query_one(FilterBar).input.value == "error != null", timeout=15)


async def test_back_from_a_trace_whose_rows_were_replaced_meanwhile_keeps_the_cursor_out_of_the_filter(
    sample_ws_path: Path,
) -> None:
    # Reported with live OpenTelemetry traces arriving: esc from a trace sometimes left the cursor in the logs
    # filter, so the next page key (`v`) was typed into it. Not reproduced by replacing the rows alone (this
    # passes); it guards that path while the live case is looked into.
    from loop_tui.ui.screens.trace import TraceScreen
    from tests.test_loop_ui_support import wait_for

    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        logs = app.screen
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TraceScreen))
        grid = logs.query_one("#logs-table", ArrowTable).grid
        logs._reload()  # what new live rows do: the page's grid is replaced while the trace is open
        await wait_for(pilot, lambda: logs.query_one("#logs-table", ArrowTable).grid not in (None, grid))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is logs)
        await settle(pilot)
        assert not _in_text_field(app), app.focused
