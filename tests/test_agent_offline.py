"""The offline model's workflows on a generated sample workspace: real tool calls, answers that match
the data, honest refusals, and determinism."""

from __future__ import annotations

import re

import pytest

from loop_tui.agent import Agent, Conversation, PageContext, TextDelta, ToolStarted
from loop_tui.config import Settings


@pytest.fixture(scope="module")
def demo_ws():
    """A generated workspace in a private temp dir: pytest's own basetemp can be pruned by concurrent
    pytest sessions on a shared machine while a module-scoped fixture is still in use."""
    import tempfile
    from pathlib import Path

    from loop_tui.store import Workspace
    from loop_tui.store.demo import generate

    with tempfile.TemporaryDirectory(prefix="loop-agent-offline-") as tmp:
        generate(Path(tmp) / "ws", spans=3000, seed=11)
        yield Workspace.open(Path(tmp) / "ws")


async def ask(ws, question, settings=None, **page):
    agent = Agent(ws, settings or Settings(), model="offline", save=False)
    conv = Conversation()
    conv.add_user(question)
    text, tools = [], []
    async for event in agent.run(conv, PageContext(**page)):
        if isinstance(event, TextDelta):
            text.append(event.text)
        elif isinstance(event, ToolStarted):
            tools.append((event.call.name, event.call.arguments))
    return "".join(text), tools


def _pid(ws):
    return ws.project("support-bot").id


async def test_most_common_errors(demo_ws):
    text, tools = await ask(demo_ws, "What are the most common errors?", page="logs", project="support-bot")
    assert [t[0] for t in tools] == ["btql_query"]
    top = demo_ws.query("SELECT error, count(*) AS n FROM project_logs WHERE project_id = ? AND error IS NOT NULL "
                        "GROUP BY 1 ORDER BY 2 DESC LIMIT 1", [_pid(demo_ws)])[0]
    assert f"({top['n']:,} spans)" in text


async def test_error_rate_by_model(demo_ws):
    text, _ = await ask(demo_ws, "error rate by model", page="logs", project="support-bot")
    row = demo_ws.query("SELECT count(*) AS n, count(*) FILTER (WHERE error IS NOT NULL) AS e FROM project_logs "
                        "WHERE project_id = ? AND is_root", [_pid(demo_ws)])[0]
    assert f"{100 * row['e'] / row['n']:.1f}%" in text and f"{row['e']:,} of {row['n']:,} requests" in text


async def test_token_usage_by_day(demo_ws):
    text, tools = await ask(demo_ws, "token usage per day", page="logs", project="support-bot")
    assert "day(created)" in tools[0][1]["query"]
    days = demo_ws.query("SELECT count(DISTINCT date_trunc('day', created)) AS d FROM project_logs WHERE project_id = ? AND is_root",
                         [_pid(demo_ws)])[0]["d"]
    assert len(re.findall(r"^\| \d{4}-\d\d-\d\d", text, re.M)) == days


async def test_slowest_requests(demo_ws):
    text, _ = await ask(demo_ws, "show me the slowest requests", page="logs", project="support-bot")
    slowest = demo_ws.query("SELECT max(metrics['end'] - metrics['start']) AS d FROM project_logs WHERE project_id = ? AND is_root",
                            [_pid(demo_ws)])[0]["d"]
    assert f"took {slowest:,.2f} s" in text


async def test_find_rows_like(demo_ws):
    text, tools = await ask(demo_ws, 'find requests about "refund"', page="logs", project="support-bot")
    assert "search('refund')" in tools[0][1]["query"]
    assert "mention “refund”" in text and "refund" in text.lower().split("\n", 2)[2]


async def test_summarise_and_regressions_on_experiments(demo_ws):
    exp = next(e for e in demo_ws.objects("experiment", _pid(demo_ws)) if e.data.get("base_experiment_id"))
    base = demo_ws.object_by_id(exp.data["base_experiment_id"])
    text, tools = await ask(demo_ws, "summarize this experiment", page="experiments", project="support-bot", experiment_id=exp.id)
    mean = demo_ws.query("SELECT avg(scores['Factuality']) AS m FROM experiment WHERE experiment_id = ? AND is_root", [exp.id])[0]["m"]
    assert exp.name in text and base.name in text and f"{mean:.3f}" in text
    text, _ = await ask(demo_ws, "what regressed?", page="experiments", project="support-bot", experiment_id=exp.id)
    assert "regressed" in text


