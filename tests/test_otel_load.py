"""Load: 20 real SDK exporters at once against a receiver whose buffer is kept small, so requests wait for
the writer or are told to retry (429); every span must be stored exactly once (the exporters retry on 429 as
OTLP asks) and the backlog never passes the buffer. Scaled down for the suite; `benchmarks/otlp_bench.py
--load` runs the full 100,000 spans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")

from opentelemetry.exporter.otlp.proto.http import Compression  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from loop_tui.store import Workspace  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

EXPORTERS = 20
# 5,000 spans in all here (OTEL_LOAD_SPANS=5000 makes it the 100,000: ~20 s on two busy cores)
SPANS_PER_EXPORTER = int(os.environ.get("OTEL_LOAD_SPANS", "250"))
BATCH = 125  # small batches: more requests, so more of them meet a full buffer


def _export_all(endpoint: str, worker: int, results: list[str], spans_each: int = SPANS_PER_EXPORTER) -> None:
    """One exporter: make spans with the real SDK, send them in batches through the real OTLP/HTTP exporter."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "load"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("load")
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=120,
                                compression=Compression.Gzip if worker % 2 else Compression.NoCompression)
    sent = 0
    while sent < spans_each:
        with tracer.start_as_current_span(f"request {worker}") as root:
            root.set_attribute("gen_ai.operation.name", "invoke_agent")
            for n in range(9):
                with tracer.start_as_current_span("chat") as span:
                    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    span.set_attribute("gen_ai.usage.input_tokens", n)
        spans = memory.get_finished_spans()
        if len(spans) >= BATCH or sent + len(spans) >= spans_each:
            memory.clear()
            spans = spans[: spans_each - sent]
            results.append(exporter.export(spans).name)
            sent += len(spans)
    exporter.shutdown()
    assert results[-1] == SpanExportResult.SUCCESS.name


@pytest.mark.slow
def test_20_concurrent_exporters_every_span_stored_exactly_once(tmp_path: Path) -> None:
    # The receiver runs as `loop-tui serve` in its own process, as users run it; its buffer holds a few
    # requests, so with 20 exporters it fills and requests wait for room (or are told to retry: 429s and
    # the exporters' retries are covered deterministically in test_otel_receiver).
    proc = subprocess.Popen(
        [sys.executable, "-m", "loop_tui", "--workspace", str(tmp_path / "ws"), "serve", "--otlp", "127.0.0.1:0",
         "--buffer", str(4 * BATCH)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    results: list[str] = []
    try:
        line = proc.stdout.readline()
        endpoint = line.split(" at ", 1)[1].split("/v1/traces", 1)[0]
        threads = [threading.Thread(target=_export_all, args=(endpoint, w, results)) for w in range(EXPORTERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    total = EXPORTERS * SPANS_PER_EXPORTER
    assert proc.returncode == 0, err
    assert len(results) >= total // BATCH and set(results) == {"SUCCESS"}
    assert f"stored {total:,} of {total:,} spans" in out
    assert "requests waited for the writer" in out  # the exporters did meet back-pressure
    writes = int(out.split(" spans received in ", 1)[1].split(" writes", 1)[0].replace(",", ""))
    assert writes < total / BATCH  # batched: fewer transactions than requests
    peak = int(out.split("at most ", 1)[1].split(" spans waited", 1)[0].replace(",", ""))
    assert 0 < peak <= 4 * BATCH  # memory bounded by --buffer
    ws = Workspace.open(tmp_path / "ws")
    counts = ws.query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM project_logs")[0]
    assert counts == {"n": total, "ids": total}


@pytest.mark.slow
def test_exporters_told_to_retry_lose_nothing_and_store_nothing_twice(tmp_path: Path) -> None:
    """20 exporters against a buffer of four batches that waits only briefly for room: many requests are
    answered 429 at first; the SDK exporters retry after Retry-After, and every span ends up stored once."""
    from tests.otel_support import running_receiver

    spans_each = 2 * BATCH
    results: list[str] = []
    with running_receiver(tmp_path / "ws", max_pending_spans=4 * BATCH, admit_wait=0.2) as receiver:
        threads = [threading.Thread(target=_export_all, args=(receiver.endpoint, w, results, spans_each))
                   for w in range(EXPORTERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        stats = receiver.writer.stats
    total = EXPORTERS * spans_each
    assert set(results) == {"SUCCESS"} and len(results) == EXPORTERS * 2
    assert stats.refused_requests > 0  # the exporters were told to retry, and did
    assert stats.peak_backlog <= 4 * BATCH
    ws = Workspace.open(tmp_path / "ws")
    counts = ws.query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM project_logs")[0]
    assert counts == {"n": total, "ids": total}
