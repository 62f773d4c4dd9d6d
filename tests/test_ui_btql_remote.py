"""The BTQL page's remote source (f4): with a Braintrust key the page switches between the local copy and
Braintrust; a remote query goes to the fake Braintrust's /btql as written (real HTTP over loopback), its pages
fill the same grid (ctrl+n sends the cursor), a query Braintrust rejects is shown in place like a local error,
a refused key is one sentence, Loop's page context says remote, and without a key f4 says what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from loop_tui.ui.loop import page_context_provider
from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.btql_editor import BtqlEditor
from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import seed_logs
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text, settle

fake_bt = server.fake_bt
fake_bt_env = server.fake_bt_env

QUERY = "select: id, input | from: project_logs('only-in-braintrust') | sort: id | limit: 10"


def _status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#btql-status").render())


def _sent(fake: FakeBraintrust) -> list[dict]:
    return [r.body for r in fake.requests if r.path == "/btql"]


async def _run(pilot, query: str) -> None:  # type: ignore[no-untyped-def]
    pilot.app.screen.query_one(BtqlEditor).load_text(query)
    await pilot.press("ctrl+r")
    await settle(pilot)


async def test_f4_runs_the_query_on_braintrust_page_by_page(fake_bt_env: FakeBraintrust, sample_ws_path: Path) -> None:
    seed_logs(fake_bt_env, 25, project="only-in-braintrust")  # nothing of it is in the local workspace
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        editor = app.screen.query_one(BtqlEditor)
        context = page_context_provider(app.screen)
        assert "local" in str(editor.border_subtitle) and context().remote is False
        await pilot.press("f4")
        await settle(pilot)
        assert "remote: Braintrust" in screen_text(app) and context().remote is True  # Loop's tools follow
        await _run(pilot, QUERY)
        assert [b["query"] for b in _sent(fake_bt_env)] == [QUERY]  # the text as it is
        results = app.screen.query_one("#btql-results", ArrowTable)
        assert results.raw.column("id").to_pylist() == [f"span-{i:06d}" for i in range(10)]
        assert "10 rows (page 1)" in _status(app) and "ctrl+n next page" in _status(app)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: "(page 2)" in _status(app))
        assert _sent(fake_bt_env)[-1]["cursor"] and _sent(fake_bt_env)[-1]["query"] == QUERY
        assert results.raw.column("id").to_pylist()[0] == "span-000010"
        await pilot.press("f4")  # back to the local copy
        await settle(pilot)
        assert "local" in str(editor.border_subtitle) and "remote: Braintrust" not in screen_text(app)
        assert context().remote is False


async def test_a_query_braintrust_rejects_is_shown_in_place(fake_bt_env: FakeBraintrust, sample_ws_path: Path) -> None:
    seed_logs(fake_bt_env, 3, project="only-in-braintrust")
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        bad = "select: id | from: project_logs('only-in-braintrust') | filter: nope(1)"
        await _run(pilot, bad)
        assert [b["query"] for b in _sent(fake_bt_env)] == [bad]
        error = str(app.screen.query_one("#btql-error").render())
        assert error.startswith("bind error at line 1, column ") and "Braintrust: Unknown function `nope`" in error
        assert app.screen.query_one(BtqlEditor).error_span is not None  # underlined where Braintrust says
        assert "the query has a bind error" in screen_text(app)
        assert "bind error" in page_context_provider(app.screen)().btql_error


async def test_a_refused_key_is_one_sentence(fake_bt_env: FakeBraintrust, sample_ws_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRAINTRUST_API_KEY", "sk-wrong-key-0000000000")
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await _run(pilot, QUERY)
        shown = screen_text(app)
        assert "Braintrust refused the API key in $BRAINTRUST_API_KEY (401)" in _status(app)
        assert "sk-wrong" not in shown and "Traceback" not in shown
        assert app.screen.query_one("#btql-error").has_class("hidden")  # not a query error: no place to point at


async def test_without_a_key_f4_says_what_to_set(sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRAINTRUST_API_KEY", raising=False)
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await settle(pilot)
        assert "with $BRAINTRUST_API_KEY set" in _status(app)
        assert "local" in str(app.screen.query_one(BtqlEditor).border_subtitle)
        assert page_context_provider(app.screen)().remote is False


async def test_the_no_key_sentence_is_whole_on_screen_at_120_columns_with_loop_open(
    sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Seen in tmux: "…start loop-tui wi" — the sentence ran under Loop's panel on a one-line status.
    from textual.widgets import Label

    monkeypatch.delenv("BRAINTRUST_API_KEY", raising=False)
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        status = app.screen.query_one("#btql-status", Label)
        await wait_for(pilot, lambda: "to run them on Braintrust." in _status(app))
        text = _status(app)
        # inside its column (not running under Loop's panel), on as many lines as the sentence needs
        await wait_for(pilot, lambda: status.region.right <= status.parent.region.right
                       and status.content_size.width * status.content_size.height >= len(text))


async def test_ctrl_g_cancels_a_remote_query_at_once_and_drops_its_late_answer(
    fake_bt_env: FakeBraintrust, sample_ws_path: Path
) -> None:
    seed_logs(fake_bt_env, 3, project="only-in-braintrust")
    fake_bt_env.fault("slow", path="/btql", delay_s=2.0)
    app = make_app(sample_ws_path, page="btql")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        app.screen.query_one(BtqlEditor).load_text(QUERY)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: bool(_sent(fake_bt_env)))  # the request is on its way
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: "runtime error" in _status(app))  # said at once, not after the reply
        results = app.screen.query_one("#btql-results", ArrowTable)
        assert not results.loading
        await settle(pilot)  # the slow reply has come back by now: it must not replace "cancelled"
        assert "cancelled" in str(app.screen.query_one("#btql-error").render()) and results.row_count == 0
