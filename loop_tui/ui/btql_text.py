"""Highlighting and completion for the BTQL editor: a small regex tokenizer (no tree-sitter) and the
candidate list (clause names, SQL keywords, functions, field paths). Plain Python, no Textual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

CLAUSES = (
    "select", "from", "filter", "dimensions", "measures", "pivot", "unpivot", "sort", "limit", "cursor",
    "sample", "preview_length", "final_filter",
)
SQL_KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "HAVING", "ORDER BY", "LIMIT", "AS", "AND", "OR", "NOT", "IN",
    "IS", "NULL", "LIKE", "ILIKE", "MATCH", "INCLUDES", "CONTAINS", "ASC", "DESC", "BETWEEN", "INTERVAL",
    "TRUE", "FALSE", "CAST", "WITH",
)
SHAPES = ("spans", "traces", "summary")
SOURCES = ("project_logs", "experiment", "dataset", "prompt", "project_prompts", "project_functions")

_TOKEN = re.compile(
    r"""
    (?P<comment>--[^\n]*|//[^\n]*)
  | (?P<string>'(?:[^'\\]|\\.|'')*'?|"(?:[^"\\]|\\.)*"?)
  | (?P<backtick>`[^`]*`?)
  | (?P<number>\b\d+(?:\.\d+)?\b)
  | (?P<clause>\b[a-z_]+(?=\s*:))
  | (?P<word>\b[A-Za-z_][A-Za-z0-9_]*\b)
  | (?P<operator>[=!<>]=?|[+\-*/%|?]|\bAND\b|\bOR\b)
    """,
    re.VERBOSE,
)
_WORDS_UPPER = {w.split()[0] for w in SQL_KEYWORDS}


def highlight_spans(line: str, functions: Iterable[str] = ()) -> Iterator[tuple[int, int, str]]:
    """(start, end, highlight name) character spans of one line, for TextArea's syntax styles."""
    function_names = set(functions)
    for match in _TOKEN.finditer(line):
        kind = match.lastgroup
        start, end = match.span()
        if kind == "clause":
            if match.group() in CLAUSES:
                yield start, end, "keyword"
        elif kind == "word":
            word = match.group()
            following = line[end:].lstrip()[:1]
            if word.upper() in _WORDS_UPPER or word in SHAPES:
                yield start, end, "keyword"
            elif following == "(" and (word in function_names or word in SOURCES):
                yield start, end, "function"
        elif kind in ("string", "backtick"):
            yield start, end, "string"
        elif kind == "number":
            yield start, end, "number"
        elif kind == "comment":
            yield start, end, "comment"
        elif kind == "operator":
            yield start, end, "operator"


_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")


def word_before(text: str) -> str:
    """The identifier or dotted path ending at the cursor (what completion extends)."""
    match = _PREFIX.search(text)
    return match.group() if match else ""


def completions(prefix: str, line_before: str, functions: Iterable[str], fields: Iterable[str]) -> list[str]:
    """Candidates for `prefix`: clause names at the start of a clause, else fields, functions, keywords."""
    if not prefix:
        return []
    at_clause_start = not line_before[: len(line_before) - len(prefix)].strip(" \t|")
    lower = prefix.lower()
    pool: list[str] = []
    if at_clause_start:
        pool += [f"{c}: " for c in CLAUSES]
    pool += list(fields)
    pool += [f"{f}(" for f in sorted(set(functions) | set(SOURCES))]
    pool += [k.lower() if prefix.islower() else k for k in SQL_KEYWORDS] + list(SHAPES)
    seen: set[str] = set()
    out = []
    for candidate in pool:
        if candidate.lower().startswith(lower) and candidate.lower() != lower and candidate not in seen:
            seen.add(candidate)
            out.append(candidate)
    return out[:20]


_FROM = re.compile(r"(?i)\bfrom\s*:?\s*([a-z_]+\s*\([^)]*\))")


def source_of(query: str) -> str | None:
    """The `from` source text of a query (e.g. "project_logs('support-bot')"), for schema lookup."""
    match = _FROM.search(query)
    return match.group(1) if match else None


_PLAIN_NAME = re.compile(r"[\w .-]+")


def project_logs_source(name: str, project_id: str) -> str:
    """`project_logs('name')`, or by id when the name is not plain text (a quote, markup, control characters)."""
    return f"project_logs('{name if _PLAIN_NAME.fullmatch(name) else project_id}')"


def replace_source(query: str, source: str) -> str:
    """The query with its source replaced (or a new pipe query over `source` when it has none)."""
    if not query.strip():
        return f"select: *\nfrom: {source}\nfilter: created > now() - interval 7 day\nsort: created desc\nlimit: 50"
    match = _FROM.search(query)
    if match is None:
        return f"{query.rstrip()}\nfrom: {source}"
    return query[: match.start(1)] + source + query[match.end(1):]
