"""The README's OpenTelemetry section against the code: the mapping table names what `otel_mapping` reads
(no more, no less), and the two-line "watch your app's traces" recipe works as written."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loop_tui.interop import otel_mapping as mapping

REPO = Path(__file__).resolve().parents[1]
SECTION = "## Watch your app's traces (OpenTelemetry)"


def _section() -> str:
    readme = (REPO / "README.md").read_text()
    start = readme.index(SECTION)
    return readme[start:readme.index("\n## ", start + 1)]


def _table() -> list[tuple[str, str]]:
    """(OpenTelemetry cell, Braintrust cell) for each row of the mapping table."""
    lines = [line for line in _section().splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| OpenTelemetry")
    return [tuple(cell.strip() for cell in line.strip("|").split(" | ", 1)) for line in lines[2:]]  # type: ignore[misc]


def _wildcard_prefix(name: str) -> str | None:
    """`llm.input_messages.N.message.*` -> `llm.input_messages.`, `evaluation.*` -> `evaluation.`; None for a
    plain name."""
    if not name.endswith("*"):
        return None
    return name.split(".N.", 1)[0] + "." if ".N." in name else name.removesuffix("*")


def test_the_readme_table_names_every_attribute_the_mapping_reads() -> None:
    documented = {name for left, _ in _table() for name in re.findall(r"`([^`]+)`", left)}
    prefixes = {p for name in documented if (p := _wildcard_prefix(name))}
    # exact names the mapping consumes
    read = set(mapping._CONSUMED) | set(mapping._METRIC_ATTRS)
    missing = {name for name in read if name not in documented and not name.startswith(tuple(prefixes))}
    assert not missing, f"the mapping reads these attributes but the README table does not say so: {sorted(missing)}"
    # flattened lists and evaluation prefixes
    list_prefixes = {p + "." for p in mapping._LIST_PREFIXES if not p.startswith(("trace.", "session."))}
    assert list_prefixes <= prefixes, sorted(list_prefixes - prefixes)
    assert set(mapping._FEEDBACK_STARTS) <= prefixes
    assert "gen_ai.request." in prefixes
    # every metric the mapping fills is in the right-hand column
    targets = " ".join(right for _, right in _table())
    for metric in (*mapping._TOKEN_METRICS, "start", "end", "estimated_cost"):
        assert f"metrics.{metric}" in targets, f"the README table does not say where metrics.{metric} comes from"


def test_every_name_in_the_readme_table_is_one_the_mapping_knows() -> None:
    events = {"exception", "gen_ai.evaluation.result"}
    read = set(mapping._CONSUMED) | set(mapping._METRIC_ATTRS)
    known_prefixes = {p + "." for p in mapping._LIST_PREFIXES} | set(mapping._FEEDBACK_STARTS) | {"gen_ai.request."}
    for left, right in _table():
        for name in re.findall(r"`([^`]+)`", left):
            prefix = _wildcard_prefix(name)
            if name in events:
                continue
            if name.endswith("."):  # "(also under `trace.` and `session.`)": lists nested under a namespace
                assert any(p.startswith(name) for p in mapping._LIST_PREFIXES), name
                continue
            if right.startswith("`metadata` under the same name"):  # the "anything else" row: passed through
                assert mapping._key_info(name)[0] == mapping._PASS, f"{name} is documented as kept but is mapped"
            elif prefix is not None:
                assert prefix in known_prefixes, f"README table: {name} is not a prefix the mapping reads"
            else:
                assert name in read, f"README table: the mapping does not read {name}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


APP = textwrap.dedent('''
    """A tiny app instrumented the usual way: the SDK's OTLP/HTTP exporter, configured only by the environment."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    tracer = trace.get_tracer("app")
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
    provider.shutdown()
''')


@pytest.mark.slow
def test_the_readme_recipe_shows_an_apps_traces(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    block = _section().split("```bash\n", 1)[1].split("```", 1)[0]
    serve_line, app_line = (line.split("#", 1)[0].strip() for line in block.strip().splitlines())
    assert serve_line == "loop-tui serve --otlp"
    assert app_line == "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 python app.py"
    # As written, but on a free port (4318 may be taken on a test machine) and with this checkout's Python.
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "LOOP_TUI_WORKSPACE": str(tmp_path / "ws")}
    env.pop("OTEL_SERVICE_NAME", None)
    serve = subprocess.Popen([sys.executable, "-m", "loop_tui", *serve_line.split()[1:], f"127.0.0.1:{port}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert f"127.0.0.1:{port}/v1/traces" in serve.stdout.readline()
        (tmp_path / "app.py").write_text(APP)
        variable, value = app_line.split(" ", 1)[0].split("=", 1)
        app = subprocess.run([sys.executable, "app.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                             env={**env, variable: value.replace(":4318", f":{port}")})
        assert app.returncode == 0, app.stderr
        serve.terminate()
        out, err = serve.communicate(timeout=60)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert "stored 1 of 1 spans" in out, out + err
    from tests.otel_support import logs_rows

    rows = logs_rows(tmp_path / "ws", "otel")  # no service.name set: the receiver's default project
    assert [r["span_attributes"]["name"] for r in rows] == ["chat gpt-4o-mini"]
    assert rows[0]["metadata"]["model"] == "gpt-4o-mini"
