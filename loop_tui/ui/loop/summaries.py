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
        experiment = _experiment_summary(data)
        if experiment:
            return experiment
        for key in ("row_count", "rows_returned", "count", "total"):
            if isinstance(data.get(key), int):
                return f"{data[key]} row(s)"
        if isinstance(data.get("rows"), list):
            return f"{len(data['rows'])} row(s)"
        if isinstance(data.get("results"), list):
            return f"{len(data['results'])} result(s)"
        picked = data.get("picked")
        if isinstance(picked, dict) and isinstance(picked.get("from"), str):  # get_data_source: the user's pick
            return _one_line(f"picked {picked['from']}", 60)
        if isinstance(data.get("applied"), str):
            return _one_line(data["applied"], 60)
        saved = data.get("saved")
        if isinstance(saved, str):  # "new prompt … (version 1)", or the verb beside the scorer's name
            return _one_line(f"scorer {data['scorer']} {saved}" if isinstance(data.get("scorer"), str) else saved, 60)
        if isinstance(data.get("playground"), str) and isinstance(data.get("scorers"), list):
            return _one_line(f"playground {data['playground']} scores with {', '.join(map(str, data['scorers']))}", 60)
        return _one_line(", ".join(list(data)[:6]), 60)
    if isinstance(data, list):
        return f"{len(data)} item(s)"
    return _one_line(str(data), 60)


def _experiment_summary(data: dict[str, Any]) -> str | None:
    """An eval's result (`run_eval`, an experiment summary): its name and score means, not its key names
    ("experiment, base, rows, errors, scores, metrics" told the user nothing)."""
    experiment, scores = data.get("experiment"), data.get("scores")
    if not isinstance(experiment, dict) or not isinstance(scores, dict):
        return None
    parts = []
    for name, score in scores.items():
        mean = score.get("mean") if isinstance(score, dict) else None
        if isinstance(mean, int | float):
            diff = score.get("diff")
            change = f" ({diff * 100:+.1f}pp)" if isinstance(diff, int | float) else ""
            parts.append(f"{name} {mean * 100:.1f}%{change}")
    errors = data.get("errors")
    tail = f", {errors} error(s)" if isinstance(errors, int) and errors else ""
    return _one_line(f"{experiment.get('name') or 'experiment'}: {', '.join(parts) or 'no scores'}{tail}", 60)


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
