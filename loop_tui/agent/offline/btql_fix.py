"""Explaining a BTQL query clause by clause, and fixing one from its error's "did you mean" hint.

Both work on the query text and on what `run_btql` returned (the agent's tool result), so the offline
model's answers rest on the real binder's verdict.
"""

from __future__ import annotations

import difflib
import json
import re

_ERROR = re.compile(
    r"BTQL (?P<kind>\w+) error \((?P<code>\w+)\)(?: at line (?P<line>\d+), col (?P<col>\d+))?: (?P<message>.*?)"
    r"(?: Hint: (?P<hint>.*))?$",
    re.DOTALL,
)
_SUGGESTION = re.compile(r"did you mean `?([^`?]+?)`?\??$", re.IGNORECASE)

_PIPE_CLAUSES = {
    "select": "returns the columns {}",
    "from": "reads {}",
    "filter": "keeps only the rows where {}",
    "dimensions": "groups the rows by {}",
    "measures": "computes {} for each group",
    "sort": "sorts by {}",
    "limit": "returns at most {} rows",
    "sample": "samples {} of the rows",
    "pivot": "pivots {} into columns",
    "unpivot": "unpivots {} into rows",
    "final_filter": "keeps only the groups where {}",
    "preview_length": "cuts long values to {} characters",
    "cursor": "continues from a cursor",
}
_SQL_CLAUSES = [
    ("SELECT", "returns {}"), ("FROM", "reads {}"), ("WHERE", "keeps only the rows where {}"),
    ("GROUP BY", "groups the rows by {}"), ("HAVING", "keeps only the groups where {}"),
    ("ORDER BY", "sorts by {}"), ("LIMIT", "returns at most {} rows"),
]


def parse_error(result: str) -> dict[str, str] | None:
    """The parts of a BTQL error tool result (None when the result is not a BTQL error)."""
    text = result.removeprefix("Error: ").strip()
    match = _ERROR.match(text)
    return {k: v for k, v in match.groupdict().items() if v} if match else None


def fix_from_error(query: str, result: str, page_error: str | None = None) -> str | None:
    """The query with the offending text replaced by the hint's suggestion, or None when there is none.

    Only a spelling fix counts: `metdata.model` → `metadata.model` keeps the path's shape, while replacing
    it with the hint's bare `metadata` would change what the query asks for, so that is no fix at all.
    """
    error = parse_error(result) or (parse_error(page_error) if page_error else None)
    if not error or "hint" not in error:
        return None
    suggestion = _SUGGESTION.search(error["hint"].strip())
    if not suggestion:
        return None
    replacement = suggestion.group(1).strip()
    wrong = re.search(r"`([^`]+)`", error.get("message", ""))
    lines = query.split("\n")
    line = int(error.get("line", 1)) - 1
    col = int(error.get("col", 1)) - 1
    if not 0 <= line < len(lines):
        return None
    offset = sum(len(s) + 1 for s in lines[:line]) + col
    if wrong:
        old = wrong.group(1)
        start = query.find(old, max(offset - 1, 0))
        if start < 0:
            start = query.find(old)
        if start < 0:
            return None
    else:
        token = re.match(r"[A-Za-z_][\w.]*", query[offset:])
        if not token:
            return None
        old, start = token.group(0), offset
    end = start + len(old)
    replacement = _same_shape(old, replacement)
    if replacement is None:
        return None
    # "selec:" with the hint "select:": the colon is already there, so it must not be doubled.
    tail = re.search(r"\W+$", replacement)
    if tail and query[end:].startswith(tail.group(0)):
        replacement = replacement[: tail.start()]
    fixed = query[:start] + replacement + query[end:]
    return fixed if fixed != query else None


def _same_shape(wrong: str, suggestion: str) -> str | None:
    """The suggestion as a spelling fix of `wrong` (a path keeps its segments), or None if it is not one."""
    old_parts, new_parts = wrong.split("."), suggestion.rstrip(":").split(".")
    if len(new_parts) < len(old_parts):  # the hint names a prefix: fix that segment, keep the rest of the path
        new_parts = new_parts + old_parts[len(new_parts):]
    if len(new_parts) != len(old_parts):
        return None
    for old, new in zip(old_parts, new_parts, strict=True):
        if old != new and difflib.SequenceMatcher(None, old.lower(), new.lower()).ratio() < 0.6:
            return None
    fixed = ".".join(new_parts)
    return fixed + suggestion[len(suggestion.rstrip(":")):]


def split_clauses(query: str) -> list[tuple[str, str]]:
    """(clause, body) pairs of a pipe-syntax or SQL query, in order."""
    if re.match(r"\s*(select|with)\b(?!\s*:)", query, re.IGNORECASE):
        names = "|".join(k.replace(" ", r"\s+") for k, _ in _SQL_CLAUSES)
        parts = re.split(rf"\b({names})\b", query, flags=re.IGNORECASE)
        out = []
        for i in range(1, len(parts) - 1, 2):
            out.append((re.sub(r"\s+", " ", parts[i].upper()), parts[i + 1].strip()))
        return out
    pieces, depth, quote, current = list[str](), 0, "", list[str]()
    for ch in query:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch in "|\n" and depth == 0:
            pieces.append("".join(current))
            current = []
            continue
        current.append(ch)
    pieces.append("".join(current))
    out = []
    for piece in pieces:
        name, sep, body = piece.partition(":")
        if sep and name.strip():
            out.append((name.strip().lower(), body.strip()))
    return out


def explain_query(query: str, result: str) -> str:
    """A clause-by-clause explanation of `query` and what running it gave."""
    templates = dict(_SQL_CLAUSES) | _PIPE_CLAUSES
    lines = ["Here is what this query does, clause by clause:", ""]
    for name, body in split_clauses(query):
        template = templates.get(name) or templates.get(name.upper())
        lines.append(f"- `{name}`: " + (template.format(f"`{body}`") if template else f"`{body}`"))
    if "from" not in {n.lower() for n, _ in split_clauses(query)}:
        lines.append("- no `from`: the sandbox needs a source such as `project_logs('my-project')`")
    lines.append("")
    error = parse_error(result)
    if error:
        lines.append(f"Running it fails: {error.get('message', result)}" + (f" ({error['hint']})" if error.get("hint") else ""))
    else:
        try:
            data = json.loads(result)
            lines.append(f"Running it returns {data.get('row_count', 0)} rows with columns "
                         + ", ".join(f"`{c}`" for c in data.get("columns", [])) + ".")
        except (json.JSONDecodeError, AttributeError):
            lines.append(f"Running it gave: {result[:300]}")
    return "\n".join(lines)
