"""The requests the offline model recognises, each as a plan of tool calls and an answer.

Recognition is plain keyword matching on the user's last message, scoped by page; every answer is written
from the tool results the agent sent back, never from anything made up here.
"""

from __future__ import annotations

import re
from typing import Any

from loop_tui.agent.offline import analytics, analytics_answers, answers
from loop_tui.agent.offline import btql_edit as btql_edits
from loop_tui.agent.offline.btql_fix import explain_query, fix_from_error
from loop_tui.agent.offline.plan import Call, Reply, State, group_by, has, one_shot, time_filter, where
from loop_tui.agent.offline_abilities import ALL_ABILITIES


def _search_term(question: str) -> str | None:
    quoted = re.search(r"[\"'“‘]([^\"'”’]{2,80})[\"'”’]", question)
    if quoted:
        return quoted.group(1).strip()
    after = re.search(r"\b(?:like|about|mentioning|mention|containing|contain|with the word|matching)\s+(.+)$",
                      question, re.IGNORECASE)
    if after:
        term = re.sub(r"[?.!]+$", "", after.group(1)).strip()
        return term[:80] or None
    return None


def _btql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ----- the intents ----------------------------------------------------------------------------------
def btql_edit(state: State) -> Reply | None:
    """"Convert this to percentiles", "filter out rows where X is null", "only the last 7 days", "group this by
    model": applied to the query on screen and checked with run_btql."""
    query = state.page.get("btql_query")
    kind = btql_edits.requested_edit(state.question) if state.page_name == "btql" and query else None
    if kind is None:
        return None
    edit = btql_edits.apply(kind, str(query), state.question)
    if edit.query is None:
        return answers.btql_not_edited(edit.summary)
    return one_shot(state, [Call("run_btql", {"query": edit.query})],
                    lambda s: answers.btql_edited(edit.summary, str(edit.query), s.results[-1][1]))


def btql_page(state: State) -> Reply | None:
    query = state.page.get("btql_query")
    if state.page_name != "btql" or not query:
        return None
    wants_fix = has(state.q, r"\bfix", r"wrong", r"\berror", r"broken", r"fail", r"why", r"doesn'?t work")
    wants_explain = has(state.q, r"explain", r"what does", r"describe", r"understand", r"mean")
    if not (wants_fix or wants_explain):
        return None
    if "run_btql" not in state.offered:
        return answers.tool_unavailable("run_btql", "btql")
    if wants_explain and not wants_fix:
        if state.step == 0:
            return [Call("run_btql", {"query": query})]
        return explain_query(query, state.results[-1][1])
    if state.step == 0:
        return [Call("run_btql", {"query": query})]
    current = str(state.previous_calls[-1].arguments.get("query"))
    last = state.results[-1][1]
    # Apply "did you mean" hints one at a time (a fix can reveal the next error), at most three times.
    fixed = fix_from_error(current, last, state.page.get("btql_error") if state.step == 1 else None)
    if fixed is not None and state.step <= 3:
        return [Call("run_btql", {"query": fixed})]
    if state.step == 1:
        return answers.btql_unfixable(query, last)
    return answers.btql_fixed(query, state.results[0][1], current, last)


def regressions(state: State) -> Reply | None:
    if state.page_name != "experiments" or not has(state.q, r"regress", r"worse", r"\bdrop", r"declin", r"degrad"):
        return None
    return one_shot(state, [Call("get_summarized_results", {})], lambda s: answers.regressions(s.results[-1][1]))


def summarize(state: State) -> Reply | None:
    if not has(state.q, r"summar", r"overview", r"how did", r"how (?:is|are|was|were)", r"tell me about", r"stats"):
        return None
    if state.page_name not in ("experiments", "datasets", "logs", "playground"):
        return None
    return one_shot(state, [Call("get_summarized_results", {})],
                     lambda s: answers.summary(s.page_name, s.results[-1][1]))


def token_usage(state: State) -> Reply | None:
    if not has(state.q, r"token", r"\bcost", r"spend", r"spent", r"usage"):
        return None
    asked = analytics.dimension(state.q)
    if isinstance(asked, str):
        return analytics_answers.unknown_grouping(asked)
    dim, label = group_by(state.q) if asked is None else (f"{asked[0]} as {asked[1]}", asked[1])
    query = (f"dimensions: {dim} | measures: count(1) as requests, sum(metrics.prompt_tokens) as prompt_tokens, "
             f"sum(metrics.completion_tokens) as completion_tokens, sum(metrics.tokens) as tokens, "
             f"sum(metrics.estimated_cost) as cost_usd{where('is_root', time_filter(state.q))} | sort: {label} asc")
    return one_shot(state, [Call("btql_query", {"query": query})], lambda s: answers.token_usage(label, s.results[-1][1]))


def slowest(state: State) -> Reply | None:
    if not has(state.q, r"slow", r"latency", r"longest", r"take the most time", r"took the longest"):
        return None
    query = ("select: id, created, metadata.model as model, input, metrics.end - metrics.start as duration_s"
             f"{where('is_root', time_filter(state.q))} | sort: duration_s desc | limit: 10")
    return one_shot(state, [Call("btql_query", {"query": query})], lambda s: answers.slowest(s.results[-1][1]))


def find_rows(state: State) -> Reply | None:
    if not has(state.q, r"\bfind\b", r"\bshow\b", r"search", r"\blook for", r"\brows?\b", r"examples?", r"requests?"):
        return None
    term = _search_term(state.question)
    if not term:
        return None
    literal = _btql_literal(term)
    if state.page_name == "logs":
        query = (f"select: id, created, input, output, error{where('is_root', f'search({literal})')} "
                 "| sort: created desc | limit: 10")
        call = Call("btql_query", {"query": query})
    else:
        call = Call("get_detailed_results", {"filter": f"search({literal})", "limit": 10})
    return one_shot(state, [call], lambda s: answers.found_rows(term, s.results[-1][1]))


def docs(state: State) -> Reply | None:
    """How-to and help questions go to the docs before anything else."""
    if not has(state.q, r"^how (?:do|can|to|should)", r"^where", r"\bhelp\b", r"\bdocs?\b", r"documentation",
                r"how do i", r"how can i"):
        return None
    return _search_docs(state)


def definition(state: State) -> Reply | None:
    """"What is X?" — checked after the data intents, so "what is the error rate by model?" is answered from data."""
    if not has(state.q, r"^what(?:'s| is) (?:a |an |the )?[a-z_ ]+\??$"):
        return None
    return _search_docs(state)


def _search_docs(state: State) -> Reply:
    return one_shot(state, [Call("search_docs", {"query": state.question})],
                     lambda s: answers.docs(s.results[-1][1]))


def _logs_only(intent: Any) -> Any:
    """Log analytics answer from the project's logs, so they are recognised on the logs page only."""

    def scoped(state: State) -> Reply | None:
        return intent(state) if state.page_name == "logs" else None

    scoped.__name__ = intent.__name__
    return scoped


INTENTS = [
    btql_edit, btql_page, regressions, docs, *[_logs_only(i) for i in analytics.INTENTS], _logs_only(token_usage),
    _logs_only(slowest), summarize, definition, find_rows,
]


def respond(state: State) -> Reply:
    """The offline model's reply: tool calls for the next step of a recognised request, or text."""
    if not state.question:
        return answers.unsupported(state.page_name, ALL_ABILITIES)
    for intent in INTENTS:
        reply = intent(state)
        if reply is not None:
            return reply
    return answers.unsupported(state.page_name, ALL_ABILITIES)
