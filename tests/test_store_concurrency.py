"""Several processes on one workspace at once: creating, importing, compacting and querying, with real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from loop_tui.store import Workspace
from tests.conftest import REPO, run_cli

OPEN_AT_ONCE = textwrap.dedent(
    """
    import os, sys, time
    from loop_tui.store import Workspace
    root, go = sys.argv[1:3]
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(go):  # poll for the go file (never longer than a minute)
        if time.monotonic() > deadline:
            sys.exit("the go file never appeared")
        time.sleep(0.001)
    Workspace.open(root)
    """
)

WRITE_AND_COMPACT = textwrap.dedent(
    """
    import sys
    from loop_tui.store import Workspace
    root, rounds = sys.argv[1], int(sys.argv[2])
    ws = Workspace.open(root)
    project_id = ws.project("p").id
    for r in range(rounds):
        for k in range(3):
            rows = [{"id": f"{r}-{k}-{i}", "input": i} for i in range(50)]
            ws.insert_rows("project_logs", project_id, rows, project_id=project_id)
        ws.compact()
    print("done", flush=True)
    """
)


def _python(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=REPO)


def test_four_processes_opening_a_new_workspace_at_once_all_succeed(tmp_path: Path) -> None:
    for round_no in range(2):
        root, go = tmp_path / f"ws{round_no}", tmp_path / f"go{round_no}"
        procs = [_python(OPEN_AT_ONCE, str(root), str(go)) for _ in range(4)]
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        go.touch()  # release all four at the same moment
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        assert Workspace.open(root).projects() == []


def test_four_imports_creating_the_same_project_and_dataset_at_once_all_land(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    Workspace.open(root)
    files = []
    for n in range(4):
        path = tmp_path / f"part{n}.jsonl"
        path.write_text("".join(json.dumps({"id": f"{n}-{i}", "input": i}) + "\n" for i in range(25)))
        files.append(path)
    procs = [subprocess.Popen([sys.executable, "-m", "loop_tui", "import", "dataset", str(f), "--project", "new",
                               "--name", "shared", "--workspace", str(root)], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    ws = Workspace.open(root)
    [project] = ws.projects()
    [dataset] = ws.objects("dataset", project.id)
    assert dataset.name == "shared"
    assert ws.read_rows("dataset", dataset.id).num_rows == 100


def test_btql_during_compaction_always_sees_one_consistent_snapshot(tmp_path: Path) -> None:
    from loop_tui.btql import run

    root = tmp_path / "ws"
    ws = Workspace.open(root)
    project = ws.create_project("p")
    ws.insert_rows("project_logs", project.id, [{"id": f"seed-{i}", "input": i} for i in range(50)],
                   project_id=project.id)
    del ws  # this process reads only through the queries below
    writer = _python(WRITE_AND_COMPACT, str(root), "6")
    seen: list[int] = []
    deadline = time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        result = run("SELECT count(*) AS n, count(DISTINCT id) AS d FROM project_logs('p')", str(root))
        [row] = result.table.to_pylist()
        assert row["n"] == row["d"] and row["n"] % 50 == 0, row  # never a row twice, never a torn write
        seen.append(row["n"])
    _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert seen == sorted(seen) and len(seen) > 1  # counts only grow, query after query
    done = run_cli("btql", "SELECT count(*) AS n FROM project_logs('p')", "--format", "json", "--workspace", str(root))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"][0]["n"] == 50 + 6 * 3 * 50


def test_a_workspace_another_process_finishes_creating_between_two_looks_opens(tmp_path: Path, monkeypatch) -> None:
    # Seen in CI, four processes opening one new folder at once: one found no marker, another process wrote
    # it, then the marker made the folder "not fresh" and the first said it was "not a Loop TUI workspace".
    from loop_tui.store import opening

    root = tmp_path / "ws"
    looks = opening._is_fresh

    def another_process_finishes_first(path: Path) -> bool:
        monkeypatch.setattr(opening, "_is_fresh", looks)
        Workspace.open(root)  # what the other process did meanwhile (its marker is written now)
        return looks(path)

    monkeypatch.setattr(opening, "_is_fresh", another_process_finishes_first)
    assert opening.prepare(root) == root.resolve()
