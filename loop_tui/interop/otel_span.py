"""OTLP protobuf spans as plain Python values (`SpanRecord`), so the mapping never touches protobuf types.

Ids become lowercase hex (the OTLP JSON encoding and what every tracing UI shows), attribute values
become Python values (`AnyValue` arrays as lists, key-value lists as dicts, bytes as hex).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SpanEvent:
    """One span event (an exception, a GenAI evaluation result, a log line)."""

    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(slots=True)
class SpanRecord:
    """One OpenTelemetry span with its resource and scope, in plain values."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_unix_nano: int
    end_unix_nano: int
    attributes: dict[str, Any]
    events: list[SpanEvent] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    status_code: int = 0  # 0 unset, 1 ok, 2 error (opentelemetry.proto.trace.v1.Status.StatusCode)
    status_message: str = ""
    resource: dict[str, Any] = field(default_factory=dict)
    scope_name: str = ""
    scope_version: str = ""


# AnyValue kinds read as they are (everything but arrays, key-value lists and bytes).
_SCALARS = frozenset(("string_value", "bool_value", "int_value", "double_value"))


def any_value(value: Any) -> Any:
    """An `opentelemetry.proto.common.v1.AnyValue` as a Python value (None when unset)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind in _SCALARS:
        return getattr(value, kind)
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return key_values(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def key_values(items: Any) -> dict[str, Any]:
    """A repeated `KeyValue` as a dict (a repeated key keeps its last value, as SDKs do)."""
    out: dict[str, Any] = {}
    for kv in items:  # scalars inline: this runs for every attribute of every span received
        value = kv.value
        kind = value.WhichOneof("value")
        out[kv.key] = getattr(value, kind) if kind in _SCALARS else any_value(value)
    return out


def spans_of(request: Any) -> Iterator[SpanRecord]:
    """Every span of an `ExportTraceServiceRequest`, with its resource attributes and scope."""
    for resource_spans in request.resource_spans:
        resource = key_values(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_name, scope_version = scope.name, scope.version
            for span in scope_spans.spans:
                status = span.status
                yield SpanRecord(
                    span.trace_id.hex(),
                    span.span_id.hex(),
                    span.parent_span_id.hex(),
                    span.name,
                    span.kind,
                    span.start_time_unix_nano,
                    span.end_time_unix_nano,
                    key_values(span.attributes),
                    [SpanEvent(e.name, e.time_unix_nano, key_values(e.attributes)) for e in span.events]
                    if span.events else [],
                    [
                        {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(),
                         **({"attributes": key_values(link.attributes)} if link.attributes else {})}
                        for link in span.links
                    ] if span.links else [],
                    status.code,
                    status.message,
                    resource,
                    scope_name,
                    scope_version,
                )
