"""`loop-tui btql`: formats, stdin, --explain, exit codes and error output."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import pytest

from loop_tui.cli.main import main

sys.path.insert(0, str(Path(__file__).parent / "btql_golden"))
import fixture  # noqa: E402

Q = "select: id, metadata.model, input | from: project_logs('alpha') | filter: is_root | sort: id"


@pytest.fixture(scope="module")
def wsdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("btql_cli") / "ws"
    fixture.build(path)
    return str(path)


def test_json_format(wsdir, capsys):
    assert main(["--workspace", wsdir, "btql", "--format", "json", Q]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out["data"]] == ["s1", "s4", "s7"]
    assert out["data"][0]["input"] == {"question": "How do I reset my password?"}
    assert out["schema"]["items"]["properties"]["id"] == {"type": "string"}
    assert out["cursor"] is None


def test_table_format_and_lint_warning(wsdir, capsys):
    assert main(["--workspace", wsdir, "btql", Q]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split() == ["id", "model", "input"]
    assert "(3 rows)" in lines[-1]
    assert "missingTimeRange" in captured.err


def test_jsonl_and_csv(wsdir, capsys):
    assert main(["--workspace", wsdir, "btql", "--format", "jsonl", Q]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["model"] for r in rows] == ["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet"]
    assert main(["--workspace", wsdir, "btql", "--format", "csv", Q]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == ["id", "model", "input"] and table[3][0] == "s7" and table[3][2] == 'hello world'


def test_stdin_project_limit_and_cursor(wsdir, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELECT id FROM project_logs() ORDER BY id"))
    assert main(["--workspace", wsdir, "btql", "-", "--project", "alpha", "--limit", "2", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in out["data"]] == ["s1", "s2"] and out["cursor"]
    assert main(["--workspace", wsdir, "btql", "SELECT id FROM project_logs() ORDER BY id", "--project", "alpha",
                 "--limit", "2", "--cursor", out["cursor"], "--format", "json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["data"]] == ["s3", "s4"]


def test_tz_offset(wsdir, capsys):
    q = "select: day(created) as d | from: experiment('exp-b') | filter: id = 'eb1'"
    assert main(["--workspace", wsdir, "btql", q, "--project", "alpha", "--tz-offset", "480", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == [{"d": "2024-01-15T08:00:00Z"}]


def test_explain(wsdir, capsys):
    assert main(["--workspace", wsdir, "btql", "--explain", "--format", "json", Q]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ast"]["from"]["name"]["name"] == ["project_logs"]
    assert out["sql"].startswith("WITH") and "alpha" not in out["sql"]
    assert main(["--workspace", wsdir, "btql", "--explain", Q]) == 0
    assert "SELECT" in capsys.readouterr().out


def test_error_json_on_stdout(wsdir, capsys):
    q = "select: id | from: project_logs('alpha') | filter: metadata.modle = 'x'"
    assert main(["--workspace", wsdir, "btql", "--format", "json", q]) == 2
    err = json.loads(capsys.readouterr().out)["error"]
    assert err == {"kind": "bind", "code": "unknown_field", "message": "Unknown field `metadata.modle`.", "line": 1,
                   "col": 52, "end_line": 1, "end_col": 66, "hint": "Did you mean `metadata.model`?"}


def test_error_caret_on_stderr(wsdir, capsys):
    q = "select: id | from: project_logs('alpha') | filter: metadata.modle = 'x'"
    assert main(["--workspace", wsdir, "btql", q]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[0].startswith("bind error (unknown_field) at line 1, column 52")
    assert lines[1] == "  " + q
    assert lines[2] == "  " + " " * 51 + "^" * 14
    assert lines[3] == "hint: Did you mean `metadata.model`?"


def test_parse_error_exit_code(wsdir, capsys):
    assert main(["--workspace", wsdir, "btql", "select: id | from: project_logs('alpha') | limit: 'x'"]) == 2
    assert "parse error (bad_number)" in capsys.readouterr().err
