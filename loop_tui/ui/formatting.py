"""Turning stored values into short cell text: previews of JSON, durations, costs, scores, times.

Plain Python (no Textual): the page workers call these over one page of rows (≤ a few hundred), so
they favour clarity over vectorisation. Every text they return went through `safe_text.visible`: a row's
escape sequences are shown (␛), never sent to the terminal.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from loop_tui.safe_text import visible


def parse_json_text(value: Any) -> Any:
    """A JSON-text column value as Python (non-JSON text is returned as is)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, ValueError):
        return value


def preview(value: Any, width: int = 60) -> str:
    """One line of at most `width` characters: strings bare, objects as compact JSON."""
    value = parse_json_text(value)
    if value is None:
        return ""
    if isinstance(value, dict) and len(value) == 1:
        # {"question": "..."} reads better as its only value.
        value = next(iter(value.values()))
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    text = visible(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


def pretty_json(value: Any) -> str:
    """Indented JSON for the detail panes (text columns are parsed first)."""
    value = parse_json_text(value)
    if value is None:
        return "null"
    if isinstance(value, str):
        return visible(value)
    return visible(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def as_mapping(value: Any) -> dict[str, Any]:
    """An Arrow MAP (list of pairs), a dict or JSON text as a dict."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        parsed = parse_json_text(value)
        return parsed if isinstance(parsed, dict) else {}
    if isinstance(value, list):
        return {k: v for k, v in value}
    return {}


def fmt_duration(seconds: float | None) -> str:
    """1.23s, 850ms, 2m05s."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def fmt_cost(usd: float | None) -> str:
    """$0.0012 (4 significant decimals for small costs)."""
    if usd is None:
        return ""
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def fmt_number(value: float | None) -> str:
    """Thousands-separated integers, short floats."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.3g}"


def fmt_scores(scores: Any, width: int = 40) -> str:
    """"Factuality 0.80 · Relevance 1.00" (skipped scores left out)."""
    items = [f"{visible(name)} {value:.2f}" for name, value in sorted(as_mapping(scores).items()) if value is not None]
    text = " · ".join(items)
    return text if len(text) <= width else text[: width - 1] + "…"


def fmt_time(value: Any) -> str:
    """Local time as YYYY-MM-DD HH:MM:SS."""
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def fmt_delta(value: float | None) -> str:
    """Signed percentage-point change: +3.1pp / -0.4pp."""
    return "" if value is None else f"{value * 100:+.1f}pp"


BLOCKS = "▁▂▃▄▅▆▇█"


def histogram_sparkline(values: list[float], bins: int = 6, low: float = 0.0, high: float = 1.0) -> str:
    """A one-line histogram of `values` over [low, high] (scores): where the rows' scores fall."""
    if not values:
        return ""
    counts = [0] * bins
    span = (high - low) or 1.0
    for v in values:
        index = int((min(max(v, low), high) - low) / span * bins)
        counts[min(index, bins - 1)] += 1
    top = max(counts)
    return "".join(" " if c == 0 else BLOCKS[min(len(BLOCKS) - 1, int(c / top * (len(BLOCKS) - 1)))] for c in counts)
