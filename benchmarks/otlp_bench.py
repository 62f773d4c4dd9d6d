"""OTLP receiver benchmark: spans/s stored by `loop-tui serve --otlp` vs a bare server that only parses and
discards the same bodies, and the delay from export to the row being queryable.

Both servers run as their own process on loopback; the clients are the real OpenTelemetry SDK's OTLP/HTTP
exporters (`--exporters` threads) sending the same pre-made SDK spans in batches of 512 (the SDK's default
export batch). The bare server is uvicorn with an ASGI app that reads the body, decodes it with
`opentelemetry-proto` and answers 200: the floor any receiver on this stack pays. Targets (issue 17):
stored ≥ 0.5× the bare rate on two cores; export→queryable p95 < 1 s. Each server's CPU time per span is
printed too: the exporters (in this process) compete with the servers for the two cores, so the rates move
with the machine's load while the CPU cost of a span does not.

    python benchmarks/otlp_bench.py [--spans 50000] [--exporters 8] [--delay-samples 40] [--rounds 3]
    python benchmarks/otlp_bench.py --load   # 20 exporters, 100,000 spans, every one stored exactly once
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BATCH = 512

BARE_SERVER = r'''
import socket, sys, uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    ExportTraceServiceRequest().ParseFromString(body)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/x-protobuf")]})
    await send({"type": "http.response.body", "body": b""})

sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(1024)
print(f"bare server at http://127.0.0.1:{sock.getsockname()[1]}/v1/traces", flush=True)
uvicorn.Server(uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning")).run(sockets=[sock])
'''


def make_spans(count: int) -> list:
    """`count` finished SDK spans shaped like an LLM app's: an agent span with chat children (GenAI attributes)."""
    import json

    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "What is the refund policy?"}]}])
    while len(memory.get_finished_spans()) < count:
        with tracer.start_as_current_span("invoke_agent support") as root:
            root.set_attribute("gen_ai.operation.name", "invoke_agent")
            for _ in range(4):
                with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                    span.set_attribute("gen_ai.operation.name", "chat")
                    span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                    span.set_attribute("gen_ai.usage.input_tokens", 420)
                    span.set_attribute("gen_ai.usage.output_tokens", 80)
                    span.set_attribute("gen_ai.input.messages", messages)
    return list(memory.get_finished_spans())[:count]


