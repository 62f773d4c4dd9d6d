"""The eval engine leaves the process's garbage collector as it found it: GC tuning is the caller's choice
(the app and the CLI opt in with `loop_tui.gc_pause`), never a side effect of `run_experiment`."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from loop_tui.evals.prompt import PromptSpec
from loop_tui.evals.runner import run_experiment
from loop_tui.gc_pause import collect_only_new_objects
from loop_tui.store import Workspace
from tests.evals_helpers import ScriptedProvider

PROMPT = PromptSpec.from_dict({"messages": [{"role": "user", "content": "{{input}}"}], "model": "gpt-4o-mini"})
ROWS = [{"input": f"q{i}", "expected": f"q{i}"} for i in range(4)]


@pytest.fixture(autouse=True)
def _no_pause_left_by_an_earlier_test() -> None:
    """A chat test in the same process may have left its pause to be released on a loop that has ended;
    entering and leaving once releases it now, so each test starts from the collector's usual state."""
    with collect_only_new_objects():
        pass


def gc_state() -> tuple[bool, int, tuple[int, int, int]]:
    return gc.isenabled(), gc.get_freeze_count(), gc.get_threshold()


async def run_and_watch(tmp_path: Path) -> list[tuple[bool, int, tuple[int, int, int]]]:
    """The collector's state seen by a scorer while the run is going."""
    seen: list[tuple[bool, int, tuple[int, int, int]]] = []

    def watch(output: Any, expected: Any, **_: Any) -> float:
        seen.append(gc_state())
        return 1.0

    ws = Workspace.open(tmp_path / "ws")
    ws.create_project("proj")
    await run_experiment(ws, "proj", PROMPT, ROWS, [watch], provider=ScriptedProvider(lambda m, t, p: "ok"))
    return seen


async def test_run_experiment_from_a_script_leaves_the_collector_alone(tmp_path: Path) -> None:
    before = gc_state()
    seen = await run_and_watch(tmp_path)
    assert len(seen) == len(ROWS)
    assert set(seen) == {before}  # not frozen (nor disabled, nor retuned) while the run goes
    assert gc_state() == before


async def test_a_caller_that_opts_in_gets_the_pause_for_the_run_only(tmp_path: Path) -> None:
    before = gc_state()
    with collect_only_new_objects():
        seen = await run_and_watch(tmp_path)
    assert all(frozen > 0 for _, frozen, _ in seen)  # the heap that existed before the run is skipped
    assert gc_state() == before


async def test_a_caller_that_collects_once_afterwards_has_no_full_collection_before_it() -> None:
    """The chat's stream: once frozen, Python's rule of thumb fired full collections again and again (each
    walking everything the run had made); they wait for the one collection after the run instead."""
    import asyncio

    before = gc_state()
    full_collections: list[int] = []

    def on_collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full_collections.append(1)

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    gc.callbacks.append(on_collection)
    try:
        with collect_only_new_objects(release_delay_s=0.01):
            survivors = [[Cycle() for _ in range(50)] for _ in range(2000)]  # long-lived objects the run makes
            assert full_collections == []
            del survivors
        assert gc.get_threshold()[2] > before[2][2]  # still held until the release, just after the last user
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not full_collections and loop.time() < deadline:  # the release timer fires on this loop
            await asyncio.sleep(0.01)
        assert full_collections == [1]  # the one collection at the release
    finally:
        gc.callbacks.remove(on_collection)
    assert gc_state() == before


def test_what_a_run_dropped_is_collected_when_asked_and_its_survivors_frozen() -> None:
    import weakref

    from loop_tui.gc_pause import collect_what_the_run_dropped

    class Node:
        def __init__(self) -> None:
            self.me = self

    outside = Node()
    gone_outside = weakref.ref(outside)
    del outside
    before = gc_state()
    gc.disable()  # only an explicit collection may free the cycles below
    try:
        collect_what_the_run_dropped()  # outside a pause: nothing happens
        assert gone_outside() is not None and gc_state()[1] == before[1]
        with collect_only_new_objects(release_delay_s=60.0):
            dropped, kept = Node(), Node()
            gone = weakref.ref(dropped)
            del dropped
            frozen = gc.get_freeze_count()
            collect_what_the_run_dropped()
            assert gone() is None  # the dropped tree is collected now, not at the release
            assert gc.get_freeze_count() > frozen  # and what the run keeps is not walked again
            assert kept.me is kept
    finally:
        gc.enable()
        with collect_only_new_objects():  # release the pause now rather than in a minute
            pass
    gc.collect()
    assert gc_state() == before
