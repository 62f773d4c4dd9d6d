"""The eval engine leaves the process's garbage collector as it found it: GC tuning is the caller's choice
(the app and the CLI opt in with `loop_tui.gc_pause`), never a side effect of `run_experiment`."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from loop_tui.evals.prompt import PromptSpec
from loop_tui.evals.runner import run_experiment
from loop_tui.gc_pause import collect_only_new_objects
from loop_tui.store import Workspace
from tests.evals_helpers import ScriptedProvider

PROMPT = PromptSpec.from_dict({"messages": [{"role": "user", "content": "{{input}}"}], "model": "gpt-4o-mini"})
ROWS = [{"input": f"q{i}", "expected": f"q{i}"} for i in range(4)]


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