async def test_summarise_dataset_and_playground(demo_ws):
    ds = demo_ws.get_object("dataset", _pid(demo_ws), "support-golden")
    n = demo_ws.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [ds.id])[0]["n"]
    text, _ = await ask(demo_ws, "give me an overview", page="datasets", project="support-bot", dataset_id=ds.id)
    assert f"**support-golden** has {n} rows" in text
    text, _ = await ask(demo_ws, "summarize the playground", page="playground", project="support-bot")
    assert "Playground **support-playground**" in text


async def test_fix_and_explain_btql(demo_ws):
    query = "select: id | from: project_logs('support-bot') | filter: scores.Factualty > 0.5 | limit: 5"
    text, tools = await ask(demo_ws, "why does this fail? fix it", page="btql", project="support-bot", btql_query=query)
    assert [t[0] for t in tools] == ["run_btql", "run_btql"]
    assert "scores.Factuality > 0.5" in tools[1][1]["query"] and "It now runs and returns 5 rows" in text
    text, _ = await ask(demo_ws, "explain this query", page="btql", project="support-bot",
                        btql_query="dimensions: metadata.model as model | measures: count(1) as n | from: project_logs('support-bot')")
    groups = demo_ws.query("SELECT count(DISTINCT coalesce(_meta_model, '')) AS n FROM project_logs WHERE project_id = ?",
                           [_pid(demo_ws)])[0]["n"]
    assert "groups the rows by `metadata.model as model`" in text and f"returns {groups} rows" in text


async def test_docs_question(demo_ws):
    text, tools = await ask(demo_ws, "How do I disable a tool?", page="settings")
    assert tools[0][0] == "search_docs" and "From the Loop TUI documentation" in text


async def test_anything_else_is_an_honest_refusal(demo_ws):
    text, tools = await ask(demo_ws, "write a haiku about my users", page="logs", project="support-bot")
    assert tools == [] and "not a language model" in text and "OPENAI_API_KEY" in text


async def test_disabled_tool_is_named_not_worked_around(demo_ws):
    settings = Settings()
    settings.tools.disabled = ["btql_query"]
    text, tools = await ask(demo_ws, "most common errors", settings=settings, page="logs", project="support-bot")
    assert tools == [] and "`btql_query` tool" in text


async def test_offline_answers_are_deterministic(demo_ws):
    first = await ask(demo_ws, "error rate by day", page="logs", project="support-bot")
    second = await ask(demo_ws, "error rate by day", page="logs", project="support-bot")
    assert first == second


@pytest.mark.parametrize(
    "question,tool",
    [
        ("What is the error rate by model?", "btql_query"),  # a data question phrased as "what is" is answered from data
        ("what's the token usage by day?", "btql_query"),
        ("What is BTQL?", "search_docs"),  # a definition still goes to the docs
        ("How do I create a code scorer?", "search_docs"),
    ],
)
async def test_what_is_questions_go_to_data_before_docs(demo_ws, question, tool):
    _, tools = await ask(demo_ws, question, page="logs", project="support-bot")
    assert [t[0] for t in tools] == [tool]


# ----- fixing a query: only spelling fixes, never a doubled colon or a changed meaning ------------------
async def test_fix_of_a_misspelled_clause_does_not_double_its_colon(demo_ws):
    query = "selec: id | from: project_logs('support-bot') | limit: 3"
    text, tools = await ask(demo_ws, "fix this query", page="btql", project="support-bot", btql_query=query)
    assert tools[1][1]["query"] == "select: id | from: project_logs('support-bot') | limit: 3"
    assert "select::" not in text and "It now runs and returns 3 rows" in text


async def test_fix_keeps_the_path_the_user_asked_for(demo_ws):
    query = "select: metdata.model | from: project_logs('support-bot') | limit: 3"
    text, tools = await ask(demo_ws, "fix this query", page="btql", project="support-bot", btql_query=query)
    assert tools[1][1]["query"] == "select: metadata.model | from: project_logs('support-bot') | limit: 3"
    assert "select: metadata |" not in text


def test_a_hint_that_changes_the_meaning_is_not_applied():
    from loop_tui.agent.offline.btql_fix import fix_from_error

    error = "Error: BTQL bind error (unknown_field) at line 1, col 9: Unknown field `zzq.model`. Hint: Did you mean `metadata`?"
    assert fix_from_error("select: zzq.model | from: project_logs('p')", error) is None
    shorter = "Error: BTQL bind error (unknown_field) at line 1, col 9: Unknown field `metadata.modle`. Hint: Did you mean `metadata`?"
    assert fix_from_error("select: metadata.modle | from: project_logs('p')", shorter) is None  # drops .modle: no fix
