"""Build normalised span records (the store's column layout) directly, fast enough for 1M spans."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime
from typing import Any

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

PRICES = {  # USD per million tokens: input, output (kept in step with loop_tui/data/models.json)
    "gpt-4o": (2.5, 10.0),
    "gpt-4o-mini": (0.15, 0.6),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4.1-mini": (0.4, 1.6),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-4-sonnet": (3.0, 15.0),
}


def cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Estimated USD cost of one call."""
    p_in, p_out = PRICES[model]
    return round((prompt_tokens * p_in + completion_tokens * p_out) / 1e6, 8)


class IdMaker:
    """Deterministic UUIDs from the generator's random stream."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


def span(
    *,
    ids: IdMaker,
    root_span_id: str | None,
    parent: str | None,
    name: str,
    type_: str,
    start: float,
    end: float,
    input: Any = None,
    output: Any = None,
    expected: Any = None,
    error: Any = None,
    scores: dict[str, float | None] | None = None,
    metadata: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    tags: list[str] | None = None,
    origin: dict[str, Any] | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """One span in the store's normalised layout."""
    row_id = ids()
    span_id = row_id
    attrs: dict[str, Any] = {"name": name, "type": type_}
    if purpose:
        attrs["purpose"] = purpose
    all_metrics = {"start": start, "end": end}
    if metrics:
        all_metrics.update(metrics)
    model = metadata.get("model") if metadata else None
    return {
        "id": row_id,
        "created": datetime.fromtimestamp(start, UTC),
        "span_id": span_id,
        "root_span_id": root_span_id or span_id,
        "span_parents": [parent] if parent else None,
        "is_root": parent is None,
        "input": None if input is None else _dumps(input),
        "output": None if output is None else _dumps(output),
        "expected": None if expected is None else _dumps(expected),
        "error": None if error is None else _dumps(error),
        "scores": list(scores.items()) if scores else None,
        "metadata": None if not metadata else _dumps(metadata),
        "metrics": list(all_metrics.items()),
        "tags": tags,
        "span_attributes": _dumps(attrs),
        "origin": None if origin is None else _dumps(origin),
        "context": None,
        "_meta_model": model if isinstance(model, str) else None,
        "_span_name": name,
        "_span_type": type_,
        "_extra": None,
    }
