"""`loop-tui import … --from otlp|openinference|langfuse|promptfoo`: other tools' files into logs and experiments."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from loop_tui.cli.main import main
from loop_tui.store import Workspace
from loop_tui.store import schema as sch

FIXTURES = Path(__file__).parent / "fixtures" / "interop"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows_of(root: Path, table: str, project: str, experiment: str | None = None) -> list[dict[str, Any]]:
    ws = Workspace.open(root)
    project_id = ws.project(project).id
    object_id = project_id if experiment is None else ws.get_object("experiment", project_id, experiment).id
    return [sch.row_to_braintrust(table, r) for r in ws.read_rows(table, object_id).to_pylist()]


def otlp_json_lines(tmp_path: Path) -> Path:
    """What the Collector's file exporter writes: one ExportTraceServiceRequest per line (OTLP JSON, hex ids),
    here made from spans of the real SDK."""
    pytest.importorskip("opentelemetry.sdk")
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "file-app"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests")
    lines = []
    for question in ("first", "second"):
        with tracer.start_as_current_span("handle") as root, tracer.start_as_current_span("chat") as chat:
            root.set_attribute("input.value", question)
            chat.set_attribute("gen_ai.request.model", "gpt-4o")
            chat.set_attribute("gen_ai.usage.input_tokens", 10)
        data = json_format.MessageToDict(encode_spans(memory.get_finished_spans()))
        memory.clear()
        for resource_spans in data["resourceSpans"]:
            for scope_spans in resource_spans["scopeSpans"]:
                for span in scope_spans["spans"]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in span:  # OTLP JSON writes ids as hex, protobuf's JSON as base64
                            span[key] = __import__("base64").b64decode(span[key]).hex()
        lines.append(json.dumps(data))
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_otlp_file_export_imports_into_logs_detected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = otlp_json_lines(tmp_path)
    code, out, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", "logs", str(path), "--project", "imported")
    assert code == 0, err
    assert "imported 4 spans into logs of imported" in out
    rows = rows_of(tmp_path / "ws", "project_logs", "imported")
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_trace.setdefault(row["root_span_id"], []).append(row)
    assert len(by_trace) == 2
    for spans in by_trace.values():
        names = {r["span_attributes"]["name"]: r for r in spans}
        assert names["chat"]["span_parents"] == [names["handle"]["span_id"]]
        assert names["chat"]["metadata"]["model"] == "gpt-4o"
    assert sorted(r["input"] for r in rows if r["span_attributes"]["name"] == "handle") == ["first", "second"]


def test_phoenix_span_json_imports_as_openinference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Phoenix's span JSON (its REST API's `data`, nested attributes) with `--from openinference`."""
    spans = {"data": [
        {"name": "ChatCompletion", "span_kind": "LLM", "parent_id": "a1b2c3d4e5f60718",
         "context": {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"},
         "start_time": "2025-03-01T10:00:00+00:00", "end_time": "2025-03-01T10:00:01+00:00",
         "status_code": "ERROR", "status_message": "rate limited",
         "attributes": {"llm": {"model_name": "gpt-4o-mini", "token_count": {"prompt": 30, "completion": 4},
                                "input_messages": [{"message": {"role": "user", "content": "hi"}}]},
                        "output": {"value": "hello"}}},
        {"name": "agent", "span_kind": "AGENT", "parent_id": None,
         "context": {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "a1b2c3d4e5f60718"},
         "start_time": "2025-03-01T09:59:59+00:00", "end_time": "2025-03-01T10:00:02+00:00",
         "status_code": "OK", "attributes": {"input": {"value": "say hi"}}},
    ]}
    path = tmp_path / "phoenix.json"
    path.write_text(json.dumps(spans))
    code, out, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", "logs", str(path),
                         "--project", "phx", "--from", "openinference")
    assert code == 0, err
    rows = {r["span_attributes"]["name"]: r for r in rows_of(tmp_path / "ws", "project_logs", "phx")}
    llm, agent = rows["ChatCompletion"], rows["agent"]
    assert llm["span_attributes"]["type"] == "llm" and agent["span_attributes"]["type"] == "task"
    assert llm["span_parents"] == ["a1b2c3d4e5f60718"] and agent["is_root"]
    assert llm["input"] == [{"role": "user", "content": "hi"}] and llm["output"] == "hello"
    assert llm["metrics"]["prompt_tokens"] == 30 and llm["error"] == "rate limited"
    assert llm["metrics"]["end"] - llm["metrics"]["start"] == 1.0


def test_langfuse_export_imports_traces_observations_and_scores(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", "logs",
                         str(FIXTURES / "langfuse_export.json"), "--project", "lf")
    assert code == 0, err
    rows = {r["id"]: r for r in rows_of(tmp_path / "ws", "project_logs", "lf")}
    assert set(rows) == {"trace-001", "obs-001", "obs-002", "obs-003"}
    trace, retrieve, answer, tool = rows["trace-001"], rows["obs-001"], rows["obs-002"], rows["obs-003"]
    assert trace["is_root"] and trace["root_span_id"] == "trace-001"
    assert trace["input"] == {"question": "How do I reset my password?"} and trace["tags"] == ["prod", "support"]
    assert trace["metadata"]["session_id"] == "session-42" and trace["metadata"]["channel"] == "web"
    assert trace["metrics"]["end"] - trace["metrics"]["start"] == pytest.approx(2.5)
    assert trace["scores"] == {"helpfulness": 0.9}
    assert retrieve["span_parents"] == ["trace-001"] and answer["span_parents"] == ["obs-001"]
    assert answer["span_attributes"] == {"name": "answer", "type": "llm"}
    assert answer["metadata"]["model"] == "gpt-4o-mini" and answer["metadata"]["temperature"] == 0.2
    assert answer["metrics"]["prompt_tokens"] == 1200 and answer["metrics"]["completion_tokens"] == 80
    assert answer["metrics"]["estimated_cost"] == pytest.approx(0.000228)
    assert answer["metrics"]["time_to_first_token"] == pytest.approx(0.3)
    assert answer["scores"] == {"correct": 1.0}  # the categorical `tone` has no number: metadata only
    assert {"name": "tone", "value": "friendly", "source": "EVAL"} in answer["metadata"]["langfuse_scores"]
    assert tool["error"] == "account service timed out" and tool["span_attributes"]["type"] == "tool"


