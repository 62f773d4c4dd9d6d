"""Slow work shows a loading state (issue 11, item 15): while a page's loader is still reading, the page says
so where its data will be (never an empty form that looks finished), and page keys keep working meanwhile."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_loop_ui_support import wait_for
from tests.test_ui_support import make_app, screen_text


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Held loaders wait on this (released at the end, so no worker thread outlives the test)."""
    event = threading.Event()
    yield event
    event.set()


def _held(real: Callable[..., Any], gate: threading.Event) -> Callable[..., Any]:
    def wait_then_call(*args: Any, **kwargs: Any) -> Any:
        gate.wait(timeout=30)
        return real(*args, **kwargs)

    return wait_then_call


async def test_the_playground_says_it_is_loading_until_its_prompt_arrives(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch, gate: threading.Event
) -> None:
    import loop_tui.ui.screens.playground as playground

    monkeypatch.setattr(playground, "read_state", _held(playground.read_state, gate))
    app = make_app(shared_sample_ws_path, page="playground")
    said: list[str] = []
    notify = app.notify
    monkeypatch.setattr(app, "notify", lambda message, **kw: (said.append(str(message)), notify(message, **kw))[1])
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: "Loading the playground…" in screen_text(app), timeout=10)
        await pilot.press("ctrl+r")  # a run before the task is there would run a prompt nobody wrote
        await wait_for(pilot, lambda: any("still loading" in s for s in said), timeout=10)
        assert app.screen.current_run is None
        gate.set()
        await wait_for(pilot, lambda: "ctrl+r runs the task" in screen_text(app), timeout=10)
        assert "Loading" not in screen_text(app)


async def test_the_datasets_page_says_it_is_loading_the_list_and_then_the_rows(
    shared_sample_ws_path: Path, monkeypatch: pytest.MonkeyPatch, gate: threading.Event
) -> None:
    from loop_tui.store import Workspace

    read_rows = Workspace.read_rows
    objects = Workspace.objects
    rows_gate = threading.Event()
    monkeypatch.setattr(Workspace, "objects", _held(objects, gate))
    monkeypatch.setattr(Workspace, "read_rows", _held(read_rows, rows_gate))
    app = make_app(shared_sample_ws_path, page="datasets")
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: "Loading datasets…" in screen_text(app), timeout=10)
            gate.set()
            # the list is there; the first dataset's rows are still being read: say so, not "Choose a dataset"
            await wait_for(pilot, lambda: "Loading rows…" in screen_text(app), timeout=10)
            assert "Choose a dataset" not in screen_text(app)
            rows_gate.set()
            await wait_for(pilot, lambda: "Loading" not in screen_text(app), timeout=10)
    finally:
        rows_gate.set()
