"""The store's CLI: demo, projects, import, export, history — as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loop_tui.cli.main import main
from tests.conftest import run_cli


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_demo_is_deterministic(tmp_path: Path, capsys) -> None:
    for name in ("a", "b"):
        assert main(["demo", "--workspace", str(tmp_path / name), "--spans", "400", "--seed", "3", "--end", "2026-11-27"]) == 0
        assert main(["export", "logs", "--project", "support-bot", "--workspace", str(tmp_path / name),
                     "--out", str(tmp_path / f"{name}.jsonl")]) == 0
    a, b = _rows(tmp_path / "a.jsonl"), _rows(tmp_path / "b.jsonl")
    strip = lambda rows: [{k: v for k, v in r.items() if k not in ("_xact_id", "project_id")} for r in rows]  # noqa: E731
    assert strip(a) == strip(b) and len(a) > 100


def test_projects_json_counts(shared_sample_ws_path: Path, capsys) -> None:
    assert main(["projects", "--format", "json", "--workspace", str(shared_sample_ws_path)]) == 0
    projects = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert set(projects) == {"support-bot", "invoice-extraction"}
    for p in projects.values():
        assert set(p) == {"id", "name", "logs", "experiments", "datasets"}
        assert p["logs"] > 1000 and p["experiments"] == 3 and p["datasets"] == 2


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
@pytest.mark.parametrize("kind,name", [("logs", None), ("dataset", "support-golden"), ("experiment", "baseline-gpt-4o-mini")])
def test_export_import_round_trip_keeps_every_field(sample_ws_path: Path, tmp_path: Path, fmt, kind, name) -> None:
    ws = str(sample_ws_path)
    out = tmp_path / f"rows.{fmt}"
    named = ["--name", name] if name else []
    assert main(["export", kind, "--project", "support-bot", *named, "--out", str(out), "--workspace", ws]) == 0
    assert main(["import", kind, str(out), "--project", "copy", "--name", "copied", "--workspace", ws]) == 0
    back = tmp_path / "back.jsonl"
    assert main(["export", kind, "--project", "copy", *(["--name", "copied"] if name else []), "--out", str(back), "--workspace", ws]) == 0
    original = tmp_path / "orig.jsonl"
    main(["export", kind, "--project", "support-bot", *named, "--out", str(original), "--workspace", ws])
    ignore = {"_xact_id", "project_id", "experiment_id", "dataset_id"}
    clean = lambda rows: sorted(({k: v for k, v in r.items() if k not in ignore} for r in rows), key=lambda r: r["id"])  # noqa: E731
    assert clean(_rows(back)) == clean(_rows(original))


def test_import_braintrust_sdk_rows(tmp_path: Path, capsys) -> None:
    """Rows as the Braintrust SDK logs them (no is_root, epoch metrics, extra bookkeeping fields)."""
    src = tmp_path / "bt.jsonl"
    rows = [
        {"id": "a", "span_id": "a", "root_span_id": "a", "created": "2026-01-02T03:04:05.123Z", "input": "q",
         "output": "o", "scores": {"Factuality": 1}, "metrics": {"start": 1735787045.1, "end": 1735787046.2},
         "metadata": {"model": "gpt-4o"}, "_pagination_key": "p0", "org_id": "o", "log_id": "g",
         "span_attributes": {"name": "root", "type": "task"}, "facets": {"Sentiment": "calm"}},
        {"id": "b", "span_id": "b", "root_span_id": "a", "span_parents": ["a"], "created": "2026-01-02T03:04:05.500Z",
         "span_attributes": {"name": "llm", "type": "llm"}},
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ws = str(tmp_path / "ws")
    assert main(["import", "logs", str(src), "--project", "bt", "--workspace", ws]) == 0
    from loop_tui.store import Workspace

    got = {r["id"]: r for r in Workspace.open(ws).query("SELECT id, is_root, _meta_model, scores, _extra FROM project_logs")}
    assert got["a"]["is_root"] is True and got["b"]["is_root"] is False
    assert got["a"]["_meta_model"] == "gpt-4o" and got["a"]["scores"] == {"Factuality": 1.0}
    assert json.loads(got["a"]["_extra"]) == {"facets": {"Sentiment": "calm"}}


def test_malformed_import_changes_nothing_and_names_the_line(sample_ws_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": 1}\n{"input": 2}\n{"input": 3, "tags": "urgent"}\n')
    before = sorted(p.name for p in sample_ws_path.rglob("*.parquet"))
    result = run_cli("import", "dataset", str(bad), "--project", "support-bot", "--workspace", str(sample_ws_path))
    assert result.returncode == 2
    assert "line 3" in result.stderr and "tags" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in sample_ws_path.rglob("*.parquet")) == before
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"input": 1}\n{"input": \n')
    result = run_cli("import", "logs", str(broken), "--project", "support-bot", "--workspace", str(sample_ws_path))
    assert result.returncode == 2 and "line 2" in result.stderr and "not valid JSON" in result.stderr


@pytest.mark.parametrize(
    "args,needle",
    [
        (["import", "logs", "/nonexistent.jsonl", "--project", "p"], "no such file"),
        (["import", "logs", "x.txt", "--project", "p"], "cannot tell the format"),
        (["export", "dataset", "--project", "support-bot"], "needs --name"),
        (["export", "logs", "--project", "nope"], "no project named"),
        (["demo", "--spans", "5"], "at least 100"),
        (["projects", "--format", "xml"], "invalid choice"),
        (["history", "--undo", "42"], "no write with id 42"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(shared_sample_ws_path: Path, args, needle) -> None:
    result = run_cli(*args, "--workspace", str(shared_sample_ws_path))
    assert result.returncode == 2, result.stderr
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_workspace_before_or_after_subcommand_and_env(shared_sample_ws_path: Path, tmp_path: Path) -> None:
    before = run_cli("--workspace", str(shared_sample_ws_path), "projects", "--format", "json")
    after = run_cli("projects", "--format", "json", "--workspace", str(shared_sample_ws_path))
    env = run_cli("projects", "--format", "json", env={"LOOP_TUI_WORKSPACE": str(shared_sample_ws_path)})
    assert before.returncode == after.returncode == env.returncode == 0
    assert before.stdout == after.stdout == env.stdout
    bad = tmp_path / "notws"
    bad.mkdir()
    (bad / "file.txt").write_text("x")
    result = run_cli("projects", "--workspace", str(bad))
    assert result.returncode == 2 and "not a Loop TUI workspace" in result.stderr


@pytest.mark.parametrize("where", ["a-file/ws", "/proc/no-such-workspace"])
def test_a_workspace_folder_that_cannot_be_made_is_one_line_and_exit_2(tmp_path: Path, where: str) -> None:
    """A path under a file, or where no folder can be made, was a traceback (NotADirectoryError, FileNotFoundError)."""
    (tmp_path / "a-file").write_text("x")
    for args in (["projects"], ["import", "logs", str(tmp_path / "a-file"), "--format", "jsonl", "--project", "p"]):
        result = run_cli(*args, "--workspace", where if where.startswith("/") else str(tmp_path / where))
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert "cannot be created" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    default = run_cli("projects", env={"LOOP_TUI_WORKSPACE": str(tmp_path / "a-file" / "ws")})  # no --workspace
    assert default.returncode == 2 and "Traceback" not in default.stderr, default.stderr
    assert f"{tmp_path / 'a-file' / 'ws'} cannot be created" in default.stderr


def test_default_workspace_is_seeded_from_sample(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "fresh" / "workspace"
    result = run_cli("projects", "--format", "json", env={"LOOP_TUI_WORKSPACE": str(target)})
    assert result.returncode == 0, result.stderr
    assert {p["name"] for p in json.loads(result.stdout)} == {"support-bot", "invoice-extraction"}


def test_history_and_undo_from_cli(sample_ws_path: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "rows.jsonl"
    src.write_text('{"id": "n1", "input": "new"}\n')
    ws = str(sample_ws_path)
    assert main(["import", "dataset", str(src), "--project", "support-bot", "--name", "support-golden", "--workspace", ws]) == 0
    capsys.readouterr()
    assert main(["history", "--format", "json", "--limit", "1", "--workspace", ws]) == 0
    entry = json.loads(capsys.readouterr().out)[0]
    assert entry["op"] == "import" and entry["count"] == 1
    assert main(["history", "--undo", str(entry["xact_id"]), "--workspace", ws]) == 0
    from loop_tui.store import Workspace

    assert Workspace.open(ws).query("SELECT count(*) AS n FROM dataset WHERE id = 'n1'")[0]["n"] == 0


def test_compact_keeps_data_and_history(sample_ws_path: Path, capsys) -> None:
    ws = str(sample_ws_path)
    assert main(["projects", "--format", "json", "--workspace", ws]) == 0
    before = capsys.readouterr().out
    assert main(["compact", "--workspace", ws]) == 0
    assert "compacted" in capsys.readouterr().out
    assert main(["projects", "--format", "json", "--workspace", ws]) == 0
    assert capsys.readouterr().out == before
    assert main(["compact", "--workspace", ws]) == 0
    assert "nothing to compact" in capsys.readouterr().out
