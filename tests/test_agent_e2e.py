"""End to end against the fake model server, both wire formats: the model calls tools on every page and
the tool results it receives (read back from the HTTP requests) are checked against the sample data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from loop_tui.agent import Agent, Conversation, Decision, PageContext, ToolFinished, TurnFinished
from loop_tui.config import Settings

KINDS = ["openai", "anthropic"]
MODELS = {"openai": "openai/gpt-4o-mini", "anthropic": "anthropic/claude-3-5-sonnet"}


def wire_tool_results(body: dict[str, Any]) -> dict[str, list[str]]:
    """Tool name -> result texts in one recorded request body (OpenAI or Anthropic messages)."""
    names: dict[str, str] = {}
    out: dict[str, list[str]] = {}
    for msg in body["messages"]:
        content = msg.get("content")
        for call in msg.get("tool_calls") or []:  # OpenAI
            names[call["id"]] = call["function"]["name"]
        if msg.get("role") == "tool":
            out.setdefault(names[msg["tool_call_id"]], []).append(msg["content"])
        if isinstance(content, list):  # Anthropic blocks
            for block in content:
                if block.get("type") == "tool_use":
                    names[block["id"]] = block["name"]
                elif block.get("type") == "tool_result":
                    text = block["content"] if isinstance(block["content"], str) else "".join(
                        b.get("text", "") for b in block["content"])
                    out.setdefault(names[block["tool_use_id"]], []).append(text)
    return out


async def _converse(server, kind, ws, page, calls, settings=None, answer=Decision.ACCEPT, after_tool=None):
    server.script([{"tool_calls": [{"name": n, "arguments": a} for n, a in calls]}])
    if after_tool is None:
        server.script([{"text": "Here is what I found."}])
    agent = Agent(ws, settings or Settings(), provider=server.provider(kind), model=MODELS[kind])
    conv = Conversation()
    conv.add_user("please look")
    events = []
    async for event in agent.run(conv, page):
        events.append(event)
        if hasattr(event, "resolve"):
            event.resolve(answer)
        if isinstance(event, ToolFinished) and event.call.name == after_tool:
            server.script([{"text": "Here is what I found."}])
    assert isinstance(events[-1], TurnFinished), events[-1]
    body = server.requests[-1].body
    return events, {name: [_json(t) for t in texts] for name, texts in wire_tool_results(body).items()}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@pytest.mark.parametrize("kind", KINDS)
async def test_logs_page_overview_and_query(fake_server, sample_ws, kind):
    pid = sample_ws.project("support-bot").id
    page = PageContext(page="logs", project="support-bot")
    _, results = await _converse(fake_server, kind, sample_ws, page, [
        ("get_summarized_results", {}),
        ("btql_query", {"query": "dimensions: error | measures: count(1) as n | filter: error IS NOT NULL | sort: n desc | limit: 3"}),
    ])
    overview = results["get_summarized_results"][0]
    truth = sample_ws.query(
        "SELECT count(*) FILTER (WHERE is_root) AS requests, count(DISTINCT root_span_id) FILTER (WHERE error IS NOT NULL) AS bad "
        "FROM project_logs WHERE project_id = ?", [pid])[0]
    assert overview["requests"] == truth["requests"] and overview["requests_with_errors"] == truth["bad"]
    top = sample_ws.query(
        "SELECT error, count(*) AS n FROM project_logs WHERE project_id = ? AND error IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1", [pid])[0]
    rows = results["btql_query"][0]["rows"]
    assert rows[0][1] == top["n"] and len(rows) == 3


@pytest.mark.parametrize("kind", KINDS)
async def test_experiments_page_summary_and_filtered_rows(fake_server, sample_ws, kind):
    pid = sample_ws.project("support-bot").id
    exp = sample_ws.get_object("experiment", pid, "prompt-v2-gpt-4o-mini")
    page = PageContext(page="experiments", project="support-bot", experiment_id=exp.id)
    _, results = await _converse(fake_server, kind, sample_ws, page, [
        ("get_summarized_results", {}),
        ("get_detailed_results", {"filter": "scores.Factuality < 0.5", "limit": 100}),
    ])
    summary = results["get_summarized_results"][0]
    mean = sample_ws.query("SELECT avg(scores['Factuality']) AS m FROM experiment WHERE experiment_id = ? AND is_root", [exp.id])[0]["m"]
    assert summary["experiment"]["name"] == exp.name
    assert summary["scores"]["Factuality"]["mean"] == pytest.approx(mean, abs=1e-3)
    detail = results["get_detailed_results"][0]
    low = sample_ws.query("SELECT count(*) AS n FROM experiment WHERE experiment_id = ? AND is_root AND scores['Factuality'] < 0.5", [exp.id])[0]["n"]
    assert detail["count"] == low and all(r["scores"]["Factuality"] < 0.5 for r in detail["rows"])


@pytest.mark.parametrize("kind", KINDS)
async def test_datasets_page_stats_and_accepted_edit(fake_server, sample_ws, kind):
    pid = sample_ws.project("support-bot").id
    ds = sample_ws.get_object("dataset", pid, "escalations")
    before = sample_ws.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [ds.id])[0]["n"]
    page = PageContext(page="datasets", project="support-bot", dataset_id=ds.id)
    _, results = await _converse(fake_server, kind, sample_ws, page, [
        ("get_summarized_results", {}),
        ("edit_data", {"operations": [{"op": "add", "input": {"question": "Can I talk to a person?"}, "tags": ["escalation"]}]}),
    ])
    assert results["get_summarized_results"][0]["rows"] == before
    assert results["edit_data"][0]["undo_xact_ids"]
    assert sample_ws.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [ds.id])[0]["n"] == before + 1


@pytest.mark.parametrize("kind", KINDS)
async def test_playground_run_eval_reports_summary(fake_server_env, sample_ws, kind):
    pid = sample_ws.project("support-bot").id
    pg = sample_ws.objects("playground", pid)[0]
    page = PageContext(page="playground", project="support-bot", playground_id=pg.id)
    events, results = await _converse(
        fake_server_env, kind, sample_ws, page,
        [("get_summarized_results", {}), ("run_eval", {"scorers": ["Levenshtein", "answer-length"]})],
        after_tool="run_eval",
    )
    confirm = next(e for e in events if hasattr(e, "preview"))
    assert confirm.preview.kind == "eval" and confirm.preview.details["rows"] == 40
    assert confirm.preview.details["estimated_cost_usd"] > 0
    assert results["get_summarized_results"][0]["prompt"]["model"] == "gpt-4o-mini"
    run = results["run_eval"][0]
    assert run["rows"] == 40 and set(run["scores"]) == {"Levenshtein", "answer-length"}
    new = sample_ws.get_object("experiment", pid, run["experiment"]["id"])
    assert new.data["metadata"]["playground_id"] == pg.id


@pytest.mark.parametrize("kind", KINDS)
async def test_btql_page_error_hint_and_schema(fake_server, sample_ws, kind):
    page = PageContext(page="btql", project="support-bot")
    _, results = await _converse(fake_server, kind, sample_ws, page, [
        ("run_btql", {"query": "select: metadata.modle | from: project_logs('support-bot') | limit: 1"}),
        ("infer_schema", {"source": "project_logs('support-bot')"}),
    ])
    error = results["run_btql"][0]
    assert "unknown_field" in error and "metadata.model" in error and "line 1, col 9" in error
    paths = {f["path"] for f in results["infer_schema"][0]["fields"]}
    assert {"metadata.model", "scores.Factuality", "metrics.tokens"} <= paths


async def test_run_eval_confirmation_names_the_base_it_really_compares_with(fake_server_env, sample_ws):
    """A playground's first run still compares with the newest experiment on its dataset: the confirmation says so."""
    pid = sample_ws.project("support-bot").id
    source = sample_ws.objects("playground", pid)[0]
    pg = sample_ws.save_object("playground", pid, "first-run", {**source.data})
    newest_on_dataset = next(e for e in sample_ws.objects("experiment", pid)
                             if e.data.get("dataset_id") == pg.data["dataset_id"])
    page = PageContext(page="playground", project="support-bot", playground_id=pg.id)
    events, results = await _converse(fake_server_env, "openai", sample_ws, page,
                                      [("run_eval", {"scorers": ["Levenshtein"]})], after_tool="run_eval")
    confirm = next(e for e in events if hasattr(e, "preview"))
    assert "nothing (first run)" not in confirm.preview.text
    assert f"compare with: {newest_on_dataset.name}" in confirm.preview.text
    assert confirm.preview.details["base_experiment"] == newest_on_dataset.name
    run = sample_ws.get_object("experiment", pid, results["run_eval"][0]["experiment"]["id"])
    assert run.data["base_experiment_id"] == newest_on_dataset.id
