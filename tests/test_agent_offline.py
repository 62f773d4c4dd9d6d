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
    assert [t[0] for t in tools] == ["btql_query"] and tools[0][1]["group_errors"] is True
    # Grouped by exception type (the sample's messages differ only in values), counted independently here.
    top = demo_ws.query("SELECT split_part(json_extract_string(error, '$'), ':', 1) AS kind, count(*) AS n "
                        "FROM project_logs WHERE project_id = ? AND error IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 "
                        "LIMIT 1", [_pid(demo_ws)])[0]
    assert f"The most common error is **{top['kind']}:" in text and f"({top['n']:,} spans" in text


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


# ----- the questions a logs user asks most: each computed as asked, or declined -----------------------
@pytest.fixture(scope="module")
def recent_ws():
    """A generated workspace whose 30 days of logs end at the tests' "now" (the questions below are relative to it)."""
    import tempfile
    from pathlib import Path

    from loop_tui import clock
    from loop_tui.store import Workspace
    from loop_tui.store.demo import generate
    from tests.conftest import SAMPLE_NOW

    with tempfile.TemporaryDirectory(prefix="loop-agent-recent-") as tmp:
        # Ends at the tests' pinned "now" (LOOP_TUI_NOW), which BTQL's now() uses too.
        generate(Path(tmp) / "ws", spans=3000, seed=5, end=clock.parse_instant(SAMPLE_NOW, source="SAMPLE_NOW"))
        yield Workspace.open(Path(tmp) / "ws")


def _by_model(ws, select):
    return {r["model"]: r for r in ws.query(
        f"SELECT _meta_model AS model, {select} FROM project_logs WHERE project_id = ? AND is_root GROUP BY 1", [_pid(ws)])}


async def test_p95_latency_by_model_is_percentiles_not_a_list_of_requests(recent_ws):
    text, tools = await ask(recent_ws, "What's the p95 latency by model?", page="logs", project="support-bot")
    query = tools[0][1]["query"]
    assert "dimensions: metadata.model" in query and "percentile(metrics.end - metrics.start, 0.95)" in query
    p95 = _by_model(recent_ws, "quantile_cont(metrics['end'] - metrics['start'], 0.95) AS p95")
    slowest = max(p95, key=lambda m: p95[m]["p95"])
    assert f"the slowest model is **{slowest}** ({p95[slowest]['p95']:,.2f} s)" in text
    for model, row in p95.items():
        assert f"| {model} |" in text and f"{row['p95']:,.2f} s" in text


async def test_which_model_is_the_slowest_compares_models(recent_ws):
    text, tools = await ask(recent_ws, "which model is the slowest?", page="logs", project="support-bot")
    assert "dimensions: metadata.model" in tools[0][1]["query"]
    p95 = _by_model(recent_ws, "quantile_cont(metrics['end'] - metrics['start'], 0.95) AS p95")
    assert f"the slowest model is **{max(p95, key=lambda m: p95[m]['p95'])}**" in text


async def test_which_model_has_the_most_errors(recent_ws):
    text, tools = await ask(recent_ws, "which model has the most errors?", page="logs", project="support-bot")
    assert "sum(error != null ? 1 : 0) as errors" in tools[0][1]["query"]
    errors = _by_model(recent_ws, "count(*) FILTER (WHERE error IS NOT NULL) AS e, count(*) AS n")
    most = max(errors, key=lambda m: errors[m]["e"])
    assert f"Most errors: model **{most}** with {errors[most]['e']:,} failed requests" in text


async def test_most_common_inputs(recent_ws):
    text, tools = await ask(recent_ws, "what are the most common inputs?", page="logs", project="support-bot")
    assert tools[0][1]["query"].startswith("dimensions: input")
    top = recent_ws.query("SELECT count(*) AS n FROM project_logs WHERE project_id = ? AND is_root GROUP BY input "
                          "ORDER BY 1 DESC LIMIT 1", [_pid(recent_ws)])[0]["n"]
    assert f"The most common input was sent {top} times" in text


