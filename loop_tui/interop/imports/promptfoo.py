"""promptfoo results (`promptfoo eval -o results.json`) as experiments, one per provider.

Shape per promptfoo's `src/types/index.ts` (`OutputFile`, `EvaluateResult`): `{evalId, results: {version,
timestamp, prompts, results: [...], stats}, config}`; each result has `vars`, `prompt.raw`/`label`,
`provider.id`/`label`, `response.output`, `success`, `score`, `namedScores`, `gradingResult`,
`latencyMs`, `cost`, `tokenUsage` (or `response.tokenUsage`), `error` and `testCase`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.interop.imports import ImportedObject, load_json
from loop_tui.store.schema import parse_created


def read_promptfoo(path: Path) -> list[ImportedObject]:
    """One experiment per provider in a promptfoo results file."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path.name}: not a promptfoo results file (expected a JSON object)")
    body = data.get("results")
    results = body.get("results") if isinstance(body, dict) else body
    if not isinstance(results, list):
        raise UserError(f"{path.name}: not a promptfoo results file (no `results.results` list)")
    if not results:
        raise UserError(f"{path.name}: the promptfoo results are empty")
    timestamp = body.get("timestamp") if isinstance(body, dict) else None
    start = parse_created(timestamp, path.name).timestamp() if timestamp else None
    eval_id = data.get("evalId")
    by_provider: dict[str, list[dict[str, Any]]] = {}
    models: dict[str, str] = {}
    for n, result in enumerate(results, 1):
        if not isinstance(result, dict):
            raise UserError(f"{path.name} result {n}: expected an object")
        provider = result.get("provider") if isinstance(result.get("provider"), dict) else {"id": result.get("provider")}
        provider_id = str(provider.get("id") or "unknown")
        label = str(provider.get("label") or provider_id)
        models[label] = provider_id.split(":", 1)[1] if ":" in provider_id else provider_id
        by_provider.setdefault(label, []).append(_result_row(result, n, provider_id, models[label], start, eval_id))
    description = (data.get("config") or {}).get("description") if isinstance(data.get("config"), dict) else None
    return [
        ImportedObject("experiment", rows, name=f"{path.stem} · {label}",
                       description=f"promptfoo eval{' ' + repr(description) if description else ''} on {label}, "
                                   f"imported from {path.name}",
                       metadata={k: v for k, v in {"model": models[label], "provider": label, "eval_id": eval_id,
                                                   "promptfoo_version": (body or {}).get("version")
                                                   if isinstance(body, dict) else None}.items() if v is not None})
        for label, rows in by_provider.items()
    ]


def _result_row(result: dict[str, Any], n: int, provider_id: str, model: str, start: float | None,
                eval_id: Any) -> dict[str, Any]:
    where = f"result {n}"
    response = result.get("response") if isinstance(result.get("response"), dict) else {}
    scores: dict[str, float] = {}
    for name, value in (result.get("namedScores") or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            scores[str(name)] = float(value)
    if isinstance(result.get("score"), (int, float)) and not isinstance(result.get("score"), bool):
        scores.setdefault("score", float(result["score"]))
    if isinstance(result.get("success"), bool):
        scores["pass"] = 1.0 if result["success"] else 0.0
    usage = result.get("tokenUsage") or response.get("tokenUsage") or {}
    metrics: dict[str, float] = {}
    for ours, theirs in (("prompt_tokens", "prompt"), ("completion_tokens", "completion"), ("tokens", "total"),
                         ("prompt_cached_tokens", "cached")):
        if isinstance(usage, dict) and isinstance(usage.get(theirs), (int, float)):
            metrics[ours] = float(usage[theirs])
    cost = result.get("cost", response.get("cost"))
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        metrics["estimated_cost"] = float(cost)
    if start is not None:
        metrics["start"] = start
        if isinstance(result.get("latencyMs"), (int, float)):
            metrics["end"] = start + result["latencyMs"] / 1000
    test_case = result.get("testCase") if isinstance(result.get("testCase"), dict) else {}
    prompt = result.get("prompt") if isinstance(result.get("prompt"), dict) else {}
    grading = result.get("gradingResult") if isinstance(result.get("gradingResult"), dict) else {}
    variables = result.get("vars") if result.get("vars") is not None else test_case.get("vars")
    metadata = {k: v for k, v in {
        "model": model, "provider": provider_id, "prompt": prompt.get("raw"), "prompt_label": prompt.get("label"),
        "description": test_case.get("description"), "asserts": test_case.get("assert"),
        "reason": grading.get("reason"), "failure_reason": result.get("failureReason"),
        "latency_ms": result.get("latencyMs"), "eval_id": eval_id, "test_index": result.get("testIdx"),
        "prompt_index": result.get("promptIdx"),
        "components": [{k: c.get(k) for k in ("pass", "score", "reason") if k in c}
                       for c in grading.get("componentResults") or [] if isinstance(c, dict)] or None,
    }.items() if v is not None}
    error = result.get("error") or response.get("error")
    row_id = result.get("id") or f"{eval_id or 'promptfoo'}-{provider_id}-{result.get('testIdx', n)}-{result.get('promptIdx', 0)}"
    return {
        "__where__": where, "id": str(row_id),
        "created": datetime.fromtimestamp(start, UTC) if start is not None else None,
        "input": variables, "output": response.get("output"),
        "expected": (variables or {}).get("expected") if isinstance(variables, dict) else None,
        "scores": scores or None, "metrics": metrics, "metadata": metadata, "error": str(error) if error else None,
        "span_attributes": {"name": "promptfoo", "type": "eval"},
    }
