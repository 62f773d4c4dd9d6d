"""The OTLP/HTTP receiver over loopback: real SDK exporters in, rows out; bad requests rejected, nothing written."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from loop_tui.store import Workspace  # noqa: E402
from tests.otel_support import logs_rows, running_receiver, sdk_tracer, wait_until  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def test_sdk_genai_spans_arrive_in_the_service_project(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with running_receiver(root) as receiver:
        tracer, provider = sdk_tracer(receiver.endpoint, "support-bot", gzip=True)
        with tracer.start_as_current_span("invoke_agent support") as agent:
            agent.set_attribute("gen_ai.operation.name", "invoke_agent")
            with tracer.start_as_current_span("chat gpt-4o") as chat:
                chat.set_attribute("gen_ai.operation.name", "chat")
                chat.set_attribute("gen_ai.request.model", "gpt-4o")
                chat.set_attribute("gen_ai.usage.input_tokens", 50)
                chat.set_attribute("gen_ai.usage.output_tokens", 7)
                chat.set_attribute("gen_ai.output.messages", json.dumps(
                    [{"role": "assistant", "parts": [{"type": "text", "content": "Reset it in Settings."}]}]))
        provider.force_flush()
        rows = wait_until(lambda: (r := logs_rows(root, "support-bot")) and len(r) == 2 and r)
        provider.shutdown()
    by_name = {r["span_attributes"]["name"]: r for r in rows}
    root_row, chat_row = by_name["invoke_agent support"], by_name["chat gpt-4o"]
    assert root_row["is_root"] and not chat_row["is_root"]
    assert chat_row["span_parents"] == [root_row["span_id"]]
    assert chat_row["root_span_id"] == root_row["root_span_id"]
    assert chat_row["output"] == [{"role": "assistant", "content": "Reset it in Settings."}]
    assert chat_row["metadata"]["model"] == "gpt-4o" and chat_row["metrics"]["tokens"] == 57
    # the logs page's trace query finds the tree by the root span id
    ws = Workspace.open(root)
    found = ws.query("SELECT count(*) AS n FROM project_logs WHERE root_span_id = ?", [root_row["root_span_id"]])
    assert found[0]["n"] == 2


def test_sdk_openinference_spans_go_to_the_project_given(tmp_path: Path) -> None:
    from openinference.semconv.trace import OpenInferenceSpanKindValues, SpanAttributes

    root = tmp_path / "ws"
    with running_receiver(root, project="rag-app") as receiver:
        tracer, provider = sdk_tracer(receiver.endpoint, "ignored-service")
        with tracer.start_as_current_span("retrieve") as span:
            span.set_attribute(SpanAttributes.OPENINFERENCE_SPAN_KIND, OpenInferenceSpanKindValues.RETRIEVER.value)
            span.set_attribute(SpanAttributes.INPUT_VALUE, "what is loop?")
            span.set_attribute("retrieval.documents.0.document.content", "Loop is an assistant.")
        provider.force_flush()
        rows = wait_until(lambda: logs_rows(root, "rag-app"))
        provider.shutdown()
    assert rows[0]["span_attributes"] == {"name": "retrieve", "type": "function"}
    assert rows[0]["input"] == "what is loop?"
    assert rows[0]["metadata"]["retrieval.documents.0.document.content"] == "Loop is an assistant."
    assert [p.name for p in Workspace.open(root).projects()] == ["rag-app"]


def otlp_json_request(trace_id: str = "5b8efff798038103d269b633813fc60c", span_id: str = "eee19b7ec3c1b174") -> dict:
    """An OTLP JSON body as the specification writes it (hex ids, camelCase, int64 as strings)."""
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-app"}}]},
        "scopeSpans": [{"scope": {"name": "manual"}, "spans": [{
            "traceId": trace_id, "spanId": span_id, "name": "chat", "kind": 3,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001500000000",
            "attributes": [
                {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o-mini"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
                {"key": "retries", "value": {"arrayValue": {"values": [{"intValue": "1"}, {"boolValue": True}]}}},
            ],
            "status": {"code": 2, "message": "rate limited"},
        }]}],
    }]}


def test_json_bodies_follow_the_otlp_json_rules(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with running_receiver(root) as receiver:
        response = httpx.post(f"{receiver.endpoint}/v1/traces", json=otlp_json_request())
        assert response.status_code == 200 and response.json() == {}
        rows = wait_until(lambda: logs_rows(root, "json-app"))
    row = rows[0]
    assert row["span_id"] == "eee19b7ec3c1b174" and row["root_span_id"] == "5b8efff798038103d269b633813fc60c"
    assert row["metrics"]["start"] == 1700000000.0 and row["metrics"]["end"] == 1700000001.5
    assert row["metrics"]["prompt_tokens"] == 12 and row["error"] == "rate limited"
    assert row["metadata"]["retries"] == [1, True] and row["metadata"]["otel.span_kind"] == "client"


def test_a_token_count_that_is_not_a_finite_number_is_left_out(tmp_path: Path) -> None:
    """`"nan"`, NaN and infinite token counts were turned into a cost estimate and the request failed with
    a 500 and a traceback; they are absent values, and the span is stored."""
    body = otlp_json_request()
    attributes = body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    attributes[1] = {"key": "gen_ai.usage.input_tokens", "value": {"stringValue": "nan"}}
    attributes.append({"key": "gen_ai.usage.output_tokens", "value": {"doubleValue": "Infinity"}})
    root = tmp_path / "ws"
    with running_receiver(root) as receiver:
        response = httpx.post(f"{receiver.endpoint}/v1/traces", json=body)
        assert response.status_code == 200, response.text
        rows = wait_until(lambda: logs_rows(root, "json-app"))
    metrics = rows[0]["metrics"]
    assert "prompt_tokens" not in metrics and "completion_tokens" not in metrics and "estimated_cost" not in metrics


def _bomb(size: int) -> bytes:
    return gzip.compress(b"\0" * size, compresslevel=9)


@pytest.mark.parametrize(
    ("headers", "body", "status", "says"),
    [
        ({"content-type": "application/x-protobuf"}, b"\x0a\xff\xff\xff\xff\x0f garbage", 400, "not a valid OTLP protobuf"),
        ({"content-type": "application/json"}, b'{"resourceSpans": [', 400, "not valid JSON"),
        ({"content-type": "application/json"}, json.dumps(otlp_json_request(span_id="zz")).encode(), 400, "not hex"),
        ({"content-type": "application/json"},
         json.dumps(otlp_json_request(span_id="")).encode(), 400, "no valid trace id and span id"),
        ({"content-type": "text/plain"}, b"hello", 415, "unsupported content type"),
        ({"content-type": "application/x-protobuf", "content-encoding": "br"}, b"x", 415, "content encoding"),
        ({"content-type": "application/x-protobuf", "content-encoding": "gzip"}, b"not gzip", 400, "not valid gzip"),
        ({"content-type": "application/x-protobuf", "content-encoding": "gzip"}, _bomb(64 * 1024 * 1024), 413,
         "inflates to more than"),
        ({"content-type": "application/x-protobuf"}, b"\0" * (50 * 1024 * 1024), 413, "larger than"),
    ],
    ids=["bad-protobuf", "bad-json", "bad-hex-id", "missing-id", "text", "brotli", "bad-gzip", "gzip-bomb", "50MB"],
)
def test_bad_requests_are_rejected_with_a_reason_and_nothing_written(
    tmp_path: Path, headers: dict[str, str], body: bytes, status: int, says: str
) -> None:
    root = tmp_path / "ws"
    with running_receiver(root) as receiver:
        response = httpx.post(f"{receiver.endpoint}/v1/traces", content=body, headers=headers, timeout=60)
        assert response.status_code == status
        assert says in response.text
        # a good request afterwards still works: the receiver is not wedged
        ok = httpx.post(f"{receiver.endpoint}/v1/traces", json=otlp_json_request())
        assert ok.status_code == 200
        wait_until(lambda: logs_rows(root, "json-app"))
        assert receiver.writer.stats.accepted == 1
    assert len(logs_rows(root, "json-app")) == 1


def test_a_failure_of_ours_is_a_500_in_one_sentence_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the mapping (simulated: nothing real fails here on purpose) must not surface as uvicorn's
    traceback on the terminal: the exporter gets a 500 saying what failed, and the receiver keeps serving."""
    from loop_tui.interop import otlp_server

    lines: list[str] = []
    real_request_rows = otlp_server.request_rows

    def broken(request, project):  # type: ignore[no-untyped-def]
        if any(s.name == "boom" for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans):
            raise KeyError("boom")
        return real_request_rows(request, project)

    monkeypatch.setattr(otlp_server, "request_rows", broken)
    body = otlp_json_request()
    body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] = "boom"
    root = tmp_path / "ws"
    with running_receiver(root, log=lines.append) as receiver:
        response = httpx.post(f"{receiver.endpoint}/v1/traces", json=body)
        assert response.status_code == 500
        assert response.json()["message"].startswith("the receiver failed on this request (KeyError")
        assert lines == ["loop-tui receiver: a request could not be mapped (KeyError: 'boom')"]
        assert httpx.post(f"{receiver.endpoint}/v1/traces", json=otlp_json_request()).status_code == 200
        wait_until(lambda: logs_rows(root, "json-app"))
    assert [r["span_attributes"]["name"] for r in logs_rows(root, "json-app")] == ["chat"]


