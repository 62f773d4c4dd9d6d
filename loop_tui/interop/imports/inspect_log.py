"""inspect_ai eval logs (`.eval` and `.json`) as one experiment: each sample (per epoch) a row.

The files are read directly so inspect_ai is not a runtime dependency: a `.json` log is the `EvalLog`
as JSON; a `.eval` log is a zip of `header.json` (the log without samples) and `samples/*.json`
(inspect_ai `log/_recorders/eval.py`). Recent inspect_ai versions compress the zip with zstd, which
Python 3.11's zipfile reads only with the `zipfile-zstd` package (installed with inspect_ai).
Score values are turned into numbers the way inspect's `value_to_float` does: C=1, P=0.5, I=N=0,
"yes"/"true"=1, "no"/"false"=0, numeric strings as numbers; a dict value gives one score per key.
"""

from __future__ import annotations

import json
import math
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.interop.imports import ImportedObject
from loop_tui.store.schema import parse_created

_SENTINELS = {"C": 1.0, "P": 0.5, "I": 0.0, "N": 0.0}


def value_to_float(value: Any) -> float | None:
    """inspect_ai's `value_to_float` with its default sentinels; None for lists and other non-scalars."""
    if isinstance(value, str) and value in _SENTINELS:
        return _SENTINELS[value]
    if isinstance(value, (bool, int, float)):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("yes", "true"):
            return 1.0
        if lowered in ("no", "false"):
            return 0.0
        try:
            number = float(lowered)
        except ValueError:
            return 0.0  # inspect warns and counts an unreadable value as 0
        return number if math.isfinite(number) else 0.0
    return None


