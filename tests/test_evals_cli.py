"""`loop-tui eval` and `loop-tui experiments` in a real subprocess against the fake model server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from loop_tui.store import Workspace
from tests.conftest import run_cli


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    ws = Workspace.open(path)
    project = ws.create_project("cli-proj")
    ds = ws.save_object("dataset", project.id, "golden", {})
    rows = [{"input": f"q{i}", "expected": f"echo: q{i}" if i < 3 else "different"} for i in range(4)]
    ws.insert_rows("dataset", ds.id, rows, project_id=project.id)
    ws.save_object(
        "prompt",
        project.id,
        "echo",
        {"messages": [{"role": "user", "content": "{{input}}"}], "model": "openai/gpt-4o-mini", "params": {}},
    )
    return path


def cli_eval(ws_path: Path, server: Any, *args: str) -> Any:
    """`loop-tui eval --project cli-proj …` against the fake model server."""
    return run_cli("--workspace", str(ws_path), "eval", "--project", "cli-proj", *args, env=server.env())


def test_eval_text_then_json_with_base(ws_path: Path, fake_server: Any) -> None:
    first = cli_eval(
        ws_path, fake_server,
        "--prompt", "echo", "--dataset", "golden", "--scorer", "ExactMatch", "--scorer", "Levenshtein", "--name", "run-1",
    )
    assert first.returncode == 0, first.stderr
    assert "=========================SUMMARY=========================" in first.stdout
    assert "75.00% 'ExactMatch'  score" in first.stdout  # padded to the longest name + 2
    assert "\x1b" not in first.stderr  # no progress bar when stderr is not a terminal

    second = cli_eval(
        ws_path, fake_server,
        "--prompt", "echo", "--dataset", "golden", "--scorer", "ExactMatch",
        "--format", "json", "--concurrency", "2", "--trials", "2",
    )
    assert second.returncode == 0, second.stderr
    out = json.loads(second.stdout)
    assert set(out) == {"experiment", "base", "rows", "errors", "scores", "metrics"}
    assert set(out["experiment"]) == {"id", "name"} and out["base"]["name"] == "run-1"
    assert (out["rows"], out["errors"]) == (8, 0)
    score = out["scores"]["ExactMatch"]
    assert set(score) == {"mean", "diff", "improvements", "regressions", "ci_low", "ci_high"}
    assert score["mean"] == 0.75 and score["diff"] == 0.0 and score["ci_low"] == 0.0
    assert (
        set(out["metrics"]["duration"]) == {"value", "unit", "diff"}
        and out["metrics"]["duration"]["unit"] == "s"
    )

    listed = run_cli("--workspace", str(ws_path), "experiments", "--project", "cli-proj", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    experiments = json.loads(listed.stdout)
    assert [e["rows"] for e in experiments] == [8, 4]
    assert experiments[1]["name"] == "run-1" and experiments[1]["scores"]["ExactMatch"] == 0.75
    table = run_cli("--workspace", str(ws_path), "experiments", "--project", "cli-proj")
    assert "ExactMatch" in table.stdout and "75.0%" in table.stdout


def test_eval_with_a_prompt_file(ws_path: Path, fake_server: Any, tmp_path: Path) -> None:
    prompt_file = tmp_path / "prompt.json"
    prompt_file.write_text(json.dumps({"messages": [{"role": "user", "content": "{{input}}"}], "params": {}}))
    result = cli_eval(
        ws_path, fake_server,
        "--prompt-file", str(prompt_file), "--dataset", "golden", "--scorer", "Levenshtein",
        "--model", "anthropic/claude-3-5-haiku", "--format", "json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["scores"]["Levenshtein"]["mean"] > 0.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompt", "echo", "--dataset", "golden", "--scorer", "Nope"], "unknown scorer 'Nope'"),
        (["--prompt", "echo", "--dataset", "missing"], "no dataset named 'missing'"),
        (["--prompt", "nope", "--dataset", "golden"], "no prompt named 'nope'"),
        (["--prompt-file", "/nonexistent.json", "--dataset", "golden"], "cannot read the prompt file"),
        (
            ["--prompt", "echo", "--dataset", "golden", "--concurrency", "0"],
            "--concurrency must be at least 1",
        ),
        (["--dataset", "golden"], "one of the arguments --prompt --prompt-file --rerun is required"),
        (["--prompt", "echo"], "--dataset is required"),
        (["--rerun", "nope"], "no experiment named 'nope'"),
        (["--rerun", "nope", "--dataset", "golden", "--scorer", "ExactMatch"], "drop --dataset, --scorer"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    ws_path: Path, fake_server: Any, args: list[str], message: str
) -> None:
    result = cli_eval(ws_path, fake_server, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_rerun_repeats_an_experiment_and_compares_with_it(ws_path: Path, fake_server: Any) -> None:
    first = cli_eval(ws_path, fake_server, "--prompt", "echo", "--dataset", "golden", "--scorer", "ExactMatch",
                     "--name", "pinned", "--trials", "2")
    assert first.returncode == 0, first.stderr
    ws = Workspace.open(ws_path)
    project = ws.project("cli-proj")
    ds = ws.get_object("dataset", project.id, "golden")
    ws.insert_rows("dataset", ds.id, [{"input": "added later", "expected": "x"}], project_id=project.id)
    again = cli_eval(ws_path, fake_server, "--rerun", "pinned", "--format", "json")
    assert again.returncode == 0, again.stderr
    out = json.loads(again.stdout)
    assert out["experiment"]["name"] == "pinned-rerun" and out["base"]["name"] == "pinned"
    assert out["rows"] == 8 and out["scores"]["ExactMatch"]["diff"] == 0.0  # the 4 pinned rows × 2 trials
