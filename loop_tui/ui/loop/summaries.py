"""One-line summaries of tool calls and results for the compact tool cards (plain text, no Textual).

Arguments and results quote rows and names, so everything returned here went through `safe_text.visible`.
"""

from __future__ import annotations

import json
from typing import Any

from loop_tui.safe_text import visible

CARD_WIDTH = 72
RESULT_PREVIEW_CHARS = 6000


def _one_line(text: str, limit: int = CARD_WIDTH) -> str:
    flat = visible(" ".join(str(text).split()))
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def call_summary(name: str, arguments: dict[str, Any]) -> str:
    """What a call asks for, in a few words (the query, the search, the number of row edits...)."""
    if not arguments:
        return ""
    for key in ("query", "filter", "name", "source", "dataset"):
        if isinstance(arguments.get(key), str) and arguments[key]:
            return _one_line(arguments[key])
    operations = arguments.get("operations")
    if isinstance(operations, list):
        counts: dict[str, int] = {}
        for op in operations:
            kind = op.get("op", "?") if isinstance(op, dict) else "?"
            counts[kind] = counts.get(kind, 0) + 1
        return ", ".join(f"{kind} {n}" for kind, n in counts.items()) + " row(s)"
    if isinstance(arguments.get("messages"), list):
        return f"{len(arguments['messages'])} message(s)"
    if isinstance(arguments.get("scorers"), list):
        return _one_line(", ".join(map(str, arguments["scorers"])))
    if isinstance(arguments.get("ids"), list):
        return f"{len(arguments['ids'])} id(s)"
    return _one_line(json.dumps(arguments, ensure_ascii=False, default=str))


def result_summary(result: str | None, error: str | None) -> str:
    """How a call ended, in a few words: the error, a row count, or the first line of the result."""
    if error:
        return _one_line(error, 60)
    if not result:
        return "done"
    try:
        data = json.loads(result)
    except (json.JSONDecodeError, TypeError):
        return _one_line(result.splitlines()[0] if result.strip() else "done", 60)
    if isinstance(data, dict):
        for key in ("row_count", "rows_returned", "count", "total"):
            if isinstance(data.get(key), int):
                return f"{data[key]} row(s)"
        if isinstance(data.get("rows"), list):
            return f"{len(data['rows'])} row(s)"
        if isinstance(data.get("results"), list):
            return f"{len(data['results'])} result(s)"
        if isinstance(data.get("applied"), str):
            return _one_line(data["applied"], 60)
        return _one_line(", ".join(list(data)[:6]), 60)
    if isinstance(data, list):
        return f"{len(data)} item(s)"
    return _one_line(str(data), 60)


def pretty(text: str | None) -> str:
    """Pretty-print JSON text (anything else as is), cut to a size a card can show."""
    if text is None:
        return ""
    try:
        shown = json.dumps(json.loads(text), indent=2, ensure_ascii=False, default=str)
    except (json.JSONDecodeError, TypeError):
        shown = text
    if len(shown) > RESULT_PREVIEW_CHARS:
        shown = shown[:RESULT_PREVIEW_CHARS] + f"\n… ({len(shown) - RESULT_PREVIEW_CHARS:,} more characters)"
    return visible(shown)


def pretty_args(arguments: dict[str, Any]) -> str:
    """Call arguments as indented JSON."""
    return visible(json.dumps(arguments, indent=2, ensure_ascii=False, default=str))
