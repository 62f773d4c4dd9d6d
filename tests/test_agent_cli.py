"""`loop-tui ask`: formats, confirmations, exit codes (0 done, 2 bad input, 3 iteration limit, 4 failure), resume."""

from __future__ import annotations

import io
import json

import pytest

from loop_tui.cli.main import main
from tests.conftest import run_cli


def _ask(ws, *args):
    return ["ask", "--workspace", str(ws.root), *args]


def _jsonl(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _no_tty(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def test_text_format_streams_answer_and_tool_lines(sample_ws, capsys):
    code = main(_ask(sample_ws, "--project", "support-bot", "what are the most common errors?"))
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("→ btql_query {") and lines[1].startswith("← btql_query: {")
    assert "The most common error is" in out


def test_jsonl_events(sample_ws, capsys):
    code = main(_ask(sample_ws, "--project", "support-bot", "--format", "jsonl", "error rate by model"))
    events = _jsonl(capsys.readouterr().out)
    assert code == 0
    assert [e["type"] for e in events[:2]] == ["tool_start", "tool_end"]
    assert set(events[0]) == {"type", "id", "name", "arguments"} and events[1]["id"] == events[0]["id"]
    assert "result" in events[1]
    assert {e["type"] for e in events[2:-1]} == {"text"}
    assert events[-1]["type"] == "done" and events[-1]["conversation_id"]


@pytest.mark.parametrize("args,message", [
    (["--model", "no-such-model", "hi"], "unknown model"),
    (["--project", "nope", "hi"], "no project named 'nope'"),
    (["--max-iterations", "0", "hi"], "--max-iterations"),
    (["--project", "support-bot"], "give a QUESTION"),
    (["--project", "support-bot", "--experiment", "nope", "hi"], "no experiment named 'nope'"),
    (["--model", "gpt-4.1", "hi"], "needs an API key in $OPENAI_API_KEY"),
])
def test_bad_input_exits_2_with_one_line(sample_ws, capsys, args, message):
    assert main(_ask(sample_ws, *args)) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_iteration_limit_exits_3_and_resumes(sample_ws, capsys):
    code = main(_ask(sample_ws, "--project", "support-bot", "--max-iterations", "1", "--format", "jsonl", "slowest requests"))
    events = _jsonl(capsys.readouterr().out)
    assert code == 3 and events[-1]["type"] == "iteration_limit"
    conversation = events[-1]["conversation_id"]
    code = main(_ask(sample_ws, "--project", "support-bot", "--conversation", conversation, "--format", "jsonl"))
    events = _jsonl(capsys.readouterr().out)
    assert code == 0 and events[-1]["type"] == "done"
    assert "slowest request took" in "".join(e.get("delta", "") for e in events)


def test_provider_failure_exits_4(sample_ws, capsys, fake_server_env):
    fake_server_env.script([{"fault": "401"}])
    code = main(_ask(sample_ws, "--model", "openai/gpt-4o-mini", "hi"))
    assert code == 4 and "loop-tui:" in capsys.readouterr().err


def test_yes_accepts_and_non_tty_declines(sample_ws, capsys, fake_server_env):
    pid = sample_ws.project("support-bot").id
    ds = sample_ws.get_object("dataset", pid, "escalations")
    count = lambda: sample_ws.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [ds.id])[0]["n"]  # noqa: E731
    before = count()
    add = {"tool_calls": [{"name": "edit_data", "arguments": {"operations": [{"op": "add", "input": "hello"}]}}]}
    fake_server_env.script([add, {"text": "declined, ok"}])
    args = ["--model", "openai/gpt-4o-mini", "--project", "support-bot", "--dataset", "escalations", "--format", "jsonl", "add"]
    assert main(_ask(sample_ws, *args)) == 0
    confirm = next(e for e in _jsonl(capsys.readouterr().out) if e["type"] == "confirm")
    assert confirm["accepted"] is False and confirm["preview"]["kind"] == "rows" and count() == before
    fake_server_env.script([add, {"text": "added"}])
    assert main(_ask(sample_ws, *args[:-1], "--yes", "add")) == 0
    events = _jsonl(capsys.readouterr().out)
    assert next(e for e in events if e["type"] == "confirm")["accepted"] is True
    assert next(e for e in events if e["type"] == "tool_end")["undo_xact"]
    assert count() == before + 1


def test_btql_page_from_query_flag_sees_the_binder_error(sample_ws, capsys):
    query = "select: id | from: project_logs('support-bot') | filter: metadata.modle = 'gpt-4o' | limit: 2"
    assert main(_ask(sample_ws, "--project", "support-bot", "--query", query, "fix this")) == 0
    out = capsys.readouterr().out
    assert "metadata.model = 'gpt-4o'" in out and "It now runs" in out


def test_ask_runs_as_a_real_command(sample_ws_path):
    result = run_cli("ask", "--workspace", str(sample_ws_path), "--page", "logs", "how do I set a budget?")
    assert result.returncode == 0, result.stderr
    assert "search_docs" in result.stdout and "budget" in result.stdout.lower()