async def test_cost_by_model_names_the_most_expensive(recent_ws):
    text, _ = await ask(recent_ws, "cost by model", page="logs", project="support-bot")
    cost = _by_model(recent_ws, "sum(metrics['estimated_cost']) AS c")
    priciest = max(cost, key=lambda m: cost[m]["c"])
    assert f"The most expensive model is **{priciest}** at ${cost[priciest]['c']:,.4f}" in text


async def test_active_users_by_day(recent_ws):
    text, tools = await ask(recent_ws, "how many active users per day?", page="logs", project="support-bot")
    assert "count_distinct(metadata.user_id)" in tools[0][1]["query"] and "day(created)" in tools[0][1]["query"]
    days = recent_ws.query("SELECT date_trunc('day', created AT TIME ZONE 'UTC') AS d, count(DISTINCT _meta_user) AS u "
                           "FROM (SELECT *, json_extract_string(metadata, '$.user_id') AS _meta_user FROM project_logs) "
                           "WHERE project_id = ? AND is_root GROUP BY 1", [_pid(recent_ws)])
    assert len(re.findall(r"^\| \d{4}-\d\d-\d\d \|", text, re.M)) == len(days)
    assert f"the most was {max(d['u'] for d in days):,} on " in text


async def test_weekly_retention_counts_users_active_in_both_weeks(recent_ws):
    text, tools = await ask(recent_ws, "what is our weekly retention?", page="logs", project="support-bot")
    assert tools[0][1]["query"].startswith("dimensions: week(created)") and len(tools) >= 2
    weeks = recent_ws.query(
        "SELECT date_trunc('week', created AT TIME ZONE 'UTC') AS w, list(DISTINCT json_extract_string(metadata, '$.user_id')) AS users "
        "FROM project_logs WHERE project_id = ? AND is_root GROUP BY 1 ORDER BY 1", [_pid(recent_ws)])
    previous, last = set(weeks[-2]["users"]), set(weeks[-1]["users"])
    returned = len(previous & last)
    assert f"of the {len(previous):,} users active in the week before {weeks[-1]['w']:%Y-%m-%d}, {returned:,} came back" in text


@pytest.mark.parametrize("question", ["latency by prompt version", "cost per tenant", "which customer has the most errors?"])
async def test_a_grouping_it_does_not_know_is_declined_not_swapped(recent_ws, question):
    text, tools = await ask(recent_ws, question, page="logs", project="support-bot")
    assert tools == [] and "needs a language model" in text and "not by" in text


async def test_most_recent_errors_are_the_last_24_hours_newest_first(sample_ws):
    from tests.test_agent_error_groups import traced_workspace

    traced_workspace(sample_ws)  # errors 1 to 9 hours ago
    text, tools = await ask(sample_ws, "show the most recent errors", page="logs", project="traced")
    assert "created > now() - interval 1 day" in tools[0][1]["query"] and "sort: created desc" in tools[0][1]["query"]
    assert "9 failed requests in the last 24 hours" in text
    lines = [line for line in text.splitlines() if line.startswith("| 20")]
    assert len(lines) == 9 and lines == sorted(lines, reverse=True)
    assert "RateLimitError" in lines[0] and "Traceback" not in text  # each error by its exception line


async def test_most_common_errors_group_tracebacks_with_an_example(sample_ws):
    from tests.test_agent_error_groups import traced_workspace

    traced_workspace(sample_ws)
    text, _ = await ask(sample_ws, "what are the most common errors?", page="logs", project="traced")
    assert "The most common error is **RateLimitError: Error code: ‹n›" in text and "(6 spans, 6 distinct texts)" in text
    assert "| TimeoutError: vector index did not answer within ‹n› s | 3 |" in text
    assert "openai.RateLimitError: Error code: 429" in text  # the example's exception line


# ----- edits of the query on the BTQL page ------------------------------------------------------------
LATENCY_BY_MODEL = ("dimensions: metadata.model as model | measures: count(1) as n, avg(metrics.end - metrics.start) as "
                    "latency | from: project_logs('support-bot') | sort: latency desc")


