"""Read an experiment's rows (root spans) with per-row metrics, and pair rows across experiments."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_TOKEN_METRICS = ("prompt_tokens", "completion_tokens", "tokens", "prompt_cached_tokens", "estimated_cost")


@dataclass
class ExpRow:
    """One experiment row (one trial): what the comparison needs from its trace."""

    key: str
    root_span_id: str
    input: Any
    expected: Any
    output: Any
    error: str | None
    scores: dict[str, float | None]
    metrics: dict[str, float]
    scorer_errors: dict[str, str] | None = None


def decode_json(text: Any) -> Any:
    """A stored JSON text column's value; text that is not JSON is returned as it is."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        return text


def row_key(origin: Any, metadata: Any, input_: Any) -> str:
    """Pairing key: the dataset row id, else `metadata.dataset_row`, else the input's canonical JSON."""
    if isinstance(origin, dict) and origin.get("id"):
        return f"id:{origin['id']}"
    if isinstance(metadata, dict):
        for name in ("dataset_row", "dataset_row_id", "row_id"):
            if metadata.get(name):
                return f"id:{metadata[name]}"
    return "input:" + json.dumps(input_, sort_keys=True, ensure_ascii=False, default=str)


def _num_map(value: Any) -> dict[str, float | None]:
    if not value:
        return {}
    return {str(k): (None if v is None else float(v)) for k, v in dict(value).items()}


def load_rows(workspace: Any, experiment_id: str) -> list[ExpRow]:
    """All root spans of an experiment with duration, tokens, cost and TTFT per row."""
    roots = workspace.query(
        "SELECT root_span_id, input, expected, output, error, scores, metrics, origin, metadata "
        "FROM experiment WHERE experiment_id = ? AND is_root ORDER BY created, id",
        [experiment_id],
    )
    llm = workspace.query(
        "SELECT root_span_id, "
        + ", ".join(f"sum(metrics['{m}']) AS {m}" for m in _TOKEN_METRICS)
        + ", min(metrics['time_to_first_token']) AS time_to_first_token "
        "FROM experiment WHERE experiment_id = ? AND NOT is_root AND _span_type = 'llm' GROUP BY root_span_id",
        [experiment_id],
    )
    llm_by_root = {r["root_span_id"]: r for r in llm}
    rows = []
    for record in roots:
        metrics = _num_map(record["metrics"])
        child = llm_by_root.get(record["root_span_id"], {})
        out: dict[str, float] = {}
        start, end = metrics.get("start"), metrics.get("end")
        if start is not None and end is not None:
            out["duration"] = end - start
        for name in (*_TOKEN_METRICS, "time_to_first_token"):
            value = metrics.get(name)
            if value is None and child.get(name) is not None:
                value = float(child[name])
            if value is not None:
                out["total_tokens" if name == "tokens" else name] = value
        input_, metadata = decode_json(record["input"]), decode_json(record["metadata"])
        rows.append(
            ExpRow(
                key=row_key(decode_json(record["origin"]), metadata, input_),
                root_span_id=record["root_span_id"],
                input=input_,
                expected=decode_json(record["expected"]),
                output=decode_json(record["output"]),
                error=decode_json(record["error"]),
                scores=_num_map(record["scores"]),
                metrics=out,
                scorer_errors=(metadata or {}).get("scorer_errors") if isinstance(metadata, dict) else None,
            )
        )
    return rows


def group_by_key(rows: list[ExpRow]) -> dict[str, list[ExpRow]]:
    """Rows grouped by pairing key (trials of one dataset row end up together), in first-seen order."""
    groups: dict[str, list[ExpRow]] = {}
    for row in rows:
        groups.setdefault(row.key, []).append(row)
    return groups
