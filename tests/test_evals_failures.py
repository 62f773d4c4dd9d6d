"""Failed work in evals: an endpoint that fails every request stops the run early (the circuit breaker), a
reply cut off mid-stream is asked for again, and a model that cannot be called says what to do in the
words of the place that shows it. Real HTTP to the fake model server; a real workspace."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from loop_tui.evals.experiments import dataset_rows, list_experiments
from loop_tui.evals.model_call import ModelCallError, call_model
from loop_tui.evals.prompt import PromptSpec
from loop_tui.evals.runner import run_experiment
from loop_tui.llm.base import ProviderError
from loop_tui.store import Workspace
from tests.evals_helpers import ScriptedProvider

PROMPT = PromptSpec.from_dict({"messages": [{"role": "user", "content": "{{input}}"}], "model": "gpt-4o-mini"})


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws")
    project = workspace.create_project("proj")
    ds = workspace.save_object("dataset", project.id, "qa", {})
    rows = [{"input": f"q{i}", "expected": f"echo: q{i}" if i % 3 else "other"} for i in range(40)]
    workspace.insert_rows("dataset", ds.id, rows, project_id=project.id)
    return workspace


def _stored_rows(ws: Workspace, experiment_id: str) -> int:
    found = ws.query("SELECT count(*) AS n FROM experiment WHERE experiment_id = ? AND is_root", [experiment_id])
    return int(found[0]["n"])


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections to it are refused


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ({"fault": "401"}, "auth"),
        ({"fault": "500"}, "server"),
        ({"fault": "disconnect", "after": 1}, "connection"),
        ({"fault": "stall", "seconds": 5}, "timeout"),
    ],
)
async def test_an_endpoint_failing_every_request_stops_the_run_early(
    ws: Workspace, fake_server: Any, fault: dict[str, Any], kind: str
) -> None:
    fake_server.script([fault] * 400)
    result = await run_experiment(
        ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=fake_server.provider(), concurrency=4, name="down",
        row_timeout_s=0.3 if kind == "timeout" else None,
    )
    assert result.stopped is not None and f"failed the same way ({kind})" in result.stopped
    assert 5 <= len(result.rows) < 40  # stopped after five failures in a row, not after all forty rows
    assert all(row.error for row in result.rows)
    listed = list_experiments(ws, "proj")[0]
    assert listed["status"] == "failed" and listed["rows"] == len(result.rows) == _stored_rows(ws, result.experiment_id)
    assert ws.get_object("experiment", result.project_id, "down").data["stopped"] == result.stopped


async def test_an_unreachable_endpoint_stops_after_one_wave(ws: Workspace, fake_server: Any) -> None:
    provider = fake_server.provider(base_url=f"http://127.0.0.1:{_closed_port()}/v1")
    result = await run_experiment(ws, "proj", PROMPT, "qa", [], provider=provider, concurrency=8)
    assert result.stopped is not None and "(connection)" in result.stopped and "could not reach" in result.stopped
    assert len(result.rows) == 8  # one wave of `concurrency` requests; the other 32 rows were never sent
    assert "the other 32 were not run" in result.stopped


async def test_failures_broken_by_successes_or_of_mixed_kinds_run_every_row(ws: Workspace) -> None:
    def flaky(messages: list[dict[str, Any]], tools: Any, params: Any) -> Any:
        i = int(messages[-1]["content"][1:])
        if i % 4 == 3:
            return f"echo: q{i}"  # every fourth row succeeds
        return ProviderError("server" if i % 2 else "auth", "down")

    result = await run_experiment(ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=ScriptedProvider(flaky),
                                  concurrency=1)
    assert result.stopped is None and len(result.rows) == 40 and result.errors == 30


async def test_rows_too_long_for_the_model_never_trip_the_breaker(ws: Workspace) -> None:
    too_long = ScriptedProvider(lambda m, t, p: ProviderError("context_length", "the conversation is too long"))
    result = await run_experiment(ws, "proj", PROMPT, "qa", [], provider=too_long, concurrency=2)
    assert result.stopped is None and result.errors == 40


async def test_a_reply_cut_off_mid_stream_is_asked_for_again(fake_server: Any) -> None:
    fake_server.script([{"fault": "disconnect", "text": "a partial answer", "after": 3},
                        {"fault": "stream_error", "text": "another partial answer", "after": 3}])
    reply = await call_model(fake_server.provider(), [{"role": "user", "content": "hello"}], model="gpt-4o-mini")
    assert reply.text == "echo: hello" and len(fake_server.requests) == 3


async def test_a_reply_cut_off_every_time_fails_after_bounded_retries(fake_server: Any) -> None:
    fake_server.script([{"fault": "disconnect", "text": "a partial answer", "after": 3}] * 10)
    with pytest.raises(ModelCallError, match="cut off 4 times in a row") as failed:
        await call_model(fake_server.provider(), [{"role": "user", "content": "hello"}], model="gpt-4o-mini")
    assert failed.value.kind == "connection" and "is not retried" not in str(failed.value)
    assert len(fake_server.requests) == 4


async def test_an_eval_under_transient_faults_scores_as_without_them(ws: Workspace, fake_server: Any) -> None:
    clean = await run_experiment(ws, "proj", PROMPT, "qa", ["ExactMatch", "Levenshtein"],
                                 provider=fake_server.provider(), concurrency=4, name="clean")
    faults = [
        [{"fault": "429", "retry_after": 0.01}], [{"fault": "500"}], [{"fault": "529"}],
        [{"fault": "disconnect", "text": "cut off here", "after": 3}],
        [{"fault": "stream_error", "text": "overloaded mid-reply", "after": 2}],
        [{"fault": "disconnect", "after": 1}],  # before any text: the provider's own retry
        [{"fault": "disconnect", "text": "cut off", "after": 4}, {"fault": "500"}],  # a cut-off, then a 500
    ]
    # One row at a time, so each row gets its faults and then its own reply (what the echo would say).
    script: list[dict[str, Any]] = []
    for n, row in enumerate(dataset_rows(ws, ws.get_object("dataset", clean.project_id, "qa").id)):
        script += faults[n // 2 % len(faults)] if n % 2 == 0 else []
        script.append({"text": f"echo: {row['input']}"})
    fake_server.script(script)
    faulty = await run_experiment(ws, "proj", PROMPT, "qa", ["ExactMatch", "Levenshtein"],
                                  provider=fake_server.provider(), concurrency=1, name="faulty")
    assert fake_server.pending == 0  # every fault was served
    assert faulty.errors == 0 and faulty.stopped is None, [r.error for r in faulty.rows if r.error]
    assert [(r.index, r.output, r.scores) for r in faulty.rows] == [(r.index, r.output, r.scores) for r in clean.rows]
