"""OTLP protobuf spans as plain Python values (`SpanRecord`), so the mapping never touches protobuf types.

Ids become lowercase hex (the OTLP JSON encoding and what every tracing UI shows), attribute values
become Python values (`AnyValue` arrays as lists, key-value lists as dicts, bytes as hex).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SpanEvent:
    """One span event (an exception, a GenAI evaluation result, a log line)."""

    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass
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


def any_value(value: Any) -> Any:
    """An `opentelemetry.proto.common.v1.AnyValue` as a Python value (None when unset)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return key_values(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def key_values(items: Any) -> dict[str, Any]:
    """A repeated `KeyValue` as a dict (a repeated key keeps its last value, as SDKs do)."""
    return {kv.key: any_value(kv.value) for kv in items}


def spans_of(request: Any) -> Iterator[SpanRecord]:
    """Every span of an `ExportTraceServiceRequest`, with its resource attributes and scope."""
    for resource_spans in request.resource_spans:
        resource = key_values(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                yield SpanRecord(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex(),
                    name=span.name,
                    kind=int(span.kind),
                    start_unix_nano=int(span.start_time_unix_nano),
                    end_unix_nano=int(span.end_time_unix_nano),
                    attributes=key_values(span.attributes),
                    events=[SpanEvent(e.name, int(e.time_unix_nano), key_values(e.attributes)) for e in span.events],
                    links=[
                        {"trace_id": link.trace_id.hex(), "span_id": link.span_id.hex(),
                         **({"attributes": key_values(link.attributes)} if link.attributes else {})}
                        for link in span.links
                    ],
                    status_code=int(span.status.code),
                    status_message=span.status.message,
                    resource=resource,
                    scope_name=scope.name,
                    scope_version=scope.version,
                )
