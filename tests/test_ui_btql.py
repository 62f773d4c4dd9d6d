"""BTQL sandbox flows: errors in place as you type, running, runtime errors, completion, history,
source picker, cancel."""

from __future__ import annotations

from pathlib import Path

from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.btql_editor import BtqlEditor
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle


async def _sandbox(pilot):  # type: ignore[no-untyped-def]
    await settle(pilot)
    return pilot.app.screen.query_one(BtqlEditor)


async def test_bind_error_is_underlined_with_message_and_hint_as_you_type(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        editor = await _sandbox(pilot)
        editor.load_text("select: metadata.modle\nfrom: project_logs('support-bot')\nlimit: 5")
        error = app.screen.query_one("#btql-error")
        await wait_for(pilot, lambda: not error.has_class("hidden"), timeout=30)  # the check is debounced
        await settle(pilot)
        assert not error.has_class("hidden")
        text = str(error.render())
        assert "bind error at line 1" in text and "hint" in text
        assert editor.error_span is not None and editor.error_span[0] == 0
        assert editor.error_underlined(0) and not editor.error_underlined(1)
        underline = editor.render_line(0)  # what the screen draws: the misspelt field is underlined
        assert "modle" in "".join(seg.text for seg in underline if seg.style is not None and seg.style.underline)
        editor.load_text("select: metadata.model\nfrom: project_logs('support-bot')\nlimit: 5")
        await wait_for(pilot, lambda: error.has_class("hidden") and editor.error_span is None, timeout=30)
        assert not editor.error_underlined(0)


async def test_run_shows_results_in_the_grid(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        editor = await _sandbox(pilot)
        editor.load_text(
            "dimensions: metadata.model as model\nmeasures: count(1) as n\nfrom: project_logs('support-bot')\nfilter: is_root"
        )
        await pilot.press("ctrl+r")
        await settle(pilot)
        results = app.screen.query_one("#btql-results", ArrowTable)
        expected = app.workspace.query(
            "SELECT count(DISTINCT _meta_model) AS n FROM project_logs WHERE is_root AND project_id = ?", [app.project.id]
        )[0]["n"]
        assert results.row_count == expected
        assert sum(results.raw.column("n").to_pylist()) > 0
        assert f"{expected:,} rows" in screen_text(app)


async def test_runtime_and_parse_errors_after_run_are_shown_in_place(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        editor = await _sandbox(pilot)
        editor.load_text("select: * | from: project_logs('support-bot') | limit: | sort")
        await pilot.press("f5")
        await settle(pilot)
        assert "parse error" in str(app.screen.query_one("#btql-error").render())
        assert "parse error" in screen_text(app)


async def test_completion_offers_fields_from_the_schema(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        editor = await _sandbox(pilot)
        # the schema of the default query's source is read after the debounced check
        await wait_for(pilot, lambda: "metadata.model" in editor.fields, timeout=30)
        editor.load_text("select: *\nfrom: project_logs('support-bot')\nfilter: metadata.mo")
        editor.move_cursor((2, len("filter: metadata.mo")))
        editor.focus()
        await pilot.pause()
        editor.update_suggestion()
        await pilot.pause()
        assert editor.suggestion == "del"
        await pilot.press("tab")
        assert editor.document.lines[2] == "filter: metadata.model"
        assert "metadata.model" in editor.fields


async def test_history_and_source_picker(sample_ws_path: Path) -> None:
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        editor = await _sandbox(pilot)
        first = editor.text
        await pilot.press("ctrl+r")
        await settle(pilot)
        editor.load_text("")
        await pilot.press("f2")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert editor.text == first
        await pilot.press("f3")
        await settle(pilot)
        assert "dataset('support-golden')" in screen_text(app)
        await pilot.press("end", "enter")
        await settle(pilot)
        assert "from: " in editor.text and editor.text != first


async def test_cancel_stops_a_running_query(sample_ws_path: Path) -> None:
    from loop_tui.btql import CancelToken

    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        await _sandbox(pilot)
        token = CancelToken()
        token.cancel()  # cancelled before DuckDB starts: the run must report it, not show rows
        app.screen._run(app.screen.editor.text, None, 0, token)
        await settle(pilot)
        assert "error" in screen_text(app)
        assert app.screen.query_one("#btql-results", ArrowTable).row_count == 0


async def test_a_typo_in_a_function_is_reported_as_such_and_loops_fix_reruns(sample_ws_path: Path) -> None:
    from loop_tui.ui.loop import LoopChat

    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        editor = await _sandbox(pilot)
        good = "dimensions: metadata.model as model | select: count(1) as n | from: project_logs('support-bot')"
        editor.load_text(good)
        await pilot.press("ctrl+r")
        await settle(pilot)
        results = app.screen.query_one("#btql-results", ArrowTable)
        assert results.row_count > 0
        assert "^r Run" in screen_text(app)  # a run key terminals deliver, in the footer
        editor.load_text(good.replace("count(1)", "coutn(1)"))
        await pilot.press("ctrl+r")
        await settle(pilot)
        error = str(app.screen.query_one("#btql-error").render())
        assert "Unknown function `coutn`" in error and "count" in error
        assert results.grid is None and results.row_count == 0  # the old results do not stay under the error
        # Loop's fix, accepted from its diff, is checked and run at once (no F5 needed).
        app.screen.query_one(LoopChat).post_message(LoopChat.QueryAccepted(good))
        shown = lambda: str(app.screen.query_one("#btql-status").render())  # noqa: E731
        await wait_for(pilot, lambda: "rows" in shown() and "error" not in shown(), timeout=30)
        await wait_for(pilot, lambda: app.screen.query_one("#btql-error").has_class("hidden"), timeout=30)
        status = str(app.screen.query_one("#btql-status").render())
        assert "error" not in status and "rows" in status
        assert app.screen.query_one("#btql-error").has_class("hidden")
        assert results.row_count > 0