def read_inspect_log(path: Path) -> ImportedObject:
    """One experiment from an inspect_ai log."""
    log, samples = _read_eval(path) if path.suffix.lower() == ".eval" else _read_json(path)
    spec = log.get("eval") if isinstance(log.get("eval"), dict) else None
    if spec is None:
        raise UserError(f"{path.name}: not an inspect_ai log (no `eval` section)")
    if not samples:
        raise UserError(f"{path.name}: the log has no samples (was it run with log_samples=False?)")
    task = str(spec.get("task") or path.stem)
    model = str(spec.get("model") or "")
    rows = [_sample_row(sample, task, model, f"sample {n}", path) for n, sample in enumerate(samples, 1)]
    created = spec.get("created")
    when = ""
    if isinstance(created, str):
        try:
            when = " " + datetime.fromisoformat(created.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            when = ""
    metadata = {
        "model": model, "task": task, "eval_id": spec.get("eval_id"), "run_id": spec.get("run_id"),
        "created": created, "status": log.get("status"), "dataset": (spec.get("dataset") or {}).get("name"),
        "inspect_version": (spec.get("packages") or {}).get("inspect_ai"),
        "scorers": [s.get("name") for s in spec.get("scorers") or [] if isinstance(s, dict)],
    }
    return ImportedObject("experiment", rows, name=f"{task} · {model}{when}",
                          description=f"inspect_ai eval {task} on {model}, imported from {path.name}",
                          metadata={k: v for k, v in metadata.items() if v not in (None, [], "")})


def _read_json(path: Path) -> tuple[dict[str, Any], list[Any]]:
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(log, dict):
        raise UserError(f"{path.name}: not an inspect_ai log (expected a JSON object)")
    return log, list(log.get("samples") or [])


def _read_eval(path: Path) -> tuple[dict[str, Any], list[Any]]:
    try:
        import zipfile_zstd  # noqa: F401  (registers zstd with zipfile, as inspect_ai does)
    except ImportError:
        pass
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            header_name = "header.json" if "header.json" in names else "_journal/start.json"
            if header_name not in names:
                raise UserError(f"{path.name}: not an inspect_ai .eval log (no header.json)")
            log = json.loads(archive.read(header_name))
            samples = [json.loads(archive.read(n)) for n in sorted(names)
                       if n.startswith("samples/") and n.endswith(".json")]
    except NotImplementedError:
        raise UserError(f"{path.name} is compressed with zstd; install `zipfile-zstd` (it comes with inspect-ai) "
                        "or convert it with `inspect log convert --to json`") from None
    except (zipfile.BadZipFile, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path.name}: not a readable inspect_ai .eval log ({exc})") from None
    return log, samples


def _sample_row(sample: Any, task: str, model: str, where: str, path: Path) -> dict[str, Any]:
    if not isinstance(sample, dict) or "input" not in sample:
        raise UserError(f"{path.name} {where}: an inspect_ai sample needs `input`")
    where = f"{where} (id {sample.get('id')!r}, epoch {sample.get('epoch', 1)})"
    scores: dict[str, float] = {}
    details: dict[str, Any] = {}
    for name, score in (sample.get("scores") or {}).items():
        if not isinstance(score, dict):
            raise UserError(f"{path.name} {where}: score {name!r} is not a Score object")
        value = score.get("value")
        if isinstance(value, dict):
            for key, item in value.items():
                number = value_to_float(item)
                if number is not None:
                    scores[f"{name}/{key}"] = number
        else:
            number = value_to_float(value)
            if number is not None:
                scores[name] = number
        details[name] = {k: score[k] for k in ("value", "answer", "explanation") if score.get(k) is not None}
    output = sample.get("output") if isinstance(sample.get("output"), dict) else {}
    metadata: dict[str, Any] = {**(sample.get("metadata") or {}), "model": output.get("model") or model,
                                "sample_id": sample.get("id"), "epoch": sample.get("epoch", 1)}
    if details:
        metadata["scores"] = details
    metrics = _usage_metrics(sample.get("model_usage") or {}, where, path)
    started = sample.get("started_at")
    if started:
        metrics["start"] = parse_created(started, f"{path.name} {where}").timestamp()
        if sample.get("completed_at"):
            metrics["end"] = parse_created(sample["completed_at"], f"{path.name} {where}").timestamp()
        elif isinstance(sample.get("total_time"), (int, float)):
            metrics["end"] = metrics["start"] + sample["total_time"]
    error = sample.get("error")
    target = sample.get("target")
    return {
        "__where__": where,
        "id": str(sample.get("uuid") or f"{task}-{sample.get('id')}-{sample.get('epoch', 1)}"),
        "created": started or None,
        "input": _messages(sample["input"]),
        "expected": target[0] if isinstance(target, list) and len(target) == 1 else target,
        "output": output.get("completion"),
        "scores": scores or None,
        "metadata": metadata,
        "metrics": metrics,
        "error": (error.get("message") if isinstance(error, dict) else error) or None,
        "span_attributes": {"name": task, "type": "eval"},
    }


def _messages(value: Any) -> Any:
    """Chat input as `{role, content}` messages (inspect's ids and sources dropped); text as it is."""
    if not isinstance(value, list):
        return value
    return [{k: m[k] for k in ("role", "content", "tool_calls", "tool_call_id") if m.get(k) is not None}
            if isinstance(m, dict) else m for m in value]


def _usage_metrics(usage: dict[str, Any], where: str, path: Path) -> dict[str, float]:
    """Token counts (and cost) summed over the models a sample used."""
    if not isinstance(usage, dict):
        raise UserError(f"{path.name} {where}: `model_usage` must be an object")
    totals: dict[str, float] = {}
    names = {"input_tokens": "prompt_tokens", "output_tokens": "completion_tokens", "total_tokens": "tokens",
             "input_tokens_cache_read": "prompt_cached_tokens", "input_tokens_cache_write": "prompt_cache_creation_tokens",
             "reasoning_tokens": "completion_reasoning_tokens", "total_cost": "estimated_cost"}
    for model_usage in usage.values():
        if not isinstance(model_usage, dict):
            continue
        for theirs, ours in names.items():
            value = model_usage.get(theirs)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                totals[ours] = totals.get(ours, 0.0) + float(value)
    if "estimated_cost" not in totals and len(usage) == 1 and ("prompt_tokens" in totals or "completion_tokens" in totals):
        from loop_tui.llm.base import Usage
        from loop_tui.llm.catalog import estimate_cost

        cost = estimate_cost(next(iter(usage)), Usage(prompt_tokens=int(totals.get("prompt_tokens", 0)),
                                                       completion_tokens=int(totals.get("completion_tokens", 0))))
        if cost is not None:
            totals["estimated_cost"] = cost
    return totals
