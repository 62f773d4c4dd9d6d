"""Decoding OTLP/HTTP trace bodies (protobuf or JSON, maybe gzip) into validated Braintrust span rows.

Decoding uses the official definitions (`opentelemetry-proto`); JSON goes through protobuf's
`json_format` after applying the OTLP JSON rules that differ from protobuf's canonical JSON (trace and
span ids are hex, not base64). Every limit is checked before any row is produced, so a rejected body
writes nothing.
"""

from __future__ import annotations

import base64
import json
import zlib
from functools import cache
from typing import Any

from loop_tui.errors import UserError
from loop_tui.interop.otel_mapping import span_to_row
from loop_tui.interop.otel_span import spans_of
from loop_tui.interop.otel_storable import storable_span

MAX_BODY_BYTES = 16 * 1024 * 1024  # compressed or not, and again after gunzip (gzip bombs)
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
DEFAULT_PROJECT = "otel"


class OtlpError(Exception):
    """A request the receiver refuses, with the HTTP status to answer and one sentence why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(content_type: str | None) -> str:
    """`application/json; charset=utf-8` -> `application/json`; 415 for anything but protobuf or JSON."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind not in (PROTOBUF, JSON):
        raise OtlpError(415, f"unsupported content type {kind or '(none)'!r}; send {PROTOBUF} or {JSON}")
    return kind


def gunzip(body: bytes, limit: int = MAX_BODY_BYTES) -> bytes:
    """Inflate a gzip body, refusing to produce more than `limit` bytes (a gzip bomb is a 413, not an OOM)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
        if len(out) > limit or inflater.unconsumed_tail:
            raise OtlpError(413, f"the body inflates to more than {limit // (1024 * 1024)} MB; send smaller batches")
        out += inflater.flush()
    except zlib.error as exc:
        raise OtlpError(400, f"the body is not valid gzip ({exc})") from None
    if not inflater.eof:
        raise OtlpError(400, "the gzip body is truncated")
    return out


@cache
def proto_types() -> tuple[Any, Any, Any]:
    """(ExportTraceServiceRequest, ExportTraceServiceResponse, DecodeError), imported once: an import
    statement in the request path takes the import lock on every request."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    return ExportTraceServiceRequest, ExportTraceServiceResponse, DecodeError


def decode_request(body: bytes, kind: str, encoding: str | None = None) -> Any:
    """An `ExportTraceServiceRequest` from a raw body (after `Content-Encoding` is undone)."""
    ExportTraceServiceRequest, _, DecodeError = proto_types()  # noqa: N806 (classes)
    encoding = (encoding or "identity").strip().lower()
    if encoding == "gzip":
        body = gunzip(body)
    elif encoding not in ("identity", ""):
        raise OtlpError(415, f"unsupported content encoding {encoding!r}; send gzip or none")
    if kind == JSON:
        return parse_json_request(body)
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise OtlpError(400, f"the body is not a valid OTLP protobuf ExportTraceServiceRequest ({exc})") from None
    return request


def parse_json_request(body: bytes | str | dict[str, Any], where: str = "the body") -> Any:
    """An `ExportTraceServiceRequest` from OTLP JSON (hex ids, camelCase or snake_case field names)."""
    from google.protobuf import json_format

    ExportTraceServiceRequest = proto_types()[0]  # noqa: N806 (a class)
    if isinstance(body, dict):
        data = body
    else:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise OtlpError(400, f"{where} is not valid JSON ({exc})") from None
        except RecursionError:
            raise OtlpError(400, f"{where} is nested too deeply to be a trace export") from None
    if not isinstance(data, dict):
        raise OtlpError(400, f"{where} must be a JSON object with resourceSpans")
    _hex_ids_to_base64(data, where)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise OtlpError(400, f"{where} is not a valid OTLP JSON ExportTraceServiceRequest ({exc})") from None
    return request


def _hex_ids_to_base64(data: dict[str, Any], where: str) -> None:
    """OTLP JSON encodes ids as hex; protobuf's JSON mapping expects base64 for bytes fields."""
    for resource_spans in _items(data, "resourceSpans", "resource_spans"):
        for scope_spans in _items(resource_spans, "scopeSpans", "scope_spans"):
            for span in _items(scope_spans, "spans"):
                _convert_ids(span, where)
                for link in _items(span, "links"):
                    _convert_ids(link, where)


def _items(node: Any, *keys: str) -> list[Any]:
    if not isinstance(node, dict):
        return []
    for key in keys:
        value = node.get(key)
        if isinstance(value, list):
            return value
    return []


def _convert_ids(node: Any, where: str) -> None:
    if not isinstance(node, dict):
        return
    for key in ("traceId", "trace_id", "spanId", "span_id", "parentSpanId", "parent_span_id"):
        value = node.get(key)
        if not isinstance(value, str) or not value:
            continue
        try:
            node[key] = base64.b64encode(bytes.fromhex(value)).decode()
        except ValueError:
            raise OtlpError(400, f"{where}: {key} {value[:40]!r} is not hex (OTLP JSON ids are hex)") from None


def request_rows(request: Any, project: str | None, where: str = "the request") -> list[tuple[str, dict[str, Any]]]:
    """(project name, normalised span row) for every span; a span that cannot be stored is a 400."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for n, span in enumerate(spans_of(request), 1):
        if len(span.span_id) != 16 or len(span.trace_id) != 32:
            raise OtlpError(400, f"{where}: span {n} ({span.name!r}) has no valid trace id and span id")
        name = project or _service_name(span.resource)
        try:
            row = storable_span(span_to_row(span), f"{where}: span {n} ({span.name!r})")
        except UserError as err:
            raise OtlpError(400, str(err)) from None
        rows.append((name, row))
    return rows


def _service_name(resource: dict[str, Any]) -> str:
    name = resource.get("service.name")
    if not isinstance(name, str) or not name.strip() or name.startswith("unknown_service"):
        return DEFAULT_PROJECT
    return name.strip()


def status_body(kind: str, code: int, message: str) -> bytes:
    """A `google.rpc.Status` (what OTLP/HTTP asks for on errors) in the request's encoding.

    Hand-encoded: the message has two fields (1: int32 code, 2: string message) and its definition
    lives in `googleapis-common-protos`, which would be a runtime dependency for these few bytes.
    """
    if kind == JSON:
        return json.dumps({"code": code, "message": message}).encode()
    text = message.encode()
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)