@pytest.mark.parametrize(("query", "question", "expected"), [
    (LATENCY_BY_MODEL, "convert this to percentiles",
     "dimensions: metadata.model as model | measures: count(1) as n, percentile(metrics.end - metrics.start, 0.5) as "
     "latency_p50, percentile(metrics.end - metrics.start, 0.95) as latency_p95, percentile(metrics.end - metrics.start, "
     "0.99) as latency_p99 | from: project_logs('support-bot') | sort: latency_p95 desc"),
    ("select: id, metadata.model | from: project_logs('support-bot') | limit: 20",
     "filter out rows where metadata.model is null",
     "select: id, metadata.model | from: project_logs('support-bot') | limit: 20 | filter: metadata.model != null"),
    ("select: id, error | from: project_logs('support-bot') | filter: error != null | limit: 20",
     "add a filter for the last 7 days",
     "select: id, error | from: project_logs('support-bot') | filter: (error != null) and created > now() - interval 7 day "
     "| limit: 20"),
    ("select: count(1) as n, avg(scores.Factuality) as f | from: project_logs('support-bot') | filter: is_root",
     "group this by model",
     "dimensions: metadata.model as model | measures: count(1) as n, avg(scores.Factuality) as f | "
     "from: project_logs('support-bot') | filter: is_root"),
    ("SELECT id, error FROM project_logs('support-bot') LIMIT 5", "filter out rows where error is null",
     "SELECT id, error FROM project_logs('support-bot') WHERE error IS NOT NULL LIMIT 5"),
])
async def test_btql_page_edits_apply_to_the_query_on_screen(demo_ws, query, question, expected):
    text, tools = await ask(demo_ws, question, page="btql", project="support-bot", btql_query=query)
    assert tools == [("run_btql", {"query": expected})]
    assert f"```sql\n{expected}\n```" in text and "It runs and returns" in text


async def test_btql_page_edit_it_cannot_make_says_why(demo_ws):
    query = "select: id | from: project_logs('support-bot') | limit: 5"
    text, tools = await ask(demo_ws, "convert this to percentiles", page="btql", project="support-bot", btql_query=query)
    assert tools == [] and "no avg(…) to turn into percentiles" in text
    text, tools = await ask(demo_ws, "group this by tenant", page="btql", project="support-bot", btql_query=query)
    assert tools == [] and "group by “tenant”" in text


# ----- the README's list is what the offline model answers ---------------------------------------------
def _readme_questions() -> list[tuple[str, str]]:
    from tests.conftest import REPO

    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("built-in **offline model**"):]
    section = section[: section.index("\n\n", section.index("\n- "))]
    pages = {"Logs": "logs", "Experiments": "experiments", "Datasets": "datasets", "Playground": "playground",
             "BTQL": "btql", "Every page": "settings"}
    out = []
    for item in re.split(r"\n- ", section)[1:]:
        label, _, rest = item.partition(":")
        out += [(pages[label], q) for q in re.findall(r"\"([^\"]+)\"", rest.replace("\n  ", " "))]
    return out


README_QUESTIONS = _readme_questions()


def test_the_readme_lists_the_offline_questions():
    assert {page for page, _ in README_QUESTIONS} == {"logs", "experiments", "datasets", "playground", "btql", "settings"}
    assert len(README_QUESTIONS) > 25


@pytest.mark.parametrize(("page", "question"), README_QUESTIONS, ids=[f"{p}:{q}" for p, q in README_QUESTIONS])
async def test_every_question_in_the_readme_is_answered_with_tool_calls(recent_ws, page, question):
    context: dict = {"page": page, "project": "support-bot"}
    pid = _pid(recent_ws)
    if page == "experiments":
        context["experiment_id"] = next(e.id for e in recent_ws.objects("experiment", pid) if e.data.get("base_experiment_id"))
    if page == "datasets":
        context["dataset_id"] = recent_ws.get_object("dataset", pid, "support-golden").id
    if page == "btql":
        context["btql_query"] = (
            "select: id, metadata.modle | from: project_logs('support-bot') | limit: 5" if "fix" in question
            else "select: count(1) as n | from: project_logs('support-bot') | filter: is_root" if "group" in question
            else LATENCY_BY_MODEL)
    question = question.replace("how do I …?", "how do I add a scorer?")
    text, tools = await ask(recent_ws, question, **context)
    assert tools, text
    assert "not a language model" not in text and "could not" not in text.lower(), text


