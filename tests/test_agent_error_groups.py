"""Errors grouped by the exception they report: tracebacks of one RateLimitError are one group with an
example, on Loop's logs summary as in the unit functions (one grouping for every caller)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from loop_tui.agent import PageContext
from loop_tui.agent.tools.error_groups import exception_line, group_errors, signature
from tests.test_agent_tools import _run

RATE_LIMIT_TRACE = """Traceback (most recent call last):
  File "/srv/app/{dir}/handler.py", line {line}, in answer
    reply = client.chat.completions.create(model="{model}", messages=messages)
  File "/usr/lib/python3.11/site-packages/openai/_base_client.py", line 1027, in _request
    raise self._make_status_error_from_response(err.response) from None
openai.RateLimitError: Error code: 429 - rate limit reached for {model} in organization org-{org} on tokens per min"""

TIMEOUT_TRACE = """Traceback (most recent call last):
  File "/srv/app/retrieve.py", line {line}, in search
    hits = index.query(vector, top_k=8)
TimeoutError: vector index did not answer within {secs} s"""


def test_the_exception_line_of_a_traceback_and_a_plain_error():
    trace = RATE_LIMIT_TRACE.format(dir="a", line=12, model="gpt-4o", org="x1")
    assert exception_line(trace).startswith("openai.RateLimitError: Error code: 429")
    assert exception_line("ValueError: bad input\nmore detail") == "ValueError: bad input"
    chained = trace + "\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"x.py\", line 3, in f\nRuntimeError: gave up after 3 tries"
    assert signature(chained) == ("RuntimeError", "gave up after ‹n› tries")


def test_variants_that_differ_in_numbers_ids_paths_and_models_are_one_group():
    rows = [
        {"error": RATE_LIMIT_TRACE.format(dir="v1", line=12, model="gpt-4o", org="a81f"), "n": 5},
        {"error": RATE_LIMIT_TRACE.format(dir="v2", line=40, model="gpt-4o-mini", org="9c2e"), "n": 3},
        {"error": "RateLimitError: Error code: 429 - rate limit reached for claude-3-5-sonnet in organization org-1 on tokens per min", "n": 2},
        {"error": TIMEOUT_TRACE.format(line=7, secs=30), "n": 4},
        {"error": json.dumps(TIMEOUT_TRACE.format(line=9, secs=45)), "n": 1},  # JSON text, as the store keeps it
        {"error": "KeyError: 'user_id'", "n": 1},
    ]
    groups = group_errors(rows)
    assert [(g.type, g.count, g.variants) for g in groups] == [
        ("RateLimitError", 10, 3), ("TimeoutError", 5, 2), ("KeyError", 1, 1)]
    assert groups[0].example == rows[0]["error"]  # the most frequent variant is the example, in full
    assert groups[0].title == "RateLimitError: Error code: ‹n› - rate limit reached for ‹n› in organization ‹n› on tokens per min"
    assert "Traceback" not in groups[1].title


def _log_rows(now: datetime) -> list[dict]:
    rows = []
    specs = [(RATE_LIMIT_TRACE.format(dir=f"d{i}", line=10 + i, model=m, org=f"{i:04x}"), m)
             for i, m in enumerate(["gpt-4o", "gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet", "gpt-4o", "gpt-4o-mini"])]
    specs += [(TIMEOUT_TRACE.format(line=5 + i, secs=20 + i), "gpt-4o") for i in range(3)]
    specs += [(None, "gpt-4o")] * 4
    for i, (error, model) in enumerate(specs):
        rid = f"req-{i}"
        start = (now - timedelta(hours=i + 1)).timestamp()
        rows.append({"id": rid, "span_id": rid, "root_span_id": rid, "created": (now - timedelta(hours=i + 1)).isoformat(),
                     "input": {"question": f"q{i}"}, "output": None if error else "ok", "error": error,
                     "metadata": {"model": model}, "metrics": {"start": start, "end": start + 1 + i},
                     "span_attributes": {"name": "chat", "type": "task"}})
    return rows


def traced_workspace(ws):
    """A new project whose logs (relative to the app's clock) hold traceback errors: 6 rate limits, 3 timeouts."""
    from loop_tui import clock

    project = ws.create_project("traced")
    ws.insert_rows("project_logs", project.id, _log_rows(clock.now()), project_id=project.id)
    return project


async def test_logs_summary_groups_tracebacks_by_exception_with_an_example(sample_ws):
    traced_workspace(sample_ws)
    page = PageContext(page="logs", project="traced")
    _, provider = await _run(sample_ws, [("get_summarized_results", {})], page)
    data = json.loads(provider.tool_results(1)["get_summarized_results"])
    top = data["top_errors"]
    assert [(g["type"], g["count"]) for g in top] == [("RateLimitError", 6), ("TimeoutError", 3)]
    assert top[0]["example"].startswith("Traceback (most recent call last)")
    assert "openai.RateLimitError" in top[0]["example"]
    assert data["requests"] == 13 and data["requests_with_errors"] == 9
    assert any("dimensions: error" in q for q in data["queries"])  # the real query behind the groups


async def test_logs_summary_takes_a_btql_filter(sample_ws):
    traced_workspace(sample_ws)
    page = PageContext(page="logs", project="traced")
    _, provider = await _run(sample_ws, [("get_summarized_results", {"filter": "created > now() - interval 4 hour"})], page)
    data = json.loads(provider.tool_results(1)["get_summarized_results"])
    assert data["requests"] == 3 and data["filter"] == "created > now() - interval 4 hour"
    _, provider = await _run(sample_ws, [("get_summarized_results", {"filter": "metdata.model = 'x'"})], page)
    assert "Unknown field" in provider.tool_results(1)["get_summarized_results"]


async def test_btql_query_groups_errors_for_any_model(sample_ws):
    """The tool a language model uses gets the same groups as the logs summary."""
    traced_workspace(sample_ws)
    page = PageContext(page="logs", project="traced")
    query = "dimensions: error | measures: count(1) as n, max(created) as last_seen, min(id) as example_id | filter: error != null"
    _, provider = await _run(sample_ws, [("btql_query", {"query": query, "group_errors": True})], page)
    data = json.loads(provider.tool_results(1)["btql_query"])
    assert data["distinct_errors"] == 9 and data["error_groups"] == 2
    assert [(g["type"], g["count"], g["variants"]) for g in data["groups"]] == [("RateLimitError", 6, 6), ("TimeoutError", 3, 3)]
    _, provider = await _run(sample_ws, [("btql_query", {"query": "select: id | limit: 3", "group_errors": True})], page)
    assert "group_errors needs a query with `dimensions: error`" in provider.tool_results(1)["btql_query"]
