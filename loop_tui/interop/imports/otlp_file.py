"""OTLP JSON trace files (what the OpenTelemetry Collector's file exporter writes: one
`ExportTraceServiceRequest` JSON per line, or one per file) and Phoenix's span JSON (OpenInference
attributes), into project-log rows through the same mapping as the live receiver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.interop.imports import ImportedObject, load_json
from loop_tui.interop.otel_mapping import span_to_row
from loop_tui.interop.otel_span import SpanEvent, SpanRecord, spans_of
from loop_tui.interop.otlp_decode import OtlpError, parse_json_request


def read_spans_file(path: Path) -> ImportedObject:
    """Every span of an OTLP JSON (or JSONL) file, or of a Phoenix span export, as log rows."""
    data = load_json(path)
    records = data if isinstance(data, list) else [data]
    rows: list[dict[str, Any]] = []
    for n, record in enumerate(records, 1):
        where = f"record {n}" if len(records) > 1 else "the file"
        if isinstance(record, dict) and ("resourceSpans" in record or "resource_spans" in record):
            try:
                request = parse_json_request(record, where)
            except OtlpError as err:
                raise UserError(f"{path.name}: {err.message}") from None
            spans = list(spans_of(request))
        elif isinstance(record, dict) and isinstance(record.get("data"), list):  # Phoenix REST: {"data": [...]}
            spans = [_phoenix_span(s, f"{where} span {i}", path) for i, s in enumerate(record["data"], 1)]
        elif isinstance(record, dict) and isinstance(record.get("context"), dict):
            spans = [_phoenix_span(record, where, path)]
        else:
            raise UserError(f"{path.name} {where}: not an OTLP ExportTraceServiceRequest (no resourceSpans) "
                            "nor a Phoenix span (no context)")
        for span in spans:
            if len(span.span_id) != 16 or len(span.trace_id) != 32:
                raise UserError(f"{path.name} {where}: span {span.name!r} has no valid trace id and span id")
            row = span_to_row(span)
            row["__where__"] = f"{where} span {span.name!r}"
            rows.append(row)
    return ImportedObject("project_logs", rows)


def _phoenix_span(span: Any, where: str, path: Path) -> SpanRecord:
    """A span as Phoenix's API and `px.Client` JSON export write it (attributes flat or nested)."""
    if not isinstance(span, dict) or not isinstance(span.get("context"), dict):
        raise UserError(f"{path.name} {where}: a Phoenix span needs a `context` with trace_id and span_id")
    context = span["context"]
    attributes = _flatten(span.get("attributes") or {})
    if span.get("span_kind") and "openinference.span.kind" not in attributes:
        attributes["openinference.span.kind"] = span["span_kind"]
    status = str(span.get("status_code") or "UNSET").upper()
    return SpanRecord(
        trace_id=_hex(context.get("trace_id")), span_id=_hex(context.get("span_id")),
        parent_span_id=_hex(span.get("parent_id")), name=str(span.get("name") or "span"), kind=0,
        start_unix_nano=_nanos(span.get("start_time"), where, path), end_unix_nano=_nanos(span.get("end_time"), where, path),
        attributes=attributes,
        events=[SpanEvent(str(e.get("name")), _nanos(e.get("timestamp"), where, path), _flatten(e.get("attributes") or {}))
                for e in span.get("events") or [] if isinstance(e, dict)],
        status_code=2 if status == "ERROR" else 1 if status == "OK" else 0,
        status_message=str(span.get("status_message") or ""),
    )


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested attribute dicts (`{"llm": {"model_name": …}}`) as dotted keys; lists of dicts get indices."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}{key}."))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for n, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}{n}."))
    else:
        out[prefix[:-1]] = value
    return out


def _hex(value: Any) -> str:
    text = str(value or "").lower().removeprefix("0x")
    return text if all(c in "0123456789abcdef" for c in text) else ""


def _nanos(value: Any, where: str, path: Path) -> int:
    if value in (None, ""):
        return 0
    from loop_tui.store.schema import parse_created

    return int(parse_created(value, f"{path.name} {where}").timestamp() * 1e9)
