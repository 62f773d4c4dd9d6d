"""Edits the offline model applies to the query on the BTQL page: percentiles, a null filter, a time filter,
a grouping. Each is a plain rewrite of the pipe-syntax clauses; `run_btql` then checks the result for real.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from loop_tui.agent.offline.btql_fix import split_clauses

AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max", "percentile", "any_value")
GROUPS = {
    "model": "metadata.model as model", "name": "span_attributes.name as name", "span": "span_attributes.name as name",
    "day": "day(created) as day", "week": "week(created) as week", "hour": "hour(created) as hour",
    "user": "metadata.user_id as user", "region": "metadata.region as region",
}
_PATH = r"[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*"


@dataclass(frozen=True)
class Edit:
    """A rewritten query and what changed (or why it could not be rewritten: `query` is None)."""

    query: str | None
    summary: str


def requested_edit(question: str) -> str | None:
    """Which edit the user asks for: percentiles, not_null, time, group (None when none of them)."""
    q = question.lower()
    if re.search(r"percentile|\bp\d\d\b|\bmedian\b", q) and re.search(r"convert|turn|change|make|use|instead|switch|to", q):
        return "percentiles"
    if re.search(r"(?:filter out|exclude|remove|drop|skip|without)\b.*\b(?:is )?(?:null|empty|missing)", q):
        return "not_null"
    if re.search(r"(?:last|past)\s+(?:\d+\s+)?(?:days?|hours?|weeks?|months?)|today|this week", q) and re.search(
            r"filter|only|limit|restrict|add|just", q):
        return "time"
    if re.search(r"\bgroup(?:ed)?\b.*\bby\b|\bbreak (?:it |this )?down by\b|\bsplit (?:it |this )?by\b|\bper (?:model|day|user)", q):
        return "group"
    return None


def _join(clauses: list[tuple[str, str]]) -> str:
    return " | ".join(f"{name}: {body}" for name, body in clauses)


def _set(clauses: list[tuple[str, str]], name: str, body: str) -> list[tuple[str, str]]:
    out, done = [], False
    for clause, text in clauses:
        if clause == name:
            if not done:
                out.append((name, body))
                done = True
            continue
        out.append((clause, text))
    return out if done else [*out, (name, body)]


def _get(clauses: list[tuple[str, str]], name: str) -> str | None:
    return next((body for clause, body in clauses if clause == name), None)


def _pipe(query: str) -> list[tuple[str, str]] | None:
    """The query's clauses, or None for SQL syntax (these edits work on pipe syntax)."""
    if re.match(r"\s*(select|with)\b(?!\s*:)", query, re.IGNORECASE):
        return None
    return split_clauses(query)


def add_condition(query: str, condition: str) -> str | None:
    """`condition` ANDed to the query's filter (pipe syntax or SQL's WHERE)."""
    clauses = _pipe(query)
    if clauses is None:
        match = re.search(r"\bWHERE\b", query, re.IGNORECASE)
        if match:
            return f"{query[: match.end()]} ({condition}) AND{query[match.end():]}"
        tail = re.search(r"\b(GROUP\s+BY|ORDER\s+BY|LIMIT|HAVING)\b", query, re.IGNORECASE)
        cut = tail.start() if tail else len(query)
        return f"{query[:cut].rstrip()} WHERE {condition} {query[cut:]}".rstrip()
    current = _get(clauses, "filter")
    return _join(_set(clauses, "filter", f"({current}) and {condition}" if current else condition))


def not_null(query: str, question: str) -> Edit:
    """Filter out rows where the named field is null."""
    match = re.search(rf"(?:where|rows? (?:with|whose)|when|in)\s+(?:the\s+)?`?({_PATH})`?\s+(?:is\s+)?(?:null|empty|missing)",
                      question, re.IGNORECASE) or re.search(rf"\b(?:null|empty|missing)\s+`?({_PATH})`?", question, re.IGNORECASE)
    if not match:
        return Edit(None, "I could not tell which field must not be null; name it, e.g. “filter out rows where "
                          "metadata.model is null”.")
    field = match.group(1)
    fixed = add_condition(query, f"{field} != null" if _pipe(query) is not None else f"{field} IS NOT NULL")
    return Edit(fixed, f"rows where `{field}` is null are filtered out")


def time_window(query: str, question: str) -> Edit:
    """Keep only the last N days / hours / weeks."""
    q = question.lower()
    match = re.search(r"(?:last|past)\s+(\d+)?\s*(day|hour|week|month)s?", q)
    if match:
        n, unit = int(match.group(1) or 1), match.group(2)
    else:
        n, unit = (1, "day") if "today" in q else (7, "day")
    if unit == "week":
        n, unit = n * 7, "day"
    if unit == "month":
        n, unit = n * 30, "day"
    condition = f"created > now() - interval {n} {unit}"
    if _pipe(query) is None:
        condition = f"created > now() - INTERVAL {n} {unit.upper()}"
    return Edit(add_condition(query, condition), f"only rows of the last {n} {unit}{'s' if n != 1 else ''} are kept")


