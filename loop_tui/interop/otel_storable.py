"""Mapped span rows in the store's column form, without re-checking what the mapping guarantees.

`schema.normalize_span` validates any row a user hands the store (types of every field, number maps, extra
fields); a row from `otel_mapping.span_to_row` has those types by construction, and the receiver turns
every span it is sent into one, so this does the same conversion with only the checks that can still fail
(JSON text of the free-form values, finite numbers). The result is exactly `normalize_span`'s (a test
holds the two to it); anything unexpected falls back to `normalize_span`, whose error names the field.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from loop_tui import clock
from loop_tui.store import schema as sch

_to_json = sch.to_json_text


def storable_span(row: dict[str, Any], where: str) -> dict[str, Any]:
    """`schema.normalize_span(row, where)` for a row `span_to_row` made."""
    try:
        return _columns(row)
    except (KeyError, TypeError, ValueError, RecursionError, OverflowError):
        return sch.normalize_span(row, where)  # the generic path says which field is wrong


def _columns(row: dict[str, Any]) -> dict[str, Any]:
    metadata = row["metadata"]
    model = metadata.get("model") if metadata else None
    attributes = row["span_attributes"]
    parents = row["span_parents"]
    scores = row.get("scores")
    tags = row.get("tags")
    return {
        "id": row["id"],
        "created": row["created"] or clock.now(),
        "span_id": row["span_id"],
        "root_span_id": row["root_span_id"] or row["span_id"],
        "span_parents": tuple(parents),
        "is_root": not parents,
        "scores": _number_pairs(scores) if scores is not None else None,
        "metrics": _number_pairs(row["metrics"]),
        "tags": tuple(tags) if tags is not None else None,
        "_meta_model": model if isinstance(model, str) else None,
        "_span_name": attributes["name"],
        "_span_type": attributes["type"],
        "_extra": None,
        "input": _to_json(row["input"]),
        "output": _to_json(row["output"]),
        "expected": None,
        "error": _to_json(row["error"]),
        "metadata": _to_json(metadata),
        "span_attributes": _attributes_json(attributes["name"], attributes["type"]),
        "origin": None,
        "context": None,
    }


def _number_pairs(values: dict[str, float]) -> tuple[tuple[str, float | None], ...]:
    """A metrics or scores dict as the store's (name, number) pairs; non-finite numbers stored as null."""
    return tuple((name, float(value) if math.isfinite(value) else None) for name, value in values.items())


@lru_cache(maxsize=4096)
def _attributes_json(name: str, span_type: str) -> str | None:
    """`span_attributes` as JSON text: few distinct (name, type) pairs recur on every span of an app."""
    return _to_json({"name": name, "type": span_type})
