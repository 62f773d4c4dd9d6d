"""The real app in a real terminal (tmux at 80×24): keys arrive as a terminal sends them, all at once,
without waiting for the app to settle between them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
REPO = Path(__file__).resolve().parent.parent


class Terminal:
    """One tmux session running the app."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, *keys: str) -> None:
        """Send keys in one burst (tmux names: Enter, Escape, C-l...)."""
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        """What the terminal shows now."""
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], check=True,
                              capture_output=True, text=True).stdout

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 60.0) -> str:
        """Poll the screen until `predicate(screen)` holds; fail with the last screen after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if predicate(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; the screen was:\n{shown}")
            time.sleep(0.1)  # polling interval, not a wait for the app: the condition decides


@pytest.fixture
def terminal(sample_ws_path: Path, tmp_path: Path) -> Iterator[Terminal]:
    """The app on a copy of the sample workspace in a detached 80×24 tmux session."""
    name = f"loop-tui-test-{uuid.uuid4().hex[:8]}"
    # tmux starts the command with its server's environment: pass ours explicitly.
    env = {"PYTHONPATH": str(REPO), "LOOP_TUI_CONFIG": str(tmp_path / "config" / "settings.toml"),
           "HOME": os.environ.get("HOME", str(tmp_path)), "TERM": "xterm-256color"}
    env_flags = [flag for key, value in env.items() for flag in ("-e", f"{key}={value}")]
    # (stderr stays on the terminal: Textual draws the screen there)
    command = f"{sys.executable} -m loop_tui --workspace {sample_ws_path} --page logs --project support-bot"
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", *env_flags, command], check=True)
    try:
        yield Terminal(name)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False, capture_output=True)


def test_keys_sent_right_after_a_page_switch_reach_the_new_page(terminal: Terminal) -> None:
    terminal.wait_for(lambda s: "rows 1–" in s)
    terminal.send("2", "j", "Enter")  # experiments (first visit, still loading), second row, open it
    opened = terminal.wait_for(lambda s: "· scores" in s)
    title = opened.splitlines()[1].split("─ ", 1)[1].split(" · scores", 1)[0]
    terminal.send("Escape")
    listed = terminal.wait_for(lambda s: "· scores" not in s and title in s)
    rows = [line for line in listed.splitlines() if line.startswith("│ ") and "experiment" not in line]
    assert rows[1].removeprefix("│ ").startswith(title), listed


def test_keys_sent_at_launch_in_a_real_terminal_act_once_the_page_is_there(terminal: Terminal) -> None:
    """In tmux, `2` and `j` sent the moment the app is launched (before its first frame, while it opens the
    workspace): the experiments page opens with the cursor on its second row."""
    terminal.send("2", "j")
    shown = terminal.wait_for(lambda s: "score mean" in s and "Loading experiments" not in s)
    assert "4 Logs" in shown
    terminal.send("Enter")
    terminal.wait_for(lambda s: "· scores" in s)  # the row the cursor was on opened: the keys all acted


def test_the_theme_of_the_settings_file_is_the_first_frame_s(sample_ws_path: Path, tmp_path: Path) -> None:
    """Seen in tmux: with `ui.theme = "textual-light"` the app drew its first frames (the workspace opening)
    in the dark theme, then turned light when the page came."""
    config = tmp_path / "config" / "settings.toml"
    config.parent.mkdir()
    config.write_text('[ui]\ntheme = "textual-light"\n', encoding="utf-8")
    name = f"loop-tui-test-{uuid.uuid4().hex[:8]}"
    env = {"PYTHONPATH": str(REPO), "LOOP_TUI_CONFIG": str(config), "HOME": os.environ.get("HOME", str(tmp_path)),
           "TERM": "xterm-256color"}
    env_flags = [flag for key, value in env.items() for flag in ("-e", f"{key}={value}")]
    command = f"{sys.executable} -m loop_tui --workspace {sample_ws_path} --page logs --project support-bot"
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "80", "-y", "24", *env_flags, command], check=True)
    try:
        terminal = Terminal(name)
        frames: list[str] = []

        def title_bar_drawn(_shown: str) -> bool:
            styled = subprocess.run(["tmux", "capture-pane", "-p", "-e", "-t", name], check=True,
                                    capture_output=True, text=True).stdout.splitlines()
            if styled and "Loop TUI" in styled[0]:
                frames.append(styled[0])
            return bool(frames)

        terminal.wait_for(title_bar_drawn)
        # The light theme's title bar (xterm colour 251: #d0d0d0), not the dark one's (17: navy).
        assert "48;5;251m" in frames[0] and "48;5;17m" not in frames[0], frames[0]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], check=False, capture_output=True)