def test_a_streamed_body_past_the_limit_is_cut_off(tmp_path: Path) -> None:
    """Without a Content-Length (chunked), the limit is enforced while reading."""
    root = tmp_path / "ws"

    def chunks():
        for _ in range(40):
            yield b"\0" * (1024 * 1024)

    with running_receiver(root) as receiver:
        response = httpx.post(f"{receiver.endpoint}/v1/traces", content=chunks(),
                              headers={"content-type": "application/x-protobuf"}, timeout=60)
        assert response.status_code == 413
    assert Workspace.open(root).projects() == []


def test_wrong_route_and_method(tmp_path: Path) -> None:
    with running_receiver(tmp_path / "ws") as receiver:
        assert httpx.post(f"{receiver.endpoint}/v1/metrics", content=b"",
                          headers={"content-type": "application/x-protobuf"}).status_code == 404
        assert httpx.get(f"{receiver.endpoint}/v1/traces").status_code == 405


def test_a_full_buffer_answers_429_with_retry_after_and_keeps_what_it_accepted(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    # a writer that will not flush by itself for a minute, with room for one request; the second request
    # waits a moment for room, then is told to retry
    with running_receiver(root, max_pending_spans=1, flush_seconds=60, admit_wait=0.3) as receiver:
        first = httpx.post(f"{receiver.endpoint}/v1/traces", json=otlp_json_request())
        second = httpx.post(f"{receiver.endpoint}/v1/traces",
                            json=otlp_json_request(span_id="aaaaaaaaaaaaaaaa"))
        assert first.status_code == 200
        assert second.status_code == 429 and second.headers["retry-after"] in {"1", "2", "3"}
        assert "busy" in second.json()["message"]
        assert receiver.writer.stats.refused_requests == 1
        assert logs_rows(root, "json-app") == []  # accepted, not yet flushed
    # stopping the receiver flushed the accepted span
    assert [r["span_id"] for r in logs_rows(root, "json-app")] == ["eee19b7ec3c1b174"]


def test_while_shutting_down_requests_are_answered_503_with_retry_after(tmp_path: Path) -> None:
    """Once shutdown has begun (the writer is flushing), a request is told to come back (503, which exporters
    retry, e.g. against the receiver's next run) and nothing of it is written."""
    root = tmp_path / "ws"
    with running_receiver(root) as receiver:
        assert httpx.post(f"{receiver.endpoint}/v1/traces", json=otlp_json_request()).status_code == 200
        assert receiver.writer.close()  # what stopping does first: flush, then take nothing more
        late = httpx.post(f"{receiver.endpoint}/v1/traces", json=otlp_json_request(span_id="bbbbbbbbbbbbbbbb"))
        assert late.status_code == 503 and late.headers["retry-after"] in {"1", "2", "3"}
        assert "shutting down" in late.json()["message"]
    assert [r["span_id"] for r in logs_rows(root, "json-app")] == ["eee19b7ec3c1b174"]


def test_sdk_exporter_retries_after_429_and_each_span_is_stored_once(tmp_path: Path) -> None:
    """Two real exporters against a buffer with room for one batch: the second is told to retry (429,
    Retry-After of a second or few) until the writer has flushed the first, and then is stored; nothing is lost or doubled."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "retry-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests")
    for n in range(20):
        with tracer.start_as_current_span(f"span {n}"):
            pass
    spans = memory.get_finished_spans()
    root = tmp_path / "ws"
    with running_receiver(root, max_pending_spans=10, flush_seconds=1.5, admit_wait=0.05) as receiver:
        exporter = OTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=30)
        assert exporter.export(spans[:10]) == SpanExportResult.SUCCESS
        assert exporter.export(spans[10:]) == SpanExportResult.SUCCESS  # after at least one 429
        assert receiver.writer.stats.refused_requests >= 1
        wait_until(lambda: len(logs_rows(root, "retry-app")) == 20)
    rows = logs_rows(root, "retry-app")
    assert sorted(r["span_attributes"]["name"] for r in rows) == sorted(f"span {n}" for n in range(20))


def test_a_span_sent_twice_is_stored_once(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    with running_receiver(root) as receiver:
        for _ in range(2):
            assert httpx.post(f"{receiver.endpoint}/v1/traces", json=otlp_json_request()).status_code == 200
            wait_until(lambda: receiver.writer.backlog == 0 and logs_rows(root, "json-app"))
    assert len(logs_rows(root, "json-app")) == 1


def _serve(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "loop_tui", "--workspace", str(tmp_path / "ws"), "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_cli_serve_flushes_what_it_accepted_on_shutdown(tmp_path: Path, stop: signal.Signals) -> None:
    proc = _serve(tmp_path, "--otlp", "127.0.0.1:0", "--project", "cli-app")
    try:
        line = proc.stdout.readline()
        assert "receiving OpenTelemetry traces at http://127.0.0.1:" in line, line + proc.stderr.read()
        endpoint = line.split(" at ", 1)[1].split("/v1/traces", 1)[0]
        tracer, provider = sdk_tracer(endpoint, "any")
        for n in range(30):
            with tracer.start_as_current_span(f"step {n}"):
                pass
        provider.force_flush()
        provider.shutdown()
        proc.send_signal(stop)  # at once: the writer may still hold the spans
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stored 30 of 30 spans" in out
    assert len(logs_rows(tmp_path / "ws", "cli-app")) == 30


def test_cli_serve_rejects_a_bad_address(tmp_path: Path) -> None:
    proc = _serve(tmp_path, "--otlp", "localhost:http")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "--otlp takes [HOST:]PORT" in err and "Traceback" not in err




def test_the_address_defaults_to_loopback_4318() -> None:
    """`--otlp` alone listens where OTEL_EXPORTER_OTLP_ENDPOINT's usual value points; a port or HOST:PORT narrows it."""
    from loop_tui.interop.otlp_server import parse_address

    assert parse_address("") == ("127.0.0.1", 4318)
    assert parse_address(None) == ("127.0.0.1", 4318)
    assert parse_address("9000") == ("127.0.0.1", 9000)
    assert parse_address("0.0.0.0:4318") == ("0.0.0.0", 4318)
    assert parse_address("[::1]:4318") == ("::1", 4318)
    assert parse_address("localhost:") == ("localhost", 4318)
