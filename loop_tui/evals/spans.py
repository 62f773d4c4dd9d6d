"""Build the Braintrust-shaped span rows one eval row writes: eval -> task -> llm, plus one score span per scorer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def new_id() -> str:
    """A span/row id (UUID4 string, as the Braintrust SDKs make them)."""
    return str(uuid.uuid4())


def utc(ts: float) -> datetime:
    """Epoch seconds as an aware UTC datetime (the store keeps it as is; no ISO text to parse back)."""
    return datetime.fromtimestamp(ts, UTC)


@dataclass
class ScoreOutcome:
    """One scorer's result on one row: scores (one scorer may yield several), or an error."""

    scorer: str
    scores: dict[str, float | None] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    start: float = 0.0
    end: float = 0.0


@dataclass
class TaskOutcome:
    """What the task produced for one row."""

    output: Any = None
    error: str | None = None
    messages: list[dict[str, Any]] | None = None  # the rendered prompt
    reply_message: dict[str, Any] | None = None
    llm_metrics: dict[str, float] = field(default_factory=dict)
    llm_error: str | None = None
    start: float = 0.0
    end: float = 0.0


def _span(
    root_id: str, parent: str | None, name: str, type_: str, start: float, **fields: Any
) -> dict[str, Any]:
    span_id = root_id if parent is None else new_id()
    return {
        "id": span_id,
        "span_id": span_id,
        "root_span_id": root_id,
        "span_parents": None if parent is None else [parent],
        "is_root": parent is None,
        "created": utc(start),
        "span_attributes": {"name": name, "type": type_, **fields.pop("attributes", {})},
        **{k: v for k, v in fields.items() if v is not None},
    }


def build_row_spans(
    *,
    row: dict[str, Any],
    dataset_id: str | None,
    trial: int,
    model_name: str,
    params: dict[str, Any],
    task: TaskOutcome,
    outcomes: list[ScoreOutcome],
    start: float,
    end: float,
) -> list[dict[str, Any]]:
    """All spans of one (row, trial), root first."""
    root_id = new_id()
    scores: dict[str, float | None] = {}
    scorer_errors: dict[str, str] = {}
    for outcome in outcomes:
        scores.update(outcome.scores)
        if outcome.error:
            scorer_errors[outcome.scorer] = outcome.error
    metadata = dict(row.get("metadata") or {})
    if scorer_errors:
        metadata["scorer_errors"] = scorer_errors
    root_metrics: dict[str, float] = {"start": start, "end": end}
    for key in ("prompt_tokens", "completion_tokens", "tokens", "prompt_cached_tokens", "estimated_cost"):
        if key in task.llm_metrics:
            root_metrics[key] = task.llm_metrics[key]
    origin = None
    if row.get("id") is not None:
        origin = {"object_type": "dataset", "object_id": dataset_id, "id": row["id"]}
    root = _span(
        root_id,
        None,
        "eval",
        "eval",
        start,
        input=row.get("input"),
        output=task.output,
        expected=row.get("expected"),
        error=task.error,
        scores=scores or None,
        metadata=metadata or None,
        metrics=root_metrics,
        tags=row.get("tags") or None,
        origin=origin,
        attributes={"trial_index": trial} if trial else {},
    )
    task_span = _span(
        root_id,
        root_id,
        "task",
        "task",
        task.start,
        input=row.get("input"),
        output=task.output,
        error=task.error,
        metrics={"start": task.start, "end": task.end},
    )
    spans = [root, task_span]
    if task.messages is not None:
        spans.append(
            _span(
                root_id,
                task_span["span_id"],
                "Chat Completion",
                "llm",
                task.start,
                input=task.messages,
                output=[task.reply_message] if task.reply_message else None,
                error=task.llm_error,
                metadata={"model": model_name, **params},
                metrics=task.llm_metrics or {"start": task.start, "end": task.end},
            )
        )
    for outcome in outcomes:
        spans.append(
            _span(
                root_id,
                root_id,
                outcome.scorer,
                "score",
                outcome.start,
                output={"scores": outcome.scores, "metadata": outcome.metadata}
                if not outcome.error
                else None,
                scores=outcome.scores or None,
                error=outcome.error,
                metrics={"start": outcome.start, "end": outcome.end, **outcome.metrics},
                attributes={"purpose": "scorer"},
            )
        )
    return spans
