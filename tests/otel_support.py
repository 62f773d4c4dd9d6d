"""Helpers for the OpenTelemetry tests: a receiver on loopback and real SDK tracers pointed at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loop_tui.interop.otlp_server import OtlpReceiver
from loop_tui.interop.otlp_writer import SpanWriter
from loop_tui.store import Workspace


def wait_until(predicate: Callable[[], Any], timeout: float = 30.0, interval: float = 0.02, what: str = "") -> Any:
    """Poll `predicate` until it returns something truthy (fails after `timeout` seconds, saying `what` it
    waited for)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


@contextmanager
def running_receiver(root: Path, project: str | None = None, admit_wait: float = 3.0,
                     **writer_options: Any) -> Iterator[OtlpReceiver]:
    """A receiver on an ephemeral loopback port writing into the workspace at `root`."""
    ws = Workspace.open(root)
    receiver = OtlpReceiver(SpanWriter(ws, **writer_options), "127.0.0.1", 0, project,
                            admit_wait=admit_wait).start_in_thread()
    try:
        wait_until(lambda: receiver.started, timeout=10)
        yield receiver
    finally:
        receiver.stop()


def sdk_tracer(endpoint: str, service: str, *, gzip: bool = False) -> tuple[Any, Any]:
    """(tracer, provider) from the real OpenTelemetry SDK exporting OTLP/HTTP protobuf to `endpoint`."""
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces",
                                compression=Compression.Gzip if gzip else Compression.NoCompression)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider.get_tracer("loop-tui-tests"), provider


def logs_rows(root: Path, project: str) -> list[dict[str, Any]]:
    """Every stored log row of `project` in Braintrust's format (empty when the project does not exist yet)."""
    from loop_tui.errors import NotFoundError
    from loop_tui.store import schema as sch

    ws = Workspace.open(root)
    try:
        project_id = ws.project(project).id
    except NotFoundError:
        return []
    return [sch.row_to_braintrust("project_logs", r) for r in ws.read_rows("project_logs", project_id).to_pylist()]
