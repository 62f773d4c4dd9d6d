"""`EvalSpec` + `run_eval`, the typed way to start a run, and `run_experiment`, its keyword form."""

from __future__ import annotations

from pathlib import Path

import pytest

from loop_tui.evals import EvalSpec, run_eval, run_experiment
from loop_tui.evals.prompt import PromptSpec
from loop_tui.store import Workspace
from tests.evals_helpers import ScriptedProvider

PROMPT = PromptSpec.from_dict({"messages": [{"role": "user", "content": "{{input}}"}], "model": "gpt-4o-mini"})
ROWS = [{"input": "a", "expected": "a"}, {"input": "b", "expected": "x"}]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws")
    workspace.create_project("proj")
    return workspace


def echo(messages, tools, params):  # noqa: ANN001, ANN201 - a ScriptedProvider script
    return messages[-1]["content"]


async def test_a_spec_runs_and_records_what_it_says(ws: Workspace) -> None:
    spec = EvalSpec("proj", PROMPT, ROWS, ["ExactMatch"], provider=ScriptedProvider(echo), trials=2,
                    name="typed", description="from a spec", metadata={"why": "test"})
    result = await run_eval(ws, spec)
    assert result.name == "typed" and len(result.rows) == 4
    assert sorted(r.scores["ExactMatch"] for r in result.rows) == [0, 0, 1, 1]
    exp = ws.get_object("experiment", ws.project("proj").id, "typed")
    assert exp.data["description"] == "from a spec" and exp.data["metadata"]["why"] == "test"


async def test_the_keyword_form_builds_the_same_spec_and_refuses_unknown_options(ws: Workspace) -> None:
    result = await run_experiment(ws, "proj", PROMPT, ROWS, ["ExactMatch"], provider=ScriptedProvider(echo),
                                  name="keywords")
    assert [r.scores["ExactMatch"] for r in sorted(result.rows, key=lambda r: r.index)] == [1, 0]
    with pytest.raises(TypeError, match="concurency"):
        await run_experiment(ws, "proj", PROMPT, ROWS, [], provider=ScriptedProvider(echo), concurency=2)
