"""The CLI never lets text from data act on the terminal (issue 12, item 9), in real subprocesses.

Tables always show control characters as symbols; CSV does so on a terminal (a pty here) and stays
byte-faithful into a file or pipe; JSON and JSONL keep the JSON escapes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.hostile_data import (
    DATASET,
    ERROR,
    EXPERIMENT,
    INPUT,
    PROJECT,
    TAKEOVER,
    build_hostile_workspace,
    shown,
)

QUERY = "select: id, input, error, span_attributes.name AS name | from: project_logs('{project}') | sort: id"


def _no_controls(text: str) -> bool:
    return all(c.isprintable() or c in "\n" for c in text)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """(workspace path, hostile project's id)."""
    path = tmp_path_factory.mktemp("hostile_cli") / "ws"
    ws = build_hostile_workspace(path)
    return str(path), ws.projects()[0].id


def _cli(ws: str, *args: str) -> subprocess.CompletedProcess:
    return run_cli("--workspace", ws, *args)


def test_projects_table_shows_controls_as_symbols(hostile: tuple[str, str]) -> None:
    ws, _ = hostile
    done = _cli(ws, "projects")
    assert done.returncode == 0, done.stderr
    assert _no_controls(done.stdout)
    assert shown(PROJECT) in done.stdout


def test_projects_and_experiments_json_stay_exact(hostile: tuple[str, str]) -> None:
    ws, project_id = hostile
    done = _cli(ws, "projects", "--format", "json")
    assert _no_controls(done.stdout)
    assert json.loads(done.stdout)[0]["name"] == PROJECT
    done = _cli(ws, "experiments", "--project", project_id)
    assert done.returncode == 0, done.stderr
    assert _no_controls(done.stdout) and shown(EXPERIMENT) in done.stdout


def test_history_table_shows_controls_as_symbols(hostile: tuple[str, str]) -> None:
    ws, _ = hostile
    done = _cli(ws, "history")
    assert done.returncode == 0, done.stderr
    assert _no_controls(done.stdout)


def test_btql_table_shows_controls_as_symbols(hostile: tuple[str, str]) -> None:
    ws, project_id = hostile
    done = _cli(ws, "btql", QUERY.format(project=project_id))
    assert done.returncode == 0, done.stderr
    assert _no_controls(done.stdout)
    assert "␛]0;pwned␇" in done.stdout and "[red]span[/" in done.stdout


def test_btql_json_and_jsonl_escape_controls_and_keep_the_values(hostile: tuple[str, str]) -> None:
    ws, project_id = hostile
    done = _cli(ws, "btql", "--format", "json", QUERY.format(project=project_id))
    assert _no_controls(done.stdout)
    root = json.loads(done.stdout)["data"][1]
    assert root["input"] == {"question": INPUT}
    done = _cli(ws, "btql", "--format", "jsonl", QUERY.format(project=project_id))
    assert _no_controls(done.stdout)
    assert json.loads(done.stdout.splitlines()[1])["input"] == {"question": INPUT}


def test_btql_csv_into_a_pipe_is_faithful(hostile: tuple[str, str]) -> None:
    ws, project_id = hostile
    done = _cli(ws, "btql", "--format", "csv", QUERY.format(project=project_id))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert json.loads(rows[2][1]) == {"question": INPUT}  # the raw bytes, as the data holds them
    assert rows[2][2] == ERROR  # newlines too
    assert TAKEOVER in done.stdout


def _on_a_terminal(*args: str) -> str:
    """Run the CLI with its stdout on a pty (a terminal, as far as it can tell); returns what it printed."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "loop_tui", *args], stdout=follower, stderr=subprocess.PIPE,
                                cwd=REPO, env=os.environ.copy())
        os.close(follower)
        chunks = []
        deadline = time.monotonic() + 120
        while True:
            ready, _, _ = select.select([leader], [], [], max(deadline - time.monotonic(), 0))
            assert ready, "the CLI wrote nothing for two minutes and did not exit"
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the pty closes with EIO once the child has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        os.close(leader)
    return b"".join(chunks).decode()


def test_btql_csv_on_a_terminal_shows_controls_as_symbols(hostile: tuple[str, str]) -> None:
    ws, project_id = hostile
    out = _on_a_terminal("--workspace", ws, "btql", "--format", "csv", QUERY.format(project=project_id))
    assert "\x1b" not in out and "\x07" not in out
    assert "␛]0;pwned␇␛[2J" in out


def test_export_csv_to_stdout_on_a_terminal_shows_controls_as_symbols(hostile: tuple[str, str]) -> None:
    ws, project_id = hostile
    out = _on_a_terminal("--workspace", ws, "export", "logs", "--project", project_id, "--out", "-", "--format", "csv")
    assert "\x1b" not in out and "\x07" not in out
    assert "answer ␛]0;pwned␇␛[2J" in out


def test_export_to_stdout_escapes_c1_controls_and_keeps_the_values(tmp_path: Path) -> None:
    from loop_tui.store import Workspace

    text = "csi \x9b2J, bidi \u202eevil, del \x7f, " + TAKEOVER
    ws = Workspace.open(tmp_path / "ws")
    project = ws.create_project("p")
    ws.insert_rows("project_logs", project.id, [{"id": "r", "input": text, "output": {"o": text}}], project_id=project.id)
    done = _cli(str(tmp_path / "ws"), "export", "logs", "--project", "p", "--out", "-")
    assert done.returncode == 0, done.stderr
    assert _no_controls(done.stdout)
    row = json.loads(done.stdout)
    assert (row["input"], row["output"]) == (text, {"o": text})
    piped = _cli(str(tmp_path / "ws"), "export", "logs", "--project", "p", "--out", "-", "--format", "csv")
    assert list(csv.DictReader(io.StringIO(piped.stdout)))[0]["input"] == text  # into a pipe: the bytes as stored


def test_error_messages_show_controls_as_symbols(hostile: tuple[str, str], tmp_path: Path) -> None:
    ws, _ = hostile
    done = _cli(ws, "experiments", "--project", "nope" + TAKEOVER)
    assert done.returncode == 2
    assert _no_controls(done.stderr) and shown(PROJECT) in done.stderr  # the message lists the projects
    done = _cli(ws, "btql", "select: * | from: project_logs('x') | filter: " + TAKEOVER)
    assert done.returncode == 2
    assert _no_controls(done.stderr) and "␛" in done.stderr
    done = _cli(ws, "btql", "--format", TAKEOVER, "select: 1")  # argparse's own error quotes the value
    assert done.returncode == 2
    assert _no_controls(done.stderr)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"input": 1, "scores": {"x" + TAKEOVER: "high"}}) + "\n")
    done = _cli(ws, "import", "logs", str(bad), "--project", DATASET)
    assert done.returncode == 2
    assert _no_controls(done.stderr)


@pytest.mark.parametrize("fmt", ["text", "jsonl"])
def test_ask_prints_what_the_model_quotes_from_rows_as_symbols(hostile: tuple[str, str], fmt: str) -> None:
    ws, project_id = hostile
    done = _cli(ws, "ask", "--project", project_id, "--format", fmt, "what are the most common errors?")
    assert done.returncode == 0, done.stderr
    assert _no_controls(done.stdout) and _no_controls(done.stderr)
    assert ("␛]0;pwned␇" if fmt == "text" else "\\u001b]0;pwned") in done.stdout
