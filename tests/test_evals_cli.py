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


def _add_rows(ws_path: Path, count: int) -> None:
    ws = Workspace.open(ws_path)
    project = ws.project("cli-proj")
    ds = ws.get_object("dataset", project.id, "golden")
    ws.insert_rows("dataset", ds.id, [{"input": f"more{i}", "expected": f"echo: more{i}"} for i in range(count)],
                   project_id=project.id)


def test_failed_rows_exit_3_and_an_endpoint_failing_every_request_exits_4(ws_path: Path, fake_server: Any) -> None:
    fake_server.script([{"fault": "400", "message": "this row is refused"}])
    some = cli_eval(ws_path, fake_server, "--prompt", "echo", "--dataset", "golden", "--scorer", "ExactMatch",
                    "--concurrency", "1")
    assert some.returncode == 3, some.stderr
    assert "1 of 4 rows failed" in some.stderr and "SUMMARY" in some.stdout

    _add_rows(ws_path, 20)
    fake_server.reset()
    fake_server.script([{"fault": "401"}] * 100)
    down = cli_eval(ws_path, fake_server, "--prompt", "echo", "--dataset", "golden", "--scorer", "ExactMatch",
                    "--concurrency", "2", "--format", "json")
    assert down.returncode == 4, down.stderr
    assert "stopped early: 5 rows in a row failed the same way (auth)" in down.stderr
    assert "the other 19 were not run" in down.stderr  # 24 rows: 5 failed; the sixth, in flight, cancelled
    assert len(fake_server.requests) <= 6
    assert json.loads(down.stdout)["rows"] == 5
    listed = run_cli("--workspace", str(ws_path), "experiments", "--project", "cli-proj", "--format", "json")
    assert json.loads(listed.stdout)[0]["status"] == "failed"


def test_no_key_advice_names_the_command_line_flag(ws_path: Path, fake_server: Any) -> None:
    env = {"OPENAI_BASE_URL": fake_server.openai_base_url}
    result = run_cli("--workspace", str(ws_path), "eval", "--project", "cli-proj", "--prompt", "echo",
                     "--dataset", "golden", env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "loop-tui: no API key for the model 'openai/gpt-4o-mini': set the environment variable OPENAI_API_KEY, "
        "or pick another model with --model."
    )


def _start_slow_eval(ws_path: Path, server: Any) -> Any:
    """`loop-tui eval` over 200 rows at 0.1 s each, two at a time (10 s), as a process the test can kill."""
    import subprocess
    import sys

    from tests.conftest import REPO

    _add_rows(ws_path, 196)
    server.latency_s = 0.1
    command = [sys.executable, "-m", "loop_tui", "--workspace", str(ws_path), "eval", "--project", "cli-proj",
               "--prompt", "echo", "--dataset", "golden", "--scorer", "ExactMatch", "--concurrency", "2",
               "--name", "long"]
    import os

    return subprocess.Popen(command, env={**os.environ, **server.env()}, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _stored(ws_path: Path) -> int:
    """Root spans of the experiment `long` now in the workspace (0 before it exists)."""
    ws = Workspace.open(ws_path)
    found = ws.query("SELECT count(*) AS n FROM experiment e JOIN catalog c ON c.id = e.experiment_id "
                     "WHERE c.name = 'long' AND e.is_root")
    return int(found[0]["n"])


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_killed_eval_keeps_its_finished_rows_and_is_marked_interrupted(
    ws_path: Path, fake_server: Any, how: str
) -> None:
    import signal

    process = _start_slow_eval(ws_path, fake_server)
    try:
        assert fake_server.wait_for(lambda: _stored(ws_path) >= 10, timeout=30), "no rows were written as they finished"
        process.send_signal(getattr(signal, how))
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    kept = _stored(ws_path)
    assert 10 <= kept < 150  # written as they finished, not only once 80% of the run was done
    from loop_tui.evals.experiments import list_experiments

    experiment = list_experiments(Workspace.open(ws_path), "cli-proj")[0]  # as `loop-tui experiments` lists it
    assert (experiment["name"], experiment["status"], experiment["rows"]) == ("long", "interrupted", kept)
    if how == "SIGTERM":
        assert process.returncode == 143 and "the rows finished so far are kept" in stderr
        assert "Traceback" not in stderr
        ws = Workspace.open(ws_path)
        assert ws.get_object("experiment", ws.project("cli-proj").id, "long").data["row_count"] == kept
