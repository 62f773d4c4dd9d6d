"""Start-up: the first frame is drawn before the heavy parts load, and keys typed meanwhile still act."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

from loop_tui.errors import UserError
from tests.conftest import REPO, run_cli
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import screen_text, settle

HEAVY = ("pyarrow", "duckdb", "pydantic", "httpx", "loop_tui.agent", "loop_tui.store", "loop_tui.config")


def test_the_entry_point_and_the_app_import_none_of_the_heavy_parts() -> None:
    """What runs before the first frame (the CLI, its parser, the app and its starting screen) imports no
    pyarrow, DuckDB, pydantic, httpx, agent or store: those load in a worker once the frame is drawn."""
    code = (
        "import json, sys\n"
        "from loop_tui.cli.main import build_parser\n"
        "build_parser().parse_args(['--page', 'logs'])\n"
        "import loop_tui.cli.app_cmd, loop_tui.ui.app, loop_tui.ui.screens.starting\n"
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(out.stdout) == []


def _gated_app(ws_path: Path, page: str = "logs"):  # type: ignore[no-untyped-def]
    """The app as the CLI starts it (opening the workspace after the first frame), held at the opening
    until the test lets it go, so keys can be typed while it loads."""
    from loop_tui.config import load_settings
    from loop_tui.store import Workspace
    from loop_tui.ui.app import LoopApp

    gate = threading.Event()

    def opener():  # type: ignore[no-untyped-def]
        if not gate.wait(30):
            raise UserError("the test never let the workspace open")
        return Workspace.open(ws_path), load_settings()

    app = LoopApp(None, None, start_page=page, project="support-bot", opener=opener, where=str(ws_path))
    return app, gate


async def test_the_first_frame_shows_the_app_while_the_workspace_opens(sample_ws_path: Path) -> None:
    app, gate = _gated_app(sample_ws_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "Opening the workspace" in screen_text(app))
        shown = screen_text(app)
        assert "Loop TUI" in shown and "4 Logs" in shown and str(sample_ws_path) in shown
        gate.set()
        await wait_for(pilot, lambda: app.current_mode == "logs" and "rows 1–" in screen_text(app), timeout=30)
        await settle(pilot)
        assert "extract_invoice" in screen_text(app) or "chat" in screen_text(app)


async def test_a_page_key_typed_while_the_workspace_opens_opens_that_page(sample_ws_path: Path) -> None:
    app, gate = _gated_app(sample_ws_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "Opening the workspace" in screen_text(app))
        await pilot.press("2")
        assert not app.pages_ready
        gate.set()
        await wait_for(pilot, lambda: app.pages_ready, timeout=30)
        await settle(pilot)
        assert app.current_mode == "experiments"


async def test_a_filter_typed_while_the_workspace_opens_lands_in_the_filter(sample_ws_path: Path) -> None:
    """`/` and the text after it, typed before anything is loaded: each key lands where the one before it
    put the cursor, once the page is there."""
    app, gate = _gated_app(sample_ws_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "Opening the workspace" in screen_text(app))
        await pilot.press("slash", "e", "r", "r")
        gate.set()
        await wait_for(pilot, lambda: app.pages_ready, timeout=30)
        await settle(pilot)
        assert app.current_mode == "logs"
        assert app.screen.query_one("#logs-filter-input").value == "err"
        assert app.focused is app.screen.query_one("#logs-filter-input")


def test_an_unknown_project_is_one_line_and_exit_2_after_the_first_frame(sample_ws_path: Path) -> None:
    result = run_cli("--workspace", str(sample_ws_path), "app", "--project", "no-such-project")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "no-such-project" in result.stderr



def test_the_first_page_imports_no_part_of_loops_chat() -> None:
    """The logs page (its module, Loop's header text) needs neither the chat nor the offline model: those
    load after its first rows are on the screen."""
    code = (
        "import json, sys\n"
        "import loop_tui.ui.screens.logs\n"
        "from loop_tui.ui.loop.header import abilities_text\n"
        "assert 'the most common errors' in abilities_text('logs')\n"
        "print(json.dumps([m for m in ('loop_tui.ui.loop.chat', 'loop_tui.agent.offline') if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert json.loads(out.stdout) == []


async def test_loop_arrives_after_the_first_rows_and_a_typed_ctrl_l_lands_in_it(sample_ws_path: Path) -> None:
    from textual.widgets import Input

    from loop_tui.ui.loop import LoopChat

    app, gate = _gated_app(sample_ws_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "Opening the workspace" in screen_text(app))
        await pilot.press("ctrl+l", "h", "i")  # open Loop and start a question before anything is loaded
        gate.set()
        await wait_for(pilot, lambda: app.pages_ready and bool(app.screen.query(LoopChat)), timeout=30)
        await settle(pilot)
        assert "rows 1–" in screen_text(app) and "Loop is starting" not in screen_text(app)
        loop_input = app.screen.query_one("#loop-input", Input)
        assert app.focused is loop_input and loop_input.value == "hi"


def test_the_first_page_prefetch_reads_what_the_page_would(sample_ws_path: Path) -> None:
    from loop_tui.btql import run
    from loop_tui.store import Workspace
    from loop_tui.ui.logs_query import PAGE_SIZE, FirstPagePrefetch, LogsQuery

    ws = Workspace.open(sample_ws_path)
    project = ws.project("support-bot")
    prefetch = FirstPagePrefetch(ws)  # started before the project is known, as the app does
    prefetch.for_project(project.id)
    prefetch.wait()
    assert prefetch.done()
    text = LogsQuery(source=f"project_logs('{project.id}')").btql(PAGE_SIZE)
    assert prefetch.take("select: id | from: project_logs() | limit: 1", ws) is None  # another query: no
    taken = prefetch.take(text, ws)
    assert taken is not None and taken.table.to_pylist() == run(text, ws).table.to_pylist()
    assert prefetch.take(text, ws) is None  # once

    nothing = FirstPagePrefetch(ws)
    nothing.for_project(None)  # no project: the thread ends without a query
    nothing.wait()
    assert nothing.take(text, ws) is None
