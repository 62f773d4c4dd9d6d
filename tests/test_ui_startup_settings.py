"""Start-up does less before the first rows: no pydantic, no settings model, no agent until they are shown;
the settings file is still checked in full right after, and a bad one still ends the app with one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from loop_tui.config import read_startup_settings
from tests.conftest import REPO, run_cli
from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import screen_text, settle

BEFORE_ROWS = ("pydantic", "loop_tui.settings_models", "loop_tui.agent", "loop_tui.ui.loop.chat", "pyarrow.compute")
"""What the logs page's first rows never wait for (imported only once they are on the screen)."""

_FIRST_ROWS_PROBE = """
import json, sys
from loop_tui.config import read_startup_settings
from loop_tui.store import Workspace
from loop_tui.ui.app import LoopApp

seen = []

class Probe(LoopApp):
    def first_page_drawn(self):
        if not seen:  # the moment the page's first rows are on the screen
            seen.append([m for m in {modules!r} if m in sys.modules])
            self.exit()
        super().first_page_drawn()

def opener():
    return Workspace.open({ws!r}), read_startup_settings()

Probe(None, None, start_page="logs", opener=opener, where={ws!r}).run(headless=True, size=(120, 40))
print(json.dumps(seen))
"""


def test_the_first_rows_come_before_pydantic_the_settings_model_the_agent_and_pyarrow_compute(sample_ws_path: Path) -> None:
    """The app as the CLI starts it, in a fresh process: when the logs page shows its first rows, neither
    pydantic nor the settings model nor Loop's agent nor pyarrow.compute (the grid measures the page's cells
    with its rows) has been imported: their ~0.25 s of Python would come before the rows on a GIL-bound
    start-up."""
    code = _FIRST_ROWS_PROBE.format(modules=BEFORE_ROWS, ws=str(sample_ws_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [[]]


def test_startup_settings_read_the_look_and_check_the_rest_later(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[ui]\ntheme = "nord"\nchat_open = false\nkeybindings = { "app.help" = "f1" }\n'
                    '[agent]\nmax_iterations = 500\n')
    startup = read_startup_settings(path)
    assert (startup.theme, startup.chat_open, startup.keybindings) == ("nord", False, {"app.help": "f1"})
    try:
        startup.validated()
    except Exception as err:  # noqa: BLE001 - the sentence is what matters
        assert str(err).startswith(f"invalid setting `agent.max_iterations` in {path}:")
    else:
        raise AssertionError("an out-of-range setting passed the full check")


def test_startup_settings_of_the_wrong_type_read_as_defaults_until_checked(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('[ui]\ntheme = 3\nchat_open = "maybe"\nkeybindings = ["ctrl+x"]\n')
    startup = read_startup_settings(path)
    assert (startup.theme, startup.chat_open, startup.keybindings) == ("textual-dark", True, {})


def test_an_invalid_setting_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    """Checked after the first rows now, the invalid value still ends the app with the sentence naming it."""
    settings = tmp_path / "bad.toml"
    settings.write_text("[agent]\nmax_iterations = 0\n")
    workspace = tmp_path / "ws"
    from tests.conftest import copy_sample_workspace

    copy_sample_workspace(workspace)
    result = run_cli("--workspace", str(workspace), "app", env={"LOOP_TUI_CONFIG": str(settings)})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"invalid setting `agent.max_iterations` in {settings}" in result.stderr


async def test_the_checked_settings_are_the_ones_loops_chat_shares(sample_ws_path: Path, tmp_path: Path) -> None:
    """Once Loop mounts, the app's Settings is the file's, checked, and the page's chat holds that same object."""
    from loop_tui.store import Workspace
    from loop_tui.ui.app import LoopApp
    from loop_tui.ui.loop import LoopChat

    path = tmp_path / "settings.toml"
    path.write_text("[agent]\nmax_iterations = 7\n")

    def opener():  # type: ignore[no-untyped-def]
        return Workspace.open(sample_ws_path), read_startup_settings(path)

    app = LoopApp(None, None, start_page="logs", project="support-bot", opener=opener, where=str(sample_ws_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.loop_ready and bool(app.screen.query(LoopChat)), timeout=30)
        await settle(pilot)
        assert "rows 1–" in screen_text(app)
        assert app.settings.agent.max_iterations == 7
        assert app.screen.query_one(LoopChat).settings is app.settings


def test_a_settings_path_that_is_a_folder_is_one_sentence_and_exit_2(tmp_path: Path) -> None:
    """Seen in review: LOOP_TUI_CONFIG naming a folder ended `loop-tui ask` with an IsADirectoryError traceback."""
    folder = tmp_path / "settings.toml"
    folder.mkdir()
    workspace = tmp_path / "ws"
    from tests.conftest import copy_sample_workspace

    copy_sample_workspace(workspace)
    for args in (("ask", "what are the most common errors?"), ("app",)):
        result = run_cli("--workspace", str(workspace), *args, env={"LOOP_TUI_CONFIG": str(folder)})
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr
        assert f"settings file {folder} cannot be read" in result.stderr, result.stderr
