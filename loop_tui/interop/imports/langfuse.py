"""Langfuse exports as project-log rows: each trace a root span, each observation a child span, scores on
the span they name.

Accepted shapes, as Langfuse's public API returns them (`GET /api/public/traces`, `/observations`,
`/scores`, each `{"data": [...], "meta": {...}}`; `GET /api/public/traces/{id}` gives one trace with its
`observations` and `scores` inlined): a JSON object with `traces`/`observations`/`scores` (lists or
API pages), a list (or JSONL) of traces with inlined observations and scores, or of observations.
Fields follow Langfuse's `ApiTrace`, `ApiObservation` and `ApiScore` types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.interop.imports import ImportedObject, load_json
from loop_tui.store.schema import parse_created

# Langfuse observation type -> Braintrust span type.
_TYPES = {"GENERATION": "llm", "EMBEDDING": "llm", "SPAN": "task", "AGENT": "task", "CHAIN": "task", "TOOL": "tool",
          "RETRIEVER": "function", "EVALUATOR": "score", "GUARDRAIL": "function", "EVENT": "task"}


def read_langfuse(path: Path) -> ImportedObject:
    """Traces, observations and scores of a Langfuse export as log rows."""
    traces, observations, scores = _split(load_json(path), path)
    if not traces and not observations:
        raise UserError(f"{path.name}: no Langfuse traces or observations found")
    rows: dict[str, dict[str, Any]] = {}
    for n, trace in enumerate(traces, 1):
        row = _trace_row(trace, f"trace {n}", path)
        rows[row["id"]] = row
    for n, observation in enumerate(observations, 1):
        row = _observation_row(observation, f"observation {n}", path)
        rows[row["id"]] = row
    for n, score in enumerate(scores, 1):
        _attach_score(score, rows, f"score {n}", path)
    return ImportedObject("project_logs", list(rows.values()))


def _split(data: Any, path: Path) -> tuple[list[Any], list[Any], list[Any]]:
    """(traces, observations, scores) from any accepted shape."""
    traces: list[Any] = []
    observations: list[Any] = []
    scores: list[Any] = []
    if isinstance(data, dict) and ({"traces", "observations", "scores"} & set(data)):
        traces, observations, scores = (_page(data.get(k), k, path) for k in ("traces", "observations", "scores"))
    else:
        items = _page(data, "records", path) if isinstance(data, dict) and "data" in data else \
            (data if isinstance(data, list) else [data])
        for item in items:
            if isinstance(item, dict) and "traceId" in item and "value" in item and "name" in item \
                    and "startTime" not in item:
                scores.append(item)
            elif isinstance(item, dict) and "traceId" in item:
                observations.append(item)
            else:
                traces.append(item)
    for trace in traces:  # a trace fetched by id carries its observations and scores
        if isinstance(trace, dict):
            observations += [o for o in trace.get("observations") or [] if isinstance(o, dict)]
            scores += [s for s in trace.get("scores") or [] if isinstance(s, dict)]
    return traces, observations, scores


def _page(value: Any, key: str, path: Path) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return value["data"]
    if isinstance(value, list):
        return value
    raise UserError(f"{path.name}: `{key}` must be a list or an API page with `data`")


def _trace_row(trace: Any, where: str, path: Path) -> dict[str, Any]:
    if not isinstance(trace, dict) or not trace.get("id"):
        raise UserError(f"{path.name} {where}: a Langfuse trace needs an `id`")
    trace_id = str(trace["id"])
    start = _time(trace.get("timestamp"), where, path)
    metadata = {k: v for k, v in {
        "session_id": trace.get("sessionId"), "user_id": trace.get("userId"), "release": trace.get("release"),
        "version": trace.get("version"), "environment": trace.get("environment"),
    }.items() if v is not None}
    if isinstance(trace.get("metadata"), dict):
        metadata.update(trace["metadata"])
    metrics = {"start": start} if start is not None else {}
    if start is not None and isinstance(trace.get("latency"), (int, float)):
        metrics["end"] = start + float(trace["latency"])  # Langfuse reports trace latency in seconds
    if isinstance(trace.get("totalCost"), (int, float)) and trace["totalCost"]:
        metadata["langfuse_total_cost"] = trace["totalCost"]  # the sum of its observations; not double counted
    return {
        "__where__": where, "id": trace_id, "span_id": trace_id, "root_span_id": trace_id, "span_parents": [],
        "created": trace.get("timestamp"), "input": trace.get("input"), "output": trace.get("output"),
        "metadata": metadata or None, "metrics": metrics,
        "tags": [str(t) for t in trace.get("tags") or []] or None,
        "span_attributes": {"name": trace.get("name") or "trace", "type": "task"},
    }


def _observation_row(obs: dict[str, Any], where: str, path: Path) -> dict[str, Any]:
    if not obs.get("id") or not obs.get("traceId"):
        raise UserError(f"{path.name} {where}: a Langfuse observation needs `id` and `traceId`")
    trace_id = str(obs["traceId"])
    start = _time(obs.get("startTime"), where, path)
    end = _time(obs.get("endTime"), where, path)
    metrics: dict[str, float] = {}
    if start is not None:
        metrics["start"] = start
    if end is not None:
        metrics["end"] = end
    first_token = _time(obs.get("completionStartTime"), where, path)
    if first_token is not None and start is not None:
        metrics["time_to_first_token"] = first_token - start
    usage = obs.get("usageDetails") or obs.get("usage") or {}
    if isinstance(usage, dict):
        for ours, theirs in (("prompt_tokens", ("input", "promptTokens")), ("completion_tokens", ("output", "completionTokens")),
                             ("tokens", ("total", "totalTokens")), ("prompt_cached_tokens", ("input_cached_tokens", "cache_read_input_tokens"))):
            value = next((usage[k] for k in theirs if isinstance(usage.get(k), (int, float))), None)
            if value is not None:
                metrics[ours] = float(value)
    cost = obs.get("costDetails") or {}
    total_cost = cost.get("total") if isinstance(cost, dict) else None
    if not isinstance(total_cost, (int, float)):
        total_cost = obs.get("calculatedTotalCost") or obs.get("totalCost")
    if isinstance(total_cost, (int, float)):
        metrics["estimated_cost"] = float(total_cost)
    metadata: dict[str, Any] = {}
    if obs.get("model"):
        metadata["model"] = obs["model"]
    if isinstance(obs.get("modelParameters"), dict):
        metadata.update(obs["modelParameters"])
    if isinstance(obs.get("metadata"), dict):
        metadata.update(obs["metadata"])
    for key in ("level", "version", "promptId", "promptName", "environment"):
        if obs.get(key) not in (None, "DEFAULT"):
            metadata[key] = obs[key]
    error = obs.get("statusMessage") or "error" if obs.get("level") == "ERROR" else None
    if obs.get("statusMessage") and error is None:
        metadata["status_message"] = obs["statusMessage"]
    parent = obs.get("parentObservationId") or trace_id
    return {
        "__where__": where, "id": str(obs["id"]), "span_id": str(obs["id"]), "root_span_id": trace_id,
        "span_parents": [str(parent)], "created": obs.get("startTime"), "input": obs.get("input"),
        "output": obs.get("output"), "metadata": metadata or None, "metrics": metrics, "error": error,
        "span_attributes": {"name": obs.get("name") or str(obs.get("type") or "span").lower(),
                            "type": _TYPES.get(str(obs.get("type") or "SPAN").upper(), "task")},
    }


def _attach_score(score: Any, rows: dict[str, dict[str, Any]], where: str, path: Path) -> None:
    """A numeric or boolean score on the observation (or trace) it names; categorical ones in metadata."""
    if not isinstance(score, dict) or not score.get("name"):
        raise UserError(f"{path.name} {where}: a Langfuse score needs a `name`")
    target_id = score.get("observationId") or score.get("traceId")
    row = rows.get(str(target_id)) if target_id else None
    if row is None:
        raise UserError(f"{path.name} {where} ({score['name']!r}): it scores {target_id!r}, which is not in the file")
    value = score.get("value")
    kind = str(score.get("dataType") or "NUMERIC").upper()
    if kind in ("NUMERIC", "BOOLEAN") and isinstance(value, (int, float)) and not isinstance(value, bool):
        row.setdefault("scores", {})[str(score["name"])] = float(value)
    elif isinstance(value, bool):
        row.setdefault("scores", {})[str(score["name"])] = 1.0 if value else 0.0
    detail = {k: v for k, v in {"name": score["name"], "value": score.get("stringValue", value),
                                "comment": score.get("comment"), "source": score.get("source")}.items() if v is not None}
    metadata = row.get("metadata") or {}
    metadata.setdefault("langfuse_scores", []).append(detail)
    row["metadata"] = metadata


def _time(value: Any, where: str, path: Path) -> float | None:
    if value in (None, ""):
        return None
    return parse_created(value, f"{path.name} {where}").timestamp()