async def test_summary_of_an_empty_playground_says_it_has_no_prompt(sample_ws):
    from tests.test_agent_tools import _empty_playground

    pg = _empty_playground(sample_ws)
    text, tools = await ask(sample_ws, "summarize the playground", page="playground", project="support-bot",
                            playground_id=pg.id)
    assert tools[0][0] == "get_summarized_results" and "has no prompt yet" in text


def test_a_query_edit_keeps_the_layout_of_the_query_on_screen() -> None:
    # The editor's queries have one clause per line; a rewritten one on a single line was cut at the chat's edge.
    from loop_tui.agent.offline import btql_edit

    on_screen = "select: *\nfrom: project_logs('support-bot')\nfilter: error != null\nlimit: 50"
    edit = btql_edit.apply("group", on_screen, "group this by model")
    assert edit.query is not None and edit.query.splitlines()[0] == "dimensions: metadata.model as model"
    assert "from: project_logs('support-bot')" in edit.query.splitlines()
    one_line = btql_edit.apply("group", on_screen.replace("\n", " | "), "group this by model")
    assert one_line.query is not None and "\n" not in one_line.query


@pytest.mark.parametrize("question", ["error rate by day", "token usage by day", "which day has the most errors?",
                                      "p95 latency by day"])
async def test_answers_by_day_name_days_as_dates(demo_ws, question):
    # Seen with `loop-tui ask`: "error rate by day" and "token usage by day" named each day
    # "2026-11-05T00:00:00+00:00" while "active users per day" said "2026-11-05".
    text, _ = await ask(demo_ws, question, page="logs", project="support-bot")
    assert "T00:00:00" not in text and re.search(r"^\| \d{4}-\d\d-\d\d \|", text, re.M), text[:300]


async def test_the_busiest_period_reads_as_english(demo_ws):
    text, _ = await ask(demo_ws, "how many active users per day?", page="logs", project="support-bot")
    assert re.search(r"the most was [\d,]+ on \d{4}-\d\d-\d\d\.", text), text[:200]


async def test_rows_found_in_a_dataset_show_json_and_name_the_expected_column(demo_ws):
    # Seen with `loop-tui ask --page datasets`: the rows' inputs read as Python ({'question': …}) and the
    # dataset's expected answers sat under a column named "output".
    ds = demo_ws.get_object("dataset", _pid(demo_ws), "support-golden")
    text, _ = await ask(demo_ws, "find rows about 'refund'", page="datasets", project="support-bot", dataset_id=ds.id)
    assert "| id | input | expected |" in text and "{'question'" not in text and '{"question": ' in text, text[:400]


async def test_most_recent_errors_name_each_failed_request_once(sample_ws):
    # Seen with `loop-tui ask --page logs "most recent errors"` on the sample: "8 errors" listed 4 failed requests
    # twice each, once for the chat span and once for its llm span that raised the same error.
    from datetime import timedelta

    from loop_tui import clock

    text, _ = await ask(sample_ws, "most recent errors", page="logs", project="support-bot")
    since = clock.now() - timedelta(days=1)  # BTQL's now(): the tests' pinned clock
    traces = sample_ws.query("SELECT count(DISTINCT root_span_id) AS n FROM project_logs WHERE project_id = ? AND "
                             "error IS NOT NULL AND created > ?", [_pid(sample_ws), since])[0]["n"]
    lines = [line for line in text.splitlines() if line.startswith("| 20")]
    assert traces > 0 and len(lines) == traces, text[:600]
    assert f"{traces} failed requests in the last 24 hours" in text
