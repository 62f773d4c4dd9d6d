"""The experiment runner end to end into a temp workspace: spans, scores, errors, cost, trials, timeouts,
cancellation and progress; with a scripted provider and with the fake model server (both wire formats)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from loop_tui.errors import UserError
from loop_tui.evals.code_scorer import CodeScorer
from loop_tui.evals.prompt import PromptSpec
from loop_tui.evals.runner import Progress, run_experiment
from loop_tui.evals.summary import summarize
from loop_tui.llm.base import ProviderError
from loop_tui.store import Workspace
from tests.evals_helpers import ScriptedProvider, choose

PROMPT = PromptSpec.from_dict(
    {
        "messages": [{"role": "system", "content": "Answer."}, {"role": "user", "content": "{{input.q}}"}],
        "model": "gpt-4o-mini",
    }
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace.open(tmp_path / "ws")
    project = workspace.create_project("proj")
    ds = workspace.save_object("dataset", project.id, "qa", {})
    rows = [{"input": {"q": f"q{i}"}, "expected": f"a{i}", "metadata": {"i": i}} for i in range(10)]
    workspace.insert_rows("dataset", ds.id, rows, project_id=project.id)
    return workspace


def answer(messages: list[dict[str, Any]], tools: Any, params: Any) -> Any:
    """a<i> for odd i, 'wrong' for even i, and a provider failure for q3."""
    q = messages[-1]["content"]
    if q == "q3":
        return ProviderError("rate_limit", "rate limited after retries")
    return q.replace("q", "a") if int(q[1:]) % 2 else "wrong"


def spans(ws: Workspace, experiment_id: str) -> list[dict[str, Any]]:
    return ws.query(
        "SELECT id, root_span_id, span_parents, is_root, _span_type AS type, _span_name AS name, input, output, "
        "error, scores, metrics, metadata, origin FROM experiment WHERE experiment_id = ?",
        [experiment_id],
    )


async def test_run_writes_span_tree_scores_errors_and_cost(ws: Workspace) -> None:
    events: list[Progress] = []
    provider = ScriptedProvider(answer)
    result = await run_experiment(
        ws,
        "proj",
        PROMPT,
        "qa",
        ["ExactMatch", "Levenshtein"],
        provider=provider,
        model="gpt-4o-mini",
        concurrency=4,
        name="first",
        on_progress=events.append,
    )
    assert (result.name, len(result.rows), result.errors) == ("first", 10, 1)
    assert [e.done for e in events] == list(range(1, 11)) and events[-1].errors == 1
    assert events[-1].running_cost == pytest.approx(result.total_cost) and result.total_cost > 0
    rows = spans(ws, result.experiment_id)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for span in rows:
        by_type.setdefault(span["type"], []).append(span)
    assert {k: len(v) for k, v in by_type.items()} == {"eval": 10, "task": 10, "llm": 10, "score": 18}
    roots = {r["id"]: r for r in by_type["eval"]}
    for span in rows:
        assert span["root_span_id"] in roots
        if span["type"] in ("task", "score"):
            assert span["span_parents"] == [span["root_span_id"]]
    tasks = {t["id"]: t for t in by_type["task"]}
    for llm in by_type["llm"]:
        assert llm["span_parents"][0] in tasks
        assert json.loads(llm["metadata"])["model"] == "gpt-4o-mini"
        assert json.loads(llm["input"])[-1]["role"] == "user"
    ok = next(r for r in by_type["eval"] if json.loads(r["input"]) == {"q": "q1"})
    assert ok["scores"] == {"ExactMatch": 1.0, "Levenshtein": 1.0}
    assert json.loads(ok["output"]) == "a1"
    metrics = ok["metrics"]
    assert metrics["tokens"] == 15 and metrics["estimated_cost"] > 0 and metrics["end"] >= metrics["start"]
    assert json.loads(ok["origin"])["object_type"] == "dataset"
    failed = next(r for r in by_type["eval"] if json.loads(r["input"]) == {"q": "q3"})
    assert "rate limited" in json.loads(failed["error"]) and failed["scores"] is None
    llm_metrics = next(s for s in by_type["llm"] if s["root_span_id"] == ok["id"])["metrics"]
    assert {"time_to_first_token", "prompt_tokens", "completion_tokens"} <= set(llm_metrics)
    exp = ws.get_object("experiment", ws.project("proj").id, "first")
    assert exp.data["status"] == "completed" and exp.data["scorers"] == ["ExactMatch", "Levenshtein"]
    assert exp.data["dataset_id"] and exp.data["prompt"]["messages"] == PROMPT.messages
    # One write for all the spans, not one per row.
    writes = [h for h in ws.history(table="experiment", object_id=result.experiment_id)]
    assert len(writes) == 1


async def test_second_run_compares_with_the_first(ws: Workspace) -> None:
    first = await run_experiment(ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=ScriptedProvider(answer))
    better = ScriptedProvider(lambda m, t, p: m[-1]["content"].replace("q", "a"))
    second = await run_experiment(ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=better)
    assert second.base_id == first.experiment_id
    summary = summarize(ws, second.experiment_id)
    s = summary.scores["ExactMatch"]
    assert s.score == 1.0 and s.improvements == 5 and s.regressions == 0  # q3 had no score before
    assert s.diff == pytest.approx(5 / 9)


async def test_scorer_errors_none_scores_and_multi_scores(ws: Workspace) -> None:
    def broken(output: Any) -> float:
        raise ValueError("cannot score")

    def skipper(output: Any, metadata: dict[str, Any]) -> float | None:
        return None if metadata["i"] % 2 else 1.0

    async def two(output: Any, expected: Any) -> list[dict[str, Any]]:
        return [{"name": "A", "score": 1.0}, {"name": "B", "score": 0.0}]

    provider = ScriptedProvider(lambda m, t, p: "x")
    result = await run_experiment(ws, "proj", PROMPT, "qa", [broken, skipper, two], provider=provider)
    row = result.rows[0]
    assert row.scorer_errors == {"broken": "ValueError: cannot score"}
    assert row.scores == {"skipper": 1.0, "A": 1.0, "B": 0.0}
    assert result.rows[1].scores["skipper"] is None
    summary = summarize(ws, result.experiment_id)
    assert summary.scores["skipper"].score == 1.0 and summary.scores["skipper"].n_skipped == 5
    assert "broken" not in summary.scores


async def test_trials_timeouts_and_json_output(ws: Workspace) -> None:
    json_prompt = PromptSpec.from_dict(
        {
            "messages": [{"role": "user", "content": "{{input.q}}"}],
            "params": {"response_format": {"type": "json_object"}},
        }
    )

    def reply(messages: Any, tools: Any, params: Any) -> Any:
        return '{"answer": "' + messages[-1]["content"] + '"}'

    seen: list[Any] = []

    def capture(output: Any) -> float:
        seen.append(output)
        return 1.0

    rows = [{"input": {"q": "x"}}, {"input": {"q": "y"}}]
    result = await run_experiment(
        ws, "proj", json_prompt, rows, [capture], provider=ScriptedProvider(reply), trials=3
    )
    assert len(result.rows) == 6 and seen[0] == {"answer": seen[0]["answer"]}
    assert result.dataset_id is None

    slow = ScriptedProvider(lambda m, t, p: "late", latency=2.0)
    result = await run_experiment(
        ws, "proj", PROMPT, rows[:1], ["ExactMatch"], provider=slow, row_timeout_s=0.05
    )
    assert result.rows[0].error and "timed out" in result.rows[0].error.lower()


async def test_cancellation_writes_finished_rows_and_marks_experiment(ws: Workspace) -> None:
    provider = ScriptedProvider(lambda m, t, p: "a", latency=0.05)
    rows = [{"input": {"q": str(i)}} for i in range(200)]
    done = asyncio.Event()

    def progress(event: Progress) -> None:
        if event.done >= 5:
            done.set()

    task = asyncio.create_task(
        run_experiment(
            ws,
            "proj",
            PROMPT,
            rows,
            ["ExactMatch"],
            provider=provider,
            concurrency=2,
            name="cut",
            on_progress=progress,
        )
    )
    await asyncio.wait_for(done.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    exp = ws.get_object("experiment", ws.project("proj").id, "cut")
    assert exp.data["status"] == "cancelled"
    from loop_tui.ui.experiments_data import experiments_table

    table, _ = experiments_table(ws, ws.project("proj").id)
    assert "cut (cancelled)" in table.column("experiment").to_pylist()  # the page says it is incomplete
    written = ws.query("SELECT count(*) AS n FROM experiment WHERE experiment_id = ? AND is_root", [exp.id])[
        0
    ]["n"]
    assert 5 <= written < 200 and written == exp.data["row_count"]


async def test_code_and_judge_scorers_in_a_run(ws: Workspace) -> None:
    project = ws.project("proj")
    ws.save_object(
        "scorer",
        project.id,
        "short",
        {"type": "code", "code": "def handler(output):\n    return len(output) < 3"},
    )
    ws.save_object(
        "scorer",
        project.id,
        "polite",
        {
            "type": "llm",
            "prompt": "Is '{{output}}' polite?",
            "choice_scores": {"yes": 1, "no": 0},
            "use_cot": False,
        },
    )

    def reply(messages: Any, tools: Any, params: Any) -> Any:
        if tools:
            return choose("yes")(messages, tools, params)
        return "ok"

    provider = ScriptedProvider(reply)
    loop_code = CodeScorer("spin", "def handler(output):\n    while True: pass")
    loop_code.limits = type(loop_code.limits)(timeout_s=0.5)
    rows = [{"input": {"q": "1"}}, {"input": {"q": "2"}}]
    result = await run_experiment(
        ws,
        "proj",
        PROMPT,
        rows,
        ["short", "polite", "Factuality", loop_code],
        provider=provider,
        concurrency=2,
    )
    for row in result.rows:
        assert row.scores["short"] == 1.0 and row.scores["polite"] == 1.0
        assert "Factuality" in row.scorer_errors  # yes is not one of A..E
        assert "timed out" in row.scorer_errors["spin"]
    judge_spans = ws.query(
        "SELECT metrics FROM experiment WHERE experiment_id = ? AND _span_name = 'polite'",
        [result.experiment_id],
    )
    assert all(s["metrics"]["tokens"] == 15 for s in judge_spans)


async def test_bad_input_is_a_user_error(ws: Workspace) -> None:
    provider = ScriptedProvider(answer)
    with pytest.raises(UserError, match="unknown scorer"):
        await run_experiment(ws, "proj", PROMPT, "qa", ["NoSuchScorer"], provider=provider)
    with pytest.raises(UserError, match="no dataset"):
        await run_experiment(ws, "proj", PROMPT, "nope", ["ExactMatch"], provider=provider)
    with pytest.raises(UserError, match="no project"):
        await run_experiment(ws, "nope", PROMPT, "qa", ["ExactMatch"], provider=provider)
    with pytest.raises(UserError, match="concurrency"):
        await run_experiment(ws, "proj", PROMPT, "qa", [], provider=provider, concurrency=0)
    await run_experiment(ws, "proj", PROMPT, "qa", [], provider=provider, name="taken")
    with pytest.raises(UserError, match="already exists"):
        await run_experiment(ws, "proj", PROMPT, "qa", [], provider=provider, name="taken")


async def test_template_error_is_recorded_per_row(ws: Workspace) -> None:
    prompt = PromptSpec.from_dict({"messages": [{"role": "user", "content": "{{input.missing}}"}]})
    result = await run_experiment(ws, "proj", prompt, "qa", ["ExactMatch"], provider=ScriptedProvider(answer))
    assert result.errors == 10 and "input.missing" in result.rows[0].error


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_against_the_fake_model_server(ws: Workspace, fake_server: Any, kind: str) -> None:
    """Echo replies: 'echo: q<i>' scored against expected; a scripted judge verdict via tool calls."""
    project = ws.project("proj")
    rows = [{"input": {"q": f"q{i}"}, "expected": f"echo: q{i}" if i % 2 else "other"} for i in range(6)]
    provider = fake_server.provider(kind)
    result = await run_experiment(
        ws, project.id, PROMPT, rows, ["ExactMatch"], provider=provider, model="gpt-4o-mini", concurrency=3
    )
    assert [r.scores["ExactMatch"] for r in result.rows] == [0.0, 1.0] * 3
    assert all(r.metrics["tokens"] > 0 for r in result.rows)
    fake_server.script(
        [
            {"text": "Paris"},  # the task's reply, then the judge's verdict
            {"tool_calls": [{"name": "select_choice", "arguments": {"reasons": "same", "choice": "C"}}]},
        ]
    )
    judged = await run_experiment(
        ws, project.id, PROMPT, rows[:1], ["Factuality"], provider=fake_server.provider(kind), concurrency=1
    )
    assert judged.rows[0].scores == {"Factuality": 1.0}
    body = fake_server.requests[-1].body
    assert "select_choice" in json.dumps(body["tools"])


def test_cost_estimate_prices_task_and_judges() -> None:
    from loop_tui.evals.estimate import estimate_eval_cost
    from loop_tui.evals.scorers import ExactMatch, Factuality

    prompt = PromptSpec.from_dict(
        {"messages": [{"role": "user", "content": "x" * 400 + "{{input.q}}"}], "params": {"max_tokens": 100}}
    )
    rows = [{"input": {"q": "y" * 400}, "expected": "z"}] * 10
    plain = estimate_eval_cost(prompt, rows, [ExactMatch()], model="gpt-4o-mini", trials=2)
    assert plain.calls == 20 and plain.completion_tokens == 2000
    assert plain.prompt_tokens == 20 * (800 // 4 + 4)
    assert plain.usd is not None and plain.usd > 0
    judged = estimate_eval_cost(
        prompt, rows, [Factuality(model="gpt-4o-mini")], model="gpt-4o-mini", trials=2
    )
    assert judged.calls == 40 and judged.usd > plain.usd
    unknown = estimate_eval_cost(prompt, rows, [], model="acme/unknown-model")
    assert unknown.usd is None and unknown.unpriced_models == ["acme/unknown-model"]


async def test_judge_without_a_key_fails_before_the_run(ws: Workspace) -> None:
    with pytest.raises(UserError, match="no API key"):
        await run_experiment(
            ws,
            "proj",
            PROMPT,
            "qa",
            ["Factuality"],
            provider=ScriptedProvider(answer),
            judge_model="gpt-4o-mini",
        )
    assert ws.objects("experiment", ws.project("proj").id) == []


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque thing>"


async def test_unstorable_scorer_metadata_keeps_the_row(ws: Workspace) -> None:
    # A scorer's metadata that JSON cannot represent is stored as its repr; the run and the row survive.
    def odd(output: Any) -> dict[str, Any]:
        return {"name": "odd", "score": 0.5, "metadata": {"thing": _Opaque()}}

    provider = ScriptedProvider(lambda m, t, p: "x")
    result = await run_experiment(ws, "proj", PROMPT, "qa", [odd], provider=provider, name="odd-run")
    assert len(result.rows) == 10 and all(r.scores == {"odd": 0.5} for r in result.rows)
    stored = ws.query(
        "SELECT output FROM experiment WHERE experiment_id = ? AND _span_type = 'score'", [result.experiment_id]
    )
    assert len(stored) == 10 and all("<opaque thing>" in r["output"] for r in stored)


async def test_concurrency_bounds_calls_in_flight_and_progress_may_be_async(ws: Workspace) -> None:
    in_flight = peak = 0

    class Counting(ScriptedProvider):
        async def stream(self, *args: Any, **kwargs: Any) -> Any:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                async for event in super().stream(*args, **kwargs):
                    yield event
            finally:
                in_flight -= 1

    seen: list[int] = []

    async def progress(event: Progress) -> None:
        await asyncio.sleep(0.001)
        seen.append(event.done)

    provider = Counting(lambda m, t, p: "x", latency=0.01)
    result = await run_experiment(
        ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=provider, concurrency=3, trials=2, on_progress=progress
    )
    assert len(result.rows) == 20 and peak == 3
    assert sorted(seen) == list(range(1, 21))  # every async progress call finished before the run returned
    assert [(r.index, r.trial) for r in result.rows] == [(i, t) for i in range(10) for t in range(2)]


async def test_a_failing_progress_callback_stops_the_run_and_keeps_what_finished(ws: Workspace) -> None:
    def progress(event: Progress) -> None:
        if event.done == 4:
            raise RuntimeError("progress display broke")

    provider = ScriptedProvider(lambda m, t, p: "x", latency=0.01)
    with pytest.raises(RuntimeError, match="progress display broke"):
        await run_experiment(
            ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=provider, concurrency=2, name="broke",
            on_progress=progress,
        )
    exp = ws.get_object("experiment", ws.project("proj").id, "broke")
    assert exp.data["status"] == "failed"
    assert 4 <= _stored_rows(ws, exp.id) < 10 and _stored_rows(ws, exp.id) == exp.data["row_count"]


def _stored_rows(ws: Workspace, experiment_id: str) -> int:
    return ws.query("SELECT count(*) AS n FROM experiment WHERE experiment_id = ? AND is_root", [experiment_id])[0]["n"]


def _bigger_dataset(ws: Workspace, rows: int) -> None:
    project = ws.project("proj")
    ds = ws.save_object("dataset", project.id, "big", {})
    ws.insert_rows("dataset", ds.id, [{"input": {"q": f"q{i}"}, "expected": "x"} for i in range(rows)], project_id=project.id)


async def test_an_async_progress_callback_that_fails_stops_the_run(ws: Workspace) -> None:
    async def progress(event: Progress) -> None:
        if event.done == 2:
            raise RuntimeError("async progress broke")

    provider = ScriptedProvider(lambda m, t, p: "x", latency=0.01)
    with pytest.raises(RuntimeError, match="async progress broke"):
        await run_experiment(ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=provider, concurrency=1,
                             name="async-broke", on_progress=progress)
    exp = ws.get_object("experiment", ws.project("proj").id, "async-broke")
    assert exp.data["status"] == "failed" and exp.data["row_count"] == _stored_rows(ws, exp.id) < 10


async def test_a_failed_background_write_is_retried_and_loses_nothing(ws: Workspace, monkeypatch) -> None:
    _bigger_dataset(ws, 300)
    attempts: list[int] = []
    write = ws.append_batch

    def flaky(batch, *args, **kwargs):
        attempts.append(len(batch))
        if len(attempts) == 1:
            raise OSError("disk full (simulated)")
        return write(batch, *args, **kwargs)

    monkeypatch.setattr(ws, "append_batch", flaky)
    provider = ScriptedProvider(lambda m, t, p: "x", latency=0.002)
    result = await run_experiment(ws, "proj", PROMPT, "big", ["ExactMatch"], provider=provider, concurrency=4,
                                  name="flaky")
    exp = ws.get_object("experiment", ws.project("proj").id, "flaky")
    assert len(attempts) >= 2 and len(result.rows) == 300
    assert (exp.data["status"], exp.data["row_count"], _stored_rows(ws, exp.id)) == ("completed", 300, 300)


async def test_cancelling_twice_during_a_slow_write_still_records_what_is_stored(ws: Workspace, monkeypatch) -> None:
    import threading

    from loop_tui.evals.span_writer import SpanWriter

    _bigger_dataset(ws, 300)
    started, release = threading.Event(), threading.Event()
    write = ws.append_batch

    def slow(batch, *args, **kwargs):
        if threading.current_thread() is not threading.main_thread():  # the background write, not the end's
            started.set()
            assert release.wait(timeout=60), "the test never let the background write finish"
        return write(batch, *args, **kwargs)

    ending = asyncio.Event()  # the run is ending and waits for the background write
    wait_for_writer = SpanWriter.wait_for_writer

    async def noted_wait(self: SpanWriter) -> None:
        ending.set()
        await wait_for_writer(self)

    monkeypatch.setattr(ws, "append_batch", slow)
    monkeypatch.setattr(SpanWriter, "wait_for_writer", noted_wait)
    provider = ScriptedProvider(lambda m, t, p: "x", latency=0.01)
    task = asyncio.ensure_future(run_experiment(ws, "proj", PROMPT, "big", ["ExactMatch"], provider=provider,
                                                concurrency=4, name="twice"))
    try:
        assert await asyncio.to_thread(started.wait, 30), "the run never started a background write"
        task.cancel()
        await asyncio.wait_for(ending.wait(), timeout=30)  # (raises TimeoutError if the run never ends)
        task.cancel()  # a second ctrl+g while the run is ending, its write still under way
    finally:
        release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    exp = ws.get_object("experiment", ws.project("proj").id, "twice")
    assert exp.data["status"] == "cancelled"
    assert 0 < exp.data["row_count"] == _stored_rows(ws, exp.id) < 300


async def test_scorers_sharing_a_name_keep_their_own_outcomes(ws: Workspace) -> None:
    def make(value: float) -> Any:
        async def graded(output: Any) -> dict[str, Any]:
            return {"name": f"graded-{value}", "score": value}

        return graded

    provider = ScriptedProvider(lambda m, t, p: "x")
    result = await run_experiment(ws, "proj", PROMPT, "qa", [make(0.25), make(0.75)], provider=provider)
    assert result.rows[0].scores == {"graded-0.25": 0.25, "graded-0.75": 0.75}


async def test_metadata_with_odd_keys_and_cycles_is_stored(ws: Workspace) -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop

    def odd(output: Any) -> dict[str, Any]:
        return {"name": "odd", "score": 1.0, "metadata": {("a", "b"): 1, "loop": loop}}

    provider = ScriptedProvider(lambda m, t, p: "x")
    result = await run_experiment(ws, "proj", PROMPT, "qa", [odd], provider=provider, name="odd-keys")
    exp = ws.get_object("experiment", ws.project("proj").id, "odd-keys")
    assert len(result.rows) == 10 and exp.data["status"] == "completed"
    outputs = ws.query("SELECT output FROM experiment WHERE experiment_id = ? AND _span_type = 'score'", [exp.id])
    assert len(outputs) == 10 and all("<cycle>" in r["output"] and "('a', 'b')" in r["output"] for r in outputs)


async def test_a_rerun_repeats_the_run_as_it_was(ws: Workspace) -> None:
    from loop_tui.evals.rerun import plan_rerun, rerun_experiment

    project = ws.project("proj")
    ws.save_object("scorer", project.id, "short", {"type": "code", "code": "def handler(output):\n    return len(output) < 3"})
    provider = ScriptedProvider(lambda m, t, p: "ok")
    first = await run_experiment(ws, "proj", PROMPT, "qa", ["short", "ExactMatch"], provider=provider, trials=2,
                                 name="first")
    # Everything the run depended on changes afterwards: the dataset gains, loses and edits rows, and the
    # project's scorer is rewritten.
    ds = ws.get_object("dataset", project.id, "qa")
    rows = {r["input"]: r["id"] for r in ws.query("SELECT id, input FROM dataset WHERE dataset_id = ?", [ds.id])}
    ws.insert_rows("dataset", ds.id, [{"input": {"q": "new"}, "expected": "x"}], project_id=project.id)
    ws.delete_rows("dataset", ds.id, [rows['{"q":"q0"}']], project_id=project.id)
    ws.update_rows("dataset", ds.id, [{"id": rows['{"q":"q1"}'], "input": {"q": "edited"}}], project_id=project.id)
    ws.save_object("scorer", project.id, "short", {"type": "code", "code": "def handler(output):\n    return 0.0"},
                   id=ws.get_object("scorer", project.id, "short").id)

    plan = plan_rerun(ws, "proj", "first", provider=provider)
    assert plan.notes == [] and plan.trials == 2 and plan.base == first.experiment_id
    again = await rerun_experiment(ws, "proj", "first", provider=provider)
    assert again.name == "first-rerun" and again.base_id == first.experiment_id
    assert [(r.input, r.trial) for r in again.rows] == [(r.input, r.trial) for r in first.rows]  # the old rows
    assert all(r.scores == {"short": 1.0, "ExactMatch": 0.0} for r in again.rows)  # the old scorer code
    exp = ws.get_object("experiment", project.id, again.name)
    assert exp.data["dataset_version"] == ws.get_object("experiment", project.id, "first").data["dataset_version"]
    assert exp.data["metadata"]["rerun_of"] == first.experiment_id

    swapped = await rerun_experiment(ws, "proj", "first", provider=provider, model="gpt-4.1")
    assert swapped.name == "first-rerun-2"
    assert ws.get_object("experiment", project.id, swapped.name).data["model"] == "gpt-4.1"


async def test_what_cannot_be_rerun_says_why(ws: Workspace) -> None:
    from loop_tui.evals.rerun import plan_rerun

    provider = ScriptedProvider(lambda m, t, p: "ok")
    await run_experiment(ws, "proj", PROMPT, [{"input": {"q": "x"}}], ["ExactMatch"], provider=provider, name="inline")
    with pytest.raises(UserError, match="rows given in code"):
        plan_rerun(ws, "proj", "inline")


async def test_rerun_of_an_older_experiment_pins_what_it_used_and_explains(ws: Workspace) -> None:
    from loop_tui.evals.rerun import plan_rerun, rerun_experiment

    project = ws.project("proj")
    # A project scorer that overrides a built-in's name.
    ws.save_object("scorer", project.id, "ExactMatch", {"type": "code", "code": "def handler(output):\n    return 0.5"})
    provider = ScriptedProvider(lambda m, t, p: "ok")
    await run_experiment(ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=provider, name="old", row_timeout_s=7)
    old = ws.get_object("experiment", project.id, "old")
    assert old.data["metadata"]["timeout_s"] == 7
    legacy = {k: v for k, v in old.data.items() if k not in ("dataset_version", "scorer_definitions", "judge_model")}
    ws.save_object("experiment", project.id, "old", legacy, id=old.id)  # as an older version recorded it

    plan = plan_rerun(ws, "proj", "old")
    assert plan.timeout_s == 7 and any("dataset version" in n for n in plan.notes)
    assert any("'ExactMatch' is used as it is now" in n for n in plan.notes)
    first = await rerun_experiment(ws, "proj", "old", provider=provider)
    assert first.rows[0].scores == {"ExactMatch": 0.5}
    # The re-run pinned the project's definition, so re-running it again keeps the override.
    again = await rerun_experiment(ws, "proj", first.name, provider=provider)
    assert again.rows[0].scores == {"ExactMatch": 0.5}


async def test_a_deleted_dataset_or_a_code_scorer_cannot_be_rerun(ws: Workspace) -> None:
    from loop_tui.evals.rerun import plan_rerun

    provider = ScriptedProvider(lambda m, t, p: "ok")

    def my_scorer(output: Any) -> float:
        return 1.0

    await run_experiment(ws, "proj", PROMPT, "qa", [my_scorer], provider=provider, name="coded")
    with pytest.raises(UserError, match="a scorer given in code"):
        plan_rerun(ws, "proj", "coded")
    ds = ws.get_object("dataset", ws.project("proj").id, "qa")
    ws.delete_object(ds.id)
    with pytest.raises(UserError, match="ran on the dataset 'qa', which was deleted"):
        plan_rerun(ws, "proj", "coded")


async def test_a_run_whose_process_died_shows_as_interrupted(ws: Workspace) -> None:
    import subprocess
    import sys

    from loop_tui.evals.experiments import list_experiments, run_status

    provider = ScriptedProvider(lambda m, t, p: "ok")
    await run_experiment(ws, "proj", PROMPT, "qa", ["ExactMatch"], provider=provider, name="done")
    exp = ws.get_object("experiment", ws.project("proj").id, "done")
    assert run_status(exp.data) == "completed"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = {**exp.data, "status": "running", "runner": {**exp.data["runner"], "pid": int(gone.stdout)}}
    assert run_status(dead) == "interrupted"
    alive = {**dead, "runner": {**dead["runner"], "pid": exp.data["runner"]["pid"]}}  # this test's own process
    assert run_status(alive) == "running"
    ws.save_object("experiment", exp.project_id, "done", dead, id=exp.id)
    assert [e["status"] for e in list_experiments(ws, "proj")] == ["interrupted"]