def _split_items(body: str) -> list[str]:
    items, depth, current, quote = list[str](), 0, list[str](), ""
    for ch in body:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    items.append("".join(current).strip())
    return [i for i in items if i]


def _is_aggregate(item: str) -> bool:
    return bool(re.match(rf"\s*(?:{'|'.join(AGGREGATES)})\s*\(", item, re.IGNORECASE))


def percentiles(query: str, question: str) -> Edit:
    """Every avg(x) becomes percentiles of x (p50, p95, p99 unless others are named)."""
    clauses = _pipe(query)
    if clauses is None:
        return Edit(None, "I rewrite pipe-syntax queries only; this one is SQL")
    asked = sorted({int(p) for p in re.findall(r"\bp(\d{2})\b", question.lower())}) or [50, 95, 99]
    renamed: dict[str, str] = {}
    changed = False
    new_clauses = []
    for name, body in clauses:
        if name not in ("measures", "select"):
            new_clauses.append((name, body))
            continue
        items = []
        for item in _split_items(body):
            match = re.fullmatch(r"avg\s*\((.+)\)(?:\s+as\s+(\w+))?", item.strip(), re.IGNORECASE | re.DOTALL)
            if not match:
                items.append(item)
                continue
            changed = True
            expr, alias = match.group(1).strip(), match.group(2) or "value"
            items += [f"percentile({expr}, {p / 100:g}) as {alias}_p{p}" for p in asked]
            renamed[alias] = f"{alias}_p{asked[len(asked) // 2]}"
        new_clauses.append((name, ", ".join(items)))
    if not changed:
        return Edit(None, "the query has no avg(…) to turn into percentiles")
    sort = _get(new_clauses, "sort")
    if sort:  # a sort on a renamed average now sorts on the middle percentile
        for old, new in renamed.items():
            sort = re.sub(rf"\b{old}\b", new, sort)
        new_clauses = _set(new_clauses, "sort", sort)
    points = ", ".join(f"p{p}" for p in asked)
    return Edit(_join(new_clauses), f"each average is now its {points} percentiles")


def group(query: str, question: str) -> Edit:
    """Group the query's rows by model (or day, name, user, …): aggregates become measures per group."""
    clauses = _pipe(query)
    if clauses is None:
        return Edit(None, "I rewrite pipe-syntax queries only; this one is SQL")
    match = re.search(r"\bby\s+(?:the\s+)?`?([\w.]+)`?|\bper\s+(\w+)", question.lower())
    word = (match.group(1) or match.group(2)) if match else "model"
    dim = GROUPS.get(word.rstrip("s")) or GROUPS.get(word)
    if dim is None:
        if not re.fullmatch(_PATH, word) or "." not in word:
            return Edit(None, f"I do not know how to group by “{word}”; name a field such as metadata.model")
        dim = f"{word} as {word.rsplit('.', 1)[-1]}"
    label = dim.rsplit(" as ", 1)[-1]
    dims = _get(clauses, "dimensions")
    if dims is not None:
        if label in [i.rsplit(" as ", 1)[-1].strip() for i in _split_items(dims)]:
            return Edit(None, f"the query is already grouped by {label}")
        return Edit(_join(_set(clauses, "dimensions", f"{dims}, {dim}")), f"the groups are split by {label} too")
    if _get(clauses, "measures") is not None:
        return Edit(_join([("dimensions", dim), *clauses]), f"the measures are computed per {label}")
    select = _get(clauses, "select")
    rest = [(n, b) for n, b in clauses if n not in ("select", "dimensions", "measures")]
    if select and all(_is_aggregate(i) for i in _split_items(select)):
        return Edit(_join([("dimensions", dim), ("measures", select), *rest]),
                    f"the aggregates are computed per {label}")
    kept = [(n, b) for n, b in rest if n not in ("sort", "limit")]
    return Edit(_join([("dimensions", dim), ("measures", "count(1) as n"), *kept, ("sort", "n desc")]),
                f"the rows are counted per {label}: a grouped query returns one row per {label}, not the rows")


def apply(kind: str, query: str, question: str) -> Edit:
    """The query rewritten by the requested edit, laid out as the user wrote it (one clause per line when the
    query on screen has its clauses on lines, as the editor's own queries do; else one line with pipes)."""
    edits = {"percentiles": percentiles, "not_null": not_null, "time": time_window}
    edit = edits.get(kind, group)(query, question)
    if edit.query is not None and "\n" in query.strip() and "\n" not in edit.query:
        clauses = _pipe(edit.query)
        if clauses:
            edit = Edit("\n".join(f"{name}: {body}" for name, body in clauses), edit.summary)
    return edit
