"""Shared fixtures: an isolated environment for every test, and copies of the sample workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE_WORKSPACE = REPO / "sample_data" / "workspace"


def _sample_now() -> str:
    from loop_tui.store.demo.recent import newest_time

    newest = newest_time(SAMPLE_WORKSPACE)
    assert newest is not None, f"{SAMPLE_WORKSPACE} has no data"
    return newest.isoformat()


# Every test runs on a clock that starts at the newest time in the committed sample workspace (the instant it
# was generated as of), so "last 7 days" means the same rows on any day the suite runs (loop_tui/clock.py),
# and the copies the tests make need no shifting.
SAMPLE_NOW = _sample_now()

# Secrets must never leak into anything we write; tests plant fake ones to check that.
_SECRET_ENV = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "BRAINTRUST_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point settings and the default workspace at temp paths; no real keys or endpoints."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("LOOP_TUI_CONFIG", str(home / "settings.toml"))
    monkeypatch.setenv("LOOP_TUI_WORKSPACE", str(home / "workspace"))
    from loop_tui import clock

    # Pinned "@ now", so the CLI subprocesses a test starts share its timeline.
    monkeypatch.setenv("LOOP_TUI_NOW", clock.pin(clock.parse_instant(SAMPLE_NOW, source="SAMPLE_NOW")))
    for name in _SECRET_ENV:
        monkeypatch.delenv(name, raising=False)


def copy_sample_workspace(dest: Path) -> Path:
    """Copy the committed sample workspace to `dest` as the app does on first run, made recent as of the
    frozen clock (tests never write to the original)."""
    from loop_tui import clock
    from loop_tui.store.demo import copy_recent

    return copy_recent(SAMPLE_WORKSPACE, dest, clock.parse_instant(SAMPLE_NOW, source="SAMPLE_NOW"))


@pytest.fixture
def sample_ws_path(tmp_path: Path) -> Path:
    """A fresh, writable copy of the sample workspace."""
    return copy_sample_workspace(tmp_path / "sample-ws")


@pytest.fixture
def sample_ws(sample_ws_path: Path):
    """The sample workspace, opened."""
    from loop_tui.store import Workspace

    return Workspace.open(sample_ws_path)


@pytest.fixture(scope="session")
def shared_sample_ws_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One read-only copy per test session (for tests that only read)."""
    return copy_sample_workspace(tmp_path_factory.mktemp("shared") / "sample-ws")


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120):
    """Run `python -m loop_tui ARGS` in a real subprocess; returns CompletedProcess (text)."""
    import subprocess
    import sys

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "loop_tui", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        cwd=REPO,
    )


# The fake model server's fixtures live beside it; re-exported here so every test can use them.
from tests.fake_model_server import fake_server, fake_server_env  # noqa: E402,F401