def test_promptfoo_results_become_one_experiment_per_provider(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "translate.json"
    shutil.copy(FIXTURES / "promptfoo_results.json", path)
    code, out, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", "experiment", str(path),
                         "--project", "pf")
    assert code == 0, err
    ws = Workspace.open(tmp_path / "ws")
    project_id = ws.project("pf").id
    experiments = {e.name: e for e in ws.objects("experiment", project_id)}
    assert set(experiments) == {"translate · gpt-4o-mini", "translate · claude-haiku"}
    assert experiments["translate · gpt-4o-mini"].data["model"] == "gpt-4o-mini"
    openai_rows = sorted(rows_of(tmp_path / "ws", "experiment", "pf", "translate · gpt-4o-mini"), key=lambda r: r["id"])
    first, second = openai_rows
    assert first["input"] == {"text": "Good morning", "expected": "Bonjour"} and first["expected"] == "Bonjour"
    assert first["output"] == "Bonjour" and first["scores"] == {"exact": 1.0, "score": 1.0, "pass": 1.0}
    assert second["scores"]["pass"] == 0.0 and second["metadata"]["reason"] == "Expected output to equal Merci"
    assert first["metrics"]["prompt_tokens"] == 12 and first["metrics"]["estimated_cost"] == pytest.approx(3e-6)
    assert first["metrics"]["end"] - first["metrics"]["start"] == pytest.approx(0.42)
    claude = {r["id"]: r for r in rows_of(tmp_path / "ws", "experiment", "pf", "translate · claude-haiku")}
    assert claude["r-4"]["error"] == "API error: 529 overloaded"
    assert claude["r-3"]["metadata"]["model"] == "messages:claude-3-5-haiku-20241022"
    # the two providers compare like any two experiments: rows pair up by their input (the vars)
    from loop_tui.evals.compare import compare_rows

    diffs = compare_rows(ws, experiments["translate · claude-haiku"].id, experiments["translate · gpt-4o-mini"].id)
    by_text = {d.input["text"]: d for d in diffs}
    assert by_text["Good morning"].deltas["pass"] == 0.0
    assert by_text["Thank you"].base_output == "Merci beaucoup" and by_text["Thank you"].error


def test_a_bad_record_names_itself_and_nothing_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((FIXTURES / "promptfoo_results.json").read_text())
    data["results"]["results"][3] = "not a result"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    code, out, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", "experiment", str(path),
                         "--project", "pf")
    assert code == 2
    assert "broken.json result 4: expected an object" in err and "Traceback" not in err
    ws = Workspace.open(tmp_path / "ws")
    assert not any(ws.objects("experiment", p.id) for p in ws.projects())  # the good provider was not written either


def test_langfuse_score_for_a_missing_observation_is_an_error(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((FIXTURES / "langfuse_export.json").read_text())
    data["scores"]["data"][1]["observationId"] = "obs-999"
    path = tmp_path / "lf.json"
    path.write_text(json.dumps(data))
    code, out, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", "logs", str(path), "--project", "lf")
    assert code == 2
    assert "lf.json score 2 ('correct'): it scores 'obs-999', which is not in the file" in err
    assert Workspace.open(tmp_path / "ws").projects() == []


def test_wrong_kind_for_the_format_says_which(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", "logs",
                         str(FIXTURES / "promptfoo_results.json"), "--project", "pf")
    assert code == 2
    assert "a promptfoo results file, which imports as an experiment: use `loop-tui import experiment" in err


def test_braintrust_jsonl_still_imports_as_before(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"id": "r1", "input": "q", "output": "a"}) + "\n")
    code, out, err = run(capsys, "--workspace", str(tmp_path / "ws"), "import", "logs", str(path), "--project", "bt")
    assert code == 0, err
    assert [r["id"] for r in rows_of(tmp_path / "ws", "project_logs", "bt")] == ["r1"]


def test_a_deeply_nested_file_is_one_sentence_in_every_format(tmp_path) -> None:
    """Format detection and the interop readers parse JSON too: 10,000 levels must not be a traceback."""
    from tests.conftest import run_cli

    deep = b"[" * 10_000 + b"]" * 10_000
    for name, body, fmt in (("deep.json", b'{"resourceSpans": ' + deep + b"}", "otlp"),
                            ("deep.jsonl", b'{"input": ' + deep + b"}\n", "promptfoo")):
        path = tmp_path / name
        path.write_bytes(body)
        done = run_cli("import", "logs" if fmt == "otlp" else "experiment", str(path), "--project", "p",
                       "--from", fmt, "--workspace", str(tmp_path / "ws"))
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