def start(cmd: list[str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    line = proc.stdout.readline()
    if " at http" not in line:
        raise SystemExit(f"server did not start: {line}{proc.stderr.read()}")
    return proc, line.split(" at ", 1)[1].split()[0]


def send_all(url: str, spans: list, exporters: int) -> float:
    """Export every span through `exporters` real OTLP/HTTP exporters at once; seconds taken."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult

    batches = [spans[i:i + BATCH] for i in range(0, len(spans), BATCH)]
    failures: list[int] = []

    def work(worker: int) -> None:
        exporter = OTLPSpanExporter(endpoint=url, timeout=120)
        for batch in batches[worker::exporters]:
            if exporter.export(batch) != SpanExportResult.SUCCESS:
                failures.append(len(batch))

    t = time.perf_counter()
    threads = [threading.Thread(target=work, args=(w,)) for w in range(exporters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{sum(failures)} spans failed to export")
    return time.perf_counter() - t


def stored(ws, span_ids: list[str] | None = None) -> int:
    if span_ids is None:
        return ws.query("SELECT count(*) AS n FROM project_logs")[0]["n"]
    return ws.query("SELECT count(*) AS n FROM project_logs WHERE id IN (SELECT unnest(?::VARCHAR[]))", [span_ids])[0]["n"]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_rate(spans: list, exporters: int) -> tuple[float, float]:
    """Spans/s the bare parse-and-discard server takes, and its CPU µs per span."""
    bare, url = start([sys.executable, "-c", BARE_SERVER])
    try:
        cpu = cpu_seconds(bare.pid)
        rate = len(spans) / send_all(url, spans, exporters)
        return rate, (cpu_seconds(bare.pid) - cpu) / len(spans) * 1e6
    finally:
        bare.terminate()
        bare.wait(30)


def stored_rate(spans: list, exporters: int, delay_samples: int) -> tuple[float, float, list[float]]:
    """Spans/s exported to `loop-tui serve` and queryable in the workspace, its CPU µs per span, and
    export→queryable delays."""
    from loop_tui.store import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        serve, url = start([sys.executable, "-m", "loop_tui", "--workspace", str(root), "serve", "--otlp", "127.0.0.1:0"])
        try:
            ws = Workspace.open(root)
            cpu = cpu_seconds(serve.pid)
            t = time.perf_counter()
            send_all(url, spans, exporters)
            while stored(ws) < len(spans):  # accepted is not stored: wait until every span is queryable
                time.sleep(0.01)
            seconds = time.perf_counter() - t
            cpu = cpu_seconds(serve.pid) - cpu
            delays = export_to_query_delays(url, ws, delay_samples) if delay_samples else []
        finally:
            serve.terminate()
            serve.wait(60)
    return len(spans) / seconds, cpu / len(spans) * 1e6, delays


def load_run(spans: list, exporters: int, buffer: int) -> None:
    """The issue's load check at full size: `exporters` real exporters at once against `serve --buffer`; every
    span stored exactly once, and the receiver's peak backlog and memory."""
    from loop_tui.store import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        serve, url = start([sys.executable, "-m", "loop_tui", "--workspace", str(root), "serve", "--otlp",
                            "127.0.0.1:0", "--buffer", str(buffer)])
        try:
            seconds = send_all(url, spans, exporters)  # raises if any export failed after its retries
            with open(f"/proc/{serve.pid}/status") as status:
                peak_rss = next(line.split()[1] for line in status if line.startswith("VmHWM"))
        finally:
            serve.terminate()
            out, err = serve.communicate(timeout=120)
        counts = Workspace.open(root).query("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM project_logs")[0]
    summary = out.strip().splitlines()[-1]
    print(f"load: {exporters} exporters, {len(spans):,} spans in {seconds:.1f} s; stored {counts['n']:,} rows, "
          f"{counts['ids']:,} distinct ids (expected {len(spans):,} of each); receiver peak RSS "
          f"{int(peak_rss) // 1024} MB\n  serve said: {summary}")
    if counts != {"n": len(spans), "ids": len(spans)}:
        raise SystemExit(f"load: spans lost or doubled{err}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=50_000)
    parser.add_argument("--exporters", type=int, default=8)
    parser.add_argument("--delay-samples", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3,
                        help="bare and stored runs alternate this many times (the machine's load drifts)")
    parser.add_argument("--load", action="store_true",
                        help="instead: 20 exporters send 100,000 spans to `serve --buffer 2000` (issue 17's load check)")
    args = parser.parse_args()

    if args.load:
        print("making 100,000 SDK spans …", flush=True)
        load_run(make_spans(100_000), 20, 2_000)
        return
    print(f"making {args.spans:,} SDK spans …", flush=True)
    spans = make_spans(args.spans)
    ratios, delays = [], []
    for n in range(1, args.rounds + 1):
        bare, bare_cpu = bare_rate(spans, args.exporters)
        ours, our_cpu, round_delays = stored_rate(spans, args.exporters, args.delay_samples if n == args.rounds else 0)
        delays += round_delays
        ratios.append(ours / bare)
        print(f"round {n}: bare parse-and-discard server {bare:8,.0f} spans/s ({bare_cpu:.0f} µs CPU/span); "
              f"loop-tui serve (stored) {ours:8,.0f} spans/s ({our_cpu:.0f} µs CPU/span) = {ours / bare:.2f}x",
              flush=True)
    p95 = statistics.quantiles(delays, n=20)[18] if len(delays) >= 2 else delays[0]
    print(f"median stored/bare: {statistics.median(ratios):.2f}x  (target ≥ 0.5x)")
    print(f"export → queryable: p50 {statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
          f"over {len(delays)} exports  (target p95 < 1 s)")


def export_to_query_delays(url: str, ws, samples: int) -> list[float]:
    """Seconds from the start of an export of a few fresh spans until a query sees all of them."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(endpoint=url)
    delays = []
    for _ in range(samples):
        batch = make_spans(5)
        ids = [format(s.context.span_id, "016x") for s in batch]
        t = time.perf_counter()
        exporter.export(batch)
        while stored(ws, ids) < len(ids):
            time.sleep(0.005)
        delays.append(time.perf_counter() - t)
    return delays


if __name__ == "__main__":
    main()
