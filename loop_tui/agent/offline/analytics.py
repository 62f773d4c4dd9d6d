"""The offline model's log analytics: the questions a logs user asks most, each computed by a real query.

Every intent here answers exactly the question asked or declines: a grouping it does not know ("latency
by prompt version") gets a sentence saying so, never the nearest question it can answer.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from loop_tui.agent.offline import analytics_answers as say
from loop_tui.agent.offline.answers import tool_unavailable
from loop_tui.agent.offline.plan import Call, Reply, State, has, one_shot, time_filter, where
from loop_tui.agent.tools.error_groups import error_groups_query

DURATION = "metrics.end - metrics.start"
# Words after "by"/"per"/"which" and the dimension they mean: (BTQL expression, label, over all spans?).
DIMENSIONS: dict[str, tuple[str, str, bool]] = {
    "model": ("metadata.model", "model", False),
    "name": ("span_attributes.name", "name", True),
    "span": ("span_attributes.name", "name", True),
    "day": ("day(created)", "day", False),
    "daily": ("day(created)", "day", False),
    "week": ("week(created)", "week", False),
    "weekly": ("week(created)", "week", False),
    "hour": ("hour(created)", "hour", False),
    "hourly": ("hour(created)", "hour", False),
    "user": ("metadata.user_id", "user", False),
    "region": ("metadata.region", "region", False),
}
_ASKED_GROUP = re.compile(r"\b(?:by|per|which|each|every|across)\s+(?:the\s+)?([a-z_]+(?:\s+[a-z_]+)?)")
_NOT_GROUPS = {"the", "a", "an", "one", "is", "are", "has", "have", "of", "time", "far", "default", "request",
               "requests", "call", "calls", "trace", "traces", "spans", "rows", "errors", "error", "way"}


def dimension(q: str) -> tuple[str, str, bool] | None | str:
    """The grouping asked for: a known dimension, None when none was asked, or the unknown words asked for."""
    for match in _ASKED_GROUP.finditer(q):
        words = match.group(1).split()
        if words[0] in _NOT_GROUPS:
            continue
        for word in words:
            found = DIMENSIONS.get(word.rstrip("s")) or DIMENSIONS.get(word)
            if found:
                return found
        return match.group(1)
    for word, found in DIMENSIONS.items():  # "daily latency", "models' latency"
        if re.search(rf"\b{word}s?\b", q) and word in ("daily", "weekly", "hourly", "model"):
            return found
    return None


def _percentiles(q: str) -> list[int]:
    asked = sorted({int(p) for p in re.findall(r"\bp(\d{2})\b", q) if 1 <= int(p) <= 99})
    if has(q, r"\bmedian\b") and 50 not in asked:
        asked = sorted([*asked, 50])
    return asked or [50, 95, 99]


def _headline(points: list[int]) -> int:
    """The percentile that ranks groups: p95 when computed (tail latency users feel), else the highest asked."""
    return 95 if 95 in points else points[-1]


# ----- latency ---------------------------------------------------------------------------------------
def latency(state: State) -> Reply | None:
    """Latency percentiles, overall or by model / span name / time; "slowest requests" is a listing elsewhere."""
    q = state.q
    if not has(q, r"latenc", r"\bp\d\d\b", r"percentile", r"\bmedian\b", r"\bslow", r"\bfast", r"duration",
               r"how long", r"response time", r"\bspeed"):
        return None
    dim = dimension(q)
    wants_listing = has(q, r"slowest (?:requests?|traces?|calls?|spans?|examples?|rows?)", r"took the longest",
                        r"longest (?:requests?|traces?|calls?)")
    if dim is None and (wants_listing or not has(q, r"latenc", r"\bp\d\d\b", r"percentile", r"\bmedian\b",
                                                 r"response time", r"duration")):
        return None  # "show me the slowest requests": the listing intent
    if isinstance(dim, str):
        return say.unknown_grouping(dim)
    points = _percentiles(q)
    measures = ", ".join(f"percentile({DURATION}, {p / 100:g}) as p{p}_s" for p in points)
    if dim is None:
        query = f"measures: count(1) as requests, {measures}, avg({DURATION}) as mean_s{where('is_root', time_filter(q))}"
        return one_shot(state, [Call("btql_query", {"query": query})],
                        lambda s: say.latency(None, points, s.results[-1][1]))
    expr, label, all_spans = dim
    scope = f"{expr} != null" if all_spans else "is_root"
    order = f"{label} asc" if "created" in expr else f"p{_headline(points)}_s desc"
    query = (f"dimensions: {expr} as {label} | measures: count(1) as requests, {measures}, avg({DURATION}) as mean_s"
             f"{where(scope, time_filter(q))} | sort: {order}")
    return one_shot(state, [Call("btql_query", {"query": query})],
                    lambda s: say.latency(label, points, s.results[-1][1]))


# ----- errors ----------------------------------------------------------------------------------------
def errors_by(state: State) -> Reply | None:
    """Errors and error rate per model (or another dimension): "which model has the most errors?"."""
    q = state.q
    if not has(q, r"\berrors?\b", r"\bfail", r"error rate", r"failure rate"):
        return None
    dim = dimension(q)
    if dim is None:
        if not has(q, r"error rate", r"failure rate", r"how often"):
            return None
        dim = DIMENSIONS["model"]
    if isinstance(dim, str):
        return say.unknown_grouping(dim)
    expr, label, all_spans = dim
    scope = f"{expr} != null" if all_spans else "is_root"
    order = f"{label} asc" if "created" in expr else "errors desc"
    query = (f"dimensions: {expr} as {label} | measures: count(1) as requests, sum(error != null ? 1 : 0) as errors"
             f"{where(scope, time_filter(q))} | sort: {order}")
    return one_shot(state, [Call("btql_query", {"query": query})],
                    lambda s: say.errors_by(label, s.results[-1][1]))


def recent_errors(state: State) -> Reply | None:
    """The newest errors (last 24 hours unless another window is named), newest first."""
    q = state.q
    if not has(q, r"\berrors?\b", r"exceptions?", r"failures?"):
        return None
    if has(q, r"common", r"frequent", r"\btop\b", r"\bmost (?!recent)", r"which", r"\bby\b", r"\bper\b", r"rate"):
        return None
    if not has(q, r"recent", r"latest", r"newest", r"last \d+ (?:hours?|days?)", r"last (?:hour|day|24)",
               r"today", r"past (?:hour|day|24)", r"just now", r"lately"):
        return None
    window = time_filter(q) or "created > now() - interval 1 day"
    if has(q, r"last hour", r"past hour"):
        window = "created > now() - interval 1 hour"
    # A request whose llm span fails usually fails its root span with the same error: the answer names each
    # request (trace) once, so it asks for enough spans to fill 20 requests.
    query = ("select: created, id, root_span_id, span_attributes.name as span, metadata.model as model, error "
             f"| filter: error != null and {window} | sort: created desc | limit: {say.RECENT_ERROR_SPANS}")
    return one_shot(state, [Call("btql_query", {"query": query})],
                    lambda s: say.recent_errors(window, s.results[-1][1]))


def common_errors(state: State) -> Reply | None:
    """The most common errors, grouped by exception (type and message), each with an example."""
    q = state.q
    if not (has(q, r"\berrors?\b", r"exceptions?", r"failures?") and
            has(q, r"common", r"\btop\b", r"most", r"frequent", r"what", r"main", r"list", r"which")):
        return None
    window = time_filter(q)
    query = error_groups_query(None, window)
    return one_shot(state, [Call("btql_query", {"query": query, "group_errors": True})],
                    lambda s: say.common_errors(window, s.results[-1][1]))


# ----- inputs and users ------------------------------------------------------------------------------
def common_inputs(state: State) -> Reply | None:
    """The inputs users send most often."""
    q = state.q
    if not (has(q, r"common", r"frequent", r"\btop\b", r"popular", r"most (?:asked|sent)", r"repeated", r"\bmost\b")
            and has(q, r"\binputs?\b", r"questions?", r"quer(?:y|ies)", r"prompts?\b", r"asked", r"requests?\b")):
        return None
    if has(q, r"\berrors?\b", r"fail", r"slow", r"latenc", r"cost", r"token"):
        return None
    query = f"dimensions: input | measures: count(1) as n{where('is_root', time_filter(q))} | sort: n desc | limit: 10"
    return one_shot(state, [Call("btql_query", {"query": query})], lambda s: say.common_inputs(s.results[-1][1]))


def _period(q: str) -> tuple[str, str]:
    if has(q, r"\bweek", r"weekly", r"\bwau\b"):
        return "week(created)", "week"
    return "day(created)", "day"


def active_users(state: State) -> Reply | None:
    """Distinct active users per day or week."""
    q = state.q
    if not has(q, r"active users", r"\bdau\b", r"\bwau\b", r"unique users", r"distinct users", r"how many users",
               r"users per (?:day|week)", r"users (?:by|each) (?:day|week)", r"daily users", r"weekly users"):
        return None
    if has(q, r"retention", r"retain", r"returning", r"come back", r"churn"):
        return None
    expr, label = _period(q)
    query = (f"dimensions: {expr} as {label} | measures: count_distinct(metadata.user_id) as active_users, "
             f"count(1) as requests{where('is_root', time_filter(q))} | sort: {label} asc")
    return one_shot(state, [Call("btql_query", {"query": query})],
                    lambda s: say.active_users(label, s.results[-1][1]))


RETENTION_PERIODS = 4


def retention(state: State) -> Reply | None:
    """Period-over-period retention: of the users active in one day/week, how many came back the next.

    Step one counts active users per period; step two counts, for each of the last periods, the users active
    in both it and the one before (one query each, their row counts); then the answer.
    """
    q = state.q
    if not has(q, r"retention", r"retain", r"returning users", r"come back", r"came back", r"churn"):
        return None
    if "btql_query" not in state.offered:
        return tool_unavailable("btql_query", state.page_name)
    expr, label = _period(q)
    if state.step == 0:
        query = (f"dimensions: {expr} as {label} | measures: count_distinct(metadata.user_id) as active_users"
                 f"{where('is_root', time_filter(q))} | sort: {label} asc")
        return [Call("btql_query", {"query": query})]
    if state.step == 1:
        periods, failure = say.period_rows(label, state.results[-1][1])
        if failure is not None or len(periods) < 2:
            return failure or say.retention_too_short(label)
        step = timedelta(days=7 if label == "week" else 1)
        calls = []
        pairs = list(zip(periods, periods[1:], strict=False))[-RETENTION_PERIODS:]
        for previous, current in pairs:
            start, end = previous["start"], _iso(datetime.fromisoformat(current["start"]) + step)
            calls.append(Call("btql_query", {"query": (
                f"dimensions: metadata.user_id as user | measures: sum(created >= '{current['start']}' ? 1 : 0) as "
                f"this_{label}, sum(created < '{current['start']}' ? 1 : 0) as previous_{label} | filter: is_root "
                f"and created >= '{start}' and created < '{end}' | final_filter: this_{label} > 0 and previous_{label} > 0"
            )}))
        return calls
    return say.retention(label, state.results[0][1], [r for _, r in state.results[1:]])


def _iso(moment: datetime) -> str:
    return moment.isoformat()


INTENTS = [retention, active_users, latency, recent_errors, errors_by, common_errors, common_inputs]
"""Checked in order on the logs page, before the general intents."""
