"""The one mapping from OpenTelemetry spans to Braintrust span rows (README: "OpenTelemetry mapping").

Two attribute vocabularies are understood: the OpenTelemetry GenAI semantic conventions (`gen_ai.*`,
with the older `gen_ai.system`, `gen_ai.usage.prompt_tokens`/`completion_tokens` and the flattened
`gen_ai.prompt.N.*`/`gen_ai.completion.N.*` of OpenLLMetry) and OpenInference (`input.value`,
`llm.*`, `openinference.span.kind`, as Phoenix uses it). Every attribute this module does not turn into
a row field is kept in `metadata` under its own name, so nothing a tracer sent is lost.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from loop_tui.interop.otel_span import SpanRecord
from loop_tui.interop.otel_values import (
    as_list,
    first,
    flat_message,
    genai_message,
    json_object,
    json_value,
    listify,
    mime_value,
    number,
    openinference_message,
    parts_text,
    set_path,
)

# openinference.span.kind -> Braintrust span type.
_OPENINFERENCE_TYPES = {
    "LLM": "llm", "EMBEDDING": "llm", "CHAIN": "task", "AGENT": "task", "TOOL": "tool",
    "RETRIEVER": "function", "RERANKER": "function", "GUARDRAIL": "function", "EVALUATOR": "score",
}
# gen_ai.operation.name -> Braintrust span type.
_GENAI_TYPES = {
    "chat": "llm", "text_completion": "llm", "generate_content": "llm", "embeddings": "llm",
    "execute_tool": "tool", "invoke_agent": "task", "create_agent": "task", "invoke_workflow": "task",
}
# Braintrust metric name <- attribute names, first present wins (newest convention first).
_TOKEN_METRICS = {
    "prompt_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt"),
    "completion_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"),
    "tokens": ("llm.token_count.total", "gen_ai.usage.total_tokens"),
    "prompt_cached_tokens": ("gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read"),
    "prompt_cache_creation_tokens": ("gen_ai.usage.cache_creation.input_tokens",
                                     "llm.token_count.prompt_details.cache_write"),
    "completion_reasoning_tokens": ("gen_ai.usage.reasoning.output_tokens",
                                    "llm.token_count.completion_details.reasoning"),
    "time_to_first_token": ("gen_ai.response.time_to_first_chunk",),
}
_MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name", "embedding.model_name",
               "reranker.model_name")
_PROVIDER_KEYS = ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system")
_METRIC_ATTRS = {attr: (metric, rank) for metric, keys in _TOKEN_METRICS.items() for rank, attr in enumerate(keys)}
# Attributes consumed by the mapping (and so not repeated in metadata).
_CONSUMED = {
    *(k for keys in _TOKEN_METRICS.values() for k in keys), *_MODEL_KEYS, *_PROVIDER_KEYS,
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions", "gen_ai.prompt",
    "gen_ai.completion", "gen_ai.operation.name", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
    "input.value", "input.mime_type", "output.value", "output.mime_type", "openinference.span.kind",
    "llm.invocation_parameters", "metadata", "tag.tags", "llm.cost.total", "llm.cost.prompt", "llm.cost.completion",
    "gen_ai.evaluation.name", "gen_ai.evaluation.score.value", "gen_ai.evaluation.score.label",
    "gen_ai.evaluation.explanation",
}
# Flattened lists: `llm.input_messages.0.message.role` and the like.
_LIST_PREFIXES = ("llm.input_messages", "llm.output_messages", "gen_ai.prompt", "gen_ai.completion",
                  "evaluations", "annotations", "trace.evaluations", "trace.annotations",
                  "session.evaluations", "session.annotations")
_LIST_STARTS = tuple(p + "." for p in _LIST_PREFIXES)  # a cheap test before the regex
_FEEDBACK_STARTS = ("gen_ai.evaluation.", "evaluation.", "annotation.")
_SPAN_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_LIST_ITEM = re.compile(r"^(" + "|".join(re.escape(p) for p in _LIST_PREFIXES) + r")\.(\d+)\.(.+)$")
_STATUS_ERROR = 2
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8})$")  # gpt-4o-mini-2024-07-18, claude-3-5-haiku-20241022


# What an attribute name means to the mapping, worked out once per distinct name (names repeat on every span).
_PASS, _CONSUMED_KEY, _METRIC, _REQUEST_PARAM, _LIST_KEY = range(5)
_KEY_INFO: dict[str, tuple[int, Any, str, bool]] = {}  # name -> (role, detail, head, feedback-like)
_KEY_INFO_LIMIT = 65_536  # flattened list names carry indices, so the set of names is open-ended


def _key_info(key: str) -> tuple[int, Any, str, bool]:
    """(role, detail, first dotted segment, starts like an evaluation) for one attribute name."""
    info = _KEY_INFO.get(key)
    if info is not None:
        return info
    head = key.split(".", 1)[0]
    feedback = key.startswith(_FEEDBACK_STARTS)
    if key in _METRIC_ATTRS:
        info = (_METRIC, _METRIC_ATTRS[key], head, feedback)
    elif key in _CONSUMED:
        info = (_CONSUMED_KEY, None, head, feedback)
    elif key.startswith("gen_ai.request."):
        info = (_REQUEST_PARAM, key.removeprefix("gen_ai.request."), head, feedback)
    elif key.startswith(_LIST_STARTS) and (match := _LIST_ITEM.match(key)):
        info = (_LIST_KEY, (match.group(1), int(match.group(2)), match.group(3)), head, feedback)
    else:
        info = (_PASS, None, head, feedback)
    if len(_KEY_INFO) >= _KEY_INFO_LIMIT:
        _KEY_INFO.clear()
    _KEY_INFO[key] = info
    return info


def span_to_row(span: SpanRecord) -> dict[str, Any]:
    """One OpenTelemetry span as a Braintrust span row (validated later by `schema.normalize_span`)."""
    attrs = span.attributes
    # One pass over the attributes sorts each into its place (dict dispatch on the name, cached).
    kept: list[tuple[str, Any, tuple[int, Any, str, bool]]] = []  # candidates for metadata, in order
    request_params: list[tuple[str, Any]] = []
    found_metrics: dict[str, tuple[int, float]] = {}  # metric -> (rank of the attribute it came from, value)
    flat_lists: dict[str, dict[int, dict[str, Any]]] = {}
    feedback = False
    known = _KEY_INFO
    for key, value in attrs.items():
        info = known.get(key) or _key_info(key)
        role = info[0]
        feedback = feedback or info[3]
        if role == _PASS:
            kept.append((key, value, info))
        elif role == _METRIC:
            metric, rank = info[1]
            parsed = number(value)
            if parsed is not None and (metric not in found_metrics or rank < found_metrics[metric][0]):
                found_metrics[metric] = (rank, parsed)
        elif role == _REQUEST_PARAM:
            request_params.append((info[1], value))
        elif role == _LIST_KEY:
            prefix, index, rest = info[1]
            set_path(flat_lists.setdefault(prefix, {}).setdefault(index, {}), rest, value)
            kept.append((key, value, info))
    lists = {prefix: [listify(by_index[i]) for i in sorted(by_index)] for prefix, by_index in flat_lists.items()}
    metadata: dict[str, Any] = {}
    scores: dict[str, float] = {}
    evaluations: list[dict[str, Any]] = []

    used_lists: set[str] = set()  # flattened-list prefixes the mapping consumed
    input_value, output_value = _input_output(attrs, lists, used_lists)
    model = first(attrs, _MODEL_KEYS)
    provider = first(attrs, _PROVIDER_KEYS)
    if model is not None:
        metadata["model"] = str(model)
    if provider is not None:
        metadata["provider"] = str(provider)
    for key, value in request_params:
        metadata[key] = value  # temperature, max_tokens, ... as Braintrust logs them
    if "llm.invocation_parameters" in attrs:
        params = json_object(attrs["llm.invocation_parameters"])
        for key, value in (params or {}).items():
            metadata.setdefault(key, value)
    if "metadata" in attrs:
        own_metadata = json_object(attrs["metadata"])
        if own_metadata:
            metadata.update(own_metadata)

    request_model = attrs.get("gen_ai.request.model")
    metrics = _metrics(span, attrs, found_metrics, [m for m in (model, request_model) if isinstance(m, str)])
    if feedback or span.events or lists:
        _collect_feedback(attrs, lists, span, scores, evaluations, used_lists)
    if evaluations:
        metadata["evaluations"] = evaluations
    for key, value, info in kept:
        if used_lists and (info[0] == _LIST_KEY and info[1][0] in used_lists or info[2] in used_lists):
            continue
        metadata[key] = value  # unmapped attributes stay, under their own names
    _span_context(span, metadata)

    row: dict[str, Any] = {
        "id": span.span_id,
        "span_id": span.span_id,
        "root_span_id": span.trace_id,
        "span_parents": [span.parent_span_id] if span.parent_span_id else [],
        "created": datetime.fromtimestamp(span.start_unix_nano / 1e9, UTC) if span.start_unix_nano else None,
        "input": input_value,
        "output": output_value,
        "metadata": metadata or None,
        "metrics": metrics,
        "span_attributes": {"name": span.name or "span", "type": _span_type(attrs)},
        "error": _error(span) if span.events or span.status_code == _STATUS_ERROR else None,
    }
    if scores:
        row["scores"] = scores
    tags = attrs.get("tag.tags")
    if isinstance(tags, list) and tags:
        row["tags"] = [str(t) for t in tags]
    return row


# ----- input and output ------------------------------------------------------------------------------
def _input_output(
    attrs: dict[str, Any], lists: dict[str, list[dict[str, Any]]], used_lists: set[str]
) -> tuple[Any, Any]:
    """(input, output): GenAI messages first, then OpenInference messages, then the plain values."""
    input_value = _side(attrs, lists, used_lists, "input", "prompt", "gen_ai.tool.call.arguments")
    if "gen_ai.system_instructions" in attrs:
        system = json_value(attrs["gen_ai.system_instructions"])
        text = parts_text(system) if isinstance(system, list) else system
        input_value = [{"role": "system", "content": text}, *(input_value if isinstance(input_value, list) else
                                                               ([] if input_value is None else [input_value]))]
    output_value = _side(attrs, lists, used_lists, "output", "completion", "gen_ai.tool.call.result")
    return input_value, output_value


def _side(attrs: dict[str, Any], lists: dict[str, list[dict[str, Any]]], used_lists: set[str],
          side: str, legacy: str, tool_key: str) -> Any:
    """One side of a span (`side` is "input" or "output"; OpenLLMetry calls them prompt and completion), from
    the first convention the span carries."""
    messages, oi_list, legacy_key = f"gen_ai.{side}.messages", f"llm.{side}_messages", f"gen_ai.{legacy}"
    if messages in attrs:
        return [genai_message(m) for m in as_list(json_value(attrs[messages]))]
    if lists.get(oi_list):
        used_lists.add(oi_list)
        return [openinference_message(m) for m in lists[oi_list]]
    if lists.get(legacy_key):
        used_lists.add(legacy_key)
        return [flat_message(m) for m in lists[legacy_key]]
    if legacy_key in attrs:
        return json_value(attrs[legacy_key])
    if tool_key in attrs:
        return json_value(attrs[tool_key])
    if f"{side}.value" in attrs:
        return mime_value(attrs[f"{side}.value"], attrs.get(f"{side}.mime_type"))
    return None


# ----- metrics -----------------------------------------------------------------------------------------
def _metrics(span: SpanRecord, attrs: dict[str, Any], found: dict[str, tuple[int, float]],
             models: list[str]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    if span.start_unix_nano:
        metrics["start"] = span.start_unix_nano / 1e9
    if span.end_unix_nano:
        metrics["end"] = span.end_unix_nano / 1e9
    for name, (_, parsed) in found.items():
        metrics[name] = parsed
    if "tokens" not in metrics and ("prompt_tokens" in metrics or "completion_tokens" in metrics):
        metrics["tokens"] = metrics.get("prompt_tokens", 0.0) + metrics.get("completion_tokens", 0.0)
    cost = number(attrs.get("llm.cost.total"))
    if cost is None and ("llm.cost.prompt" in attrs or "llm.cost.completion" in attrs):
        parts = [number(attrs.get("llm.cost.prompt")), number(attrs.get("llm.cost.completion"))]
        cost = sum(p for p in parts if p is not None) if any(p is not None for p in parts) else None
    if cost is None and ("prompt_tokens" in metrics or "completion_tokens" in metrics):
        usage = (int(metrics.get("prompt_tokens", 0)), int(metrics.get("completion_tokens", 0)),
                 int(metrics.get("prompt_cached_tokens", 0)), int(metrics.get("prompt_cache_creation_tokens", 0)))
        # The response model is often a dated snapshot the price table lacks: try the request model and the
        # undated name too.
        cost = next((c for name in _price_names(tuple(models)) if (c := _priced(name, *usage)) is not None), None)
    if cost is not None:
        metrics["estimated_cost"] = cost
    return metrics


@lru_cache(maxsize=1024)
def _price_names(models: tuple[str, ...]) -> tuple[str, ...]:
    """The names to look a model up by: as sent, then without a date suffix."""
    undated = tuple(_DATED.sub("", m) for m in models)
    return tuple(dict.fromkeys(models + undated))


@lru_cache(maxsize=4096)
def _priced(model: str, prompt: int, completion: int, cached: int, written: int) -> float | None:
    """USD cost from the model price table (`loop_tui/data/models.json`), None for an unpriced model."""
    from loop_tui.llm.base import Usage
    from loop_tui.llm.catalog import estimate_cost

    usage = Usage(prompt_tokens=prompt, completion_tokens=completion, prompt_cached_tokens=cached,
                  prompt_cache_creation_tokens=written)
    return estimate_cost(model, usage)


# ----- scores ------------------------------------------------------------------------------------------
def _collect_feedback(attrs: dict[str, Any], lists: dict[str, list[dict[str, Any]]], span: SpanRecord,
                      scores: dict[str, float], evaluations: list[dict[str, Any]], used_lists: set[str]) -> None:
    """GenAI evaluation results (attributes or `gen_ai.evaluation.result` events) and OpenInference
    evaluations/annotations: numeric values become scores, every result is kept in metadata."""
    heads = {key.split(".", 1)[0] for key in attrs}
    found: list[dict[str, Any]] = []
    if "gen_ai.evaluation.name" in attrs:
        found.append(_genai_evaluation(attrs))
    for event in span.events:
        if event.name == "gen_ai.evaluation.result" or "gen_ai.evaluation.name" in event.attributes:
            found.append(_genai_evaluation(event.attributes))
    for prefix in heads & {"evaluation", "annotation"}:
        own = {k.removeprefix(prefix + "."): v for k, v in attrs.items() if k.startswith(prefix + ".")}
        if "name" in own:
            found.append(own)
            used_lists.add(prefix)  # `evaluation.*` keys: split(".")[0] is the prefix
    for key in ("evaluations", "annotations", "trace.evaluations", "trace.annotations",
                "session.evaluations", "session.annotations"):
        items = lists.get(key, [])
        for item in items:
            inner = item.get("evaluation") or item.get("annotation") or item
            if isinstance(inner, dict) and "name" in inner:
                found.append(inner)
        if items:
            used_lists.add(key)
    for result in found:
        result = {k: v for k, v in result.items() if v is not None}
        evaluations.append(result)
        score = number(result.get("score"))
        if score is not None and isinstance(result.get("name"), str):
            scores[result["name"]] = score


def _genai_evaluation(attrs: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": attrs.get("gen_ai.evaluation.name"),
        "score": attrs.get("gen_ai.evaluation.score.value"),
        "label": attrs.get("gen_ai.evaluation.score.label"),
        "explanation": attrs.get("gen_ai.evaluation.explanation"),
    }


# ----- span type, error, context -----------------------------------------------------------------------
def _span_type(attrs: dict[str, Any]) -> str:
    kind = attrs.get("openinference.span.kind")
    if isinstance(kind, str) and kind.upper() in _OPENINFERENCE_TYPES:
        return _OPENINFERENCE_TYPES[kind.upper()]
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str) and operation in _GENAI_TYPES:
        return _GENAI_TYPES[operation]
    if "gen_ai.evaluation.name" in attrs:
        return "score"
    if any(k in attrs for k in _MODEL_KEYS):
        return "llm"
    return "task"


def _error(span: SpanRecord) -> str | None:
    """The span's error: its ERROR status message and every `exception` event (type: message, stack)."""
    parts: list[str] = []
    for event in span.events:
        if event.name != "exception":
            continue
        kind = event.attributes.get("exception.type")
        message = event.attributes.get("exception.message")
        head = ": ".join(str(p) for p in (kind, message) if p) or "exception"
        stack = event.attributes.get("exception.stacktrace")
        parts.append(f"{head}\n{stack}" if stack else head)
    if span.status_code == _STATUS_ERROR:
        message = span.status_message or "error"
        if not any(message in p for p in parts):
            parts.insert(0, message)
    elif not parts:
        return None
    return "\n\n".join(parts) if parts else None


def _span_context(span: SpanRecord, metadata: dict[str, Any]) -> None:
    """Resource, scope, other events and links: kept in metadata under `otel.*` (never lost)."""
    if span.resource:
        metadata["otel.resource"] = span.resource
    if span.scope_name:
        metadata["otel.scope"] = {"name": span.scope_name, **({"version": span.scope_version} if span.scope_version else {})}
    if 0 < span.kind < len(_SPAN_KINDS):
        metadata["otel.span_kind"] = _SPAN_KINDS[span.kind]
    others = [
        {"name": e.name, "time": e.time_unix_nano / 1e9, **({"attributes": e.attributes} if e.attributes else {})}
        for e in span.events if e.name not in ("exception", "gen_ai.evaluation.result")
    ]
    if others:
        metadata["otel.events"] = others
    if span.links:
        metadata["otel.links"] = span.links
