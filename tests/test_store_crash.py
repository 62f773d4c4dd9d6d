"""One commit point per write: `kill -9` at the critical points of a write and a compaction, and a full disk.

Crashes are real: a subprocess runs the CLI with `LOOP_TUI_CRASH_AT` naming the point where it SIGKILLs
itself (`segments.crash_point`); the full disk is a real `EFBIG` from RLIMIT_FSIZE in the child.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from loop_tui.store import Workspace
from tests.conftest import REPO

ROWS_PER_WRITE = 100


def _cli(*args: str, crash_at: str | None = None, file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if crash_at:
        env["LOOP_TUI_CRASH_AT"] = crash_at

    def limit_file_size() -> None:  # runs in the child: writes past the limit fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run([sys.executable, "-m", "loop_tui", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=60, preexec_fn=limit_file_size if file_size_limit else None)


def _dataset_with_segments(root: Path, writes: int = 4) -> tuple[Workspace, str]:
    ws = Workspace.open(root)
    project = ws.create_project("p")
    ds = ws.save_object("dataset", project.id, "d", {})
    for w in range(writes):
        rows = [{"id": f"w{w}-{i}", "input": {"i": i, "pad": "x" * 40}, "expected": i} for i in range(ROWS_PER_WRITE)]
        ws.insert_rows("dataset", ds.id, rows, project_id=project.id)
    return ws, ds.id


def _counts(root: Path) -> tuple[int, int, int]:
    """(latest rows, distinct ids, versions in history) as a fresh process would see them."""
    ws = Workspace.open(root)
    latest = ws.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM dataset")[0]
    return latest["n"], latest["d"], ws.query("SELECT count(*) AS n FROM dataset_history")[0]["n"]


def _segment_files(root: Path, dataset_id: str) -> list[str]:
    return sorted(p.name for p in (root / "tables" / "dataset" / dataset_id).glob("seg-*.parquet"))


@pytest.mark.parametrize("crash_at", ["before-commit", "after-commit"])
def test_compaction_killed_at_either_side_of_its_commit_never_duplicates_rows(tmp_path: Path, crash_at: str) -> None:
    root = tmp_path / "ws"
    dataset_id = _dataset_with_segments(root)[1]  # no workspace of this process stays open as a reader
    total = 4 * ROWS_PER_WRITE
    killed = _cli("compact", "--table", "dataset", "--workspace", str(root), crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _counts(root) == (total, total, total)  # old files or the new one, never both
    assert len(_segment_files(root, dataset_id)) == (4 if crash_at == "before-commit" else 1)
    done = _cli("compact", "--workspace", str(root))
    assert done.returncode == 0, done.stderr
    assert _counts(root) == (total, total, total)  # and history keeps no duplicate after another compact
    assert len(_segment_files(root, dataset_id)) == 1
    assert not [p for p in root.rglob("*.part")]


@pytest.mark.parametrize("crash_at,visible", [("before-commit", False), ("after-commit", True)])
def test_import_killed_at_either_side_of_its_commit_is_all_or_nothing(tmp_path: Path, crash_at: str, visible: bool) -> None:
    root = tmp_path / "ws"
    ws, dataset_id = _dataset_with_segments(root, writes=1)
    before = len(ws.history(limit=1000))
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps({"id": f"n{i}", "input": i}) + "\n" for i in range(300)))
    killed = _cli("import", "dataset", str(src), "--project", "p", "--name", "d", "--workspace", str(root),
                  crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    expected = ROWS_PER_WRITE + (300 if visible else 0)
    assert _counts(root) == (expected, expected, expected)
    reopened = Workspace.open(root)
    assert len(reopened.history(limit=1000)) == before + (1 if visible else 0)  # visible rows always have history
    # The uncommitted segment of the killed import is swept out of the tables on the next open.
    assert len(_segment_files(root, dataset_id)) == (2 if visible else 1)


def test_a_full_disk_while_committing_writes_nothing_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ws, dataset_id = _dataset_with_segments(root, writes=15)  # a log larger than the next segment
    before_history = len(ws.history(limit=1000))
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps({"id": f"n{i}", "input": i}) + "\n" for i in range(300)))
    log_size = (root / "xacts.jsonl").stat().st_size
    full = _cli("import", "dataset", str(src), "--project", "p", "--name", "d", "--workspace", str(root),
                file_size_limit=log_size + 100)  # the segment fits, the log line does not
    assert full.returncode == 1, full.stderr
    assert "could not record the write in the transaction log" in full.stderr, full.stderr
    assert "nothing was written" in full.stderr and "Traceback" not in full.stderr
    assert len(full.stderr.strip().splitlines()) == 1
    assert _counts(root)[0] == 15 * ROWS_PER_WRITE  # the outcome reported is the outcome on disk
    assert len(Workspace.open(root).history(limit=1000)) == before_history
    assert len(_segment_files(root, dataset_id)) == 15
    assert (root / "xacts.jsonl").read_bytes().endswith(b"\n")  # the torn line was cut back
    retry = _cli("import", "dataset", str(src), "--project", "p", "--name", "d", "--workspace", str(root))
    assert retry.returncode == 0, retry.stderr
    assert _counts(root)[0] == 15 * ROWS_PER_WRITE + 300  # retrying a file without ids does not duplicate


def test_a_torn_last_log_line_is_no_commit_and_the_next_write_cuts_it(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    ws, dataset_id = _dataset_with_segments(root, writes=1)
    with open(root / "xacts.jsonl", "ab") as fh:
        fh.write(b'{"xact":1,"op":"insert","table":"dataset","object_id":"')  # a kill mid-append
    assert _counts(root)[0] == ROWS_PER_WRITE
    ws = Workspace.open(root)
    project_id = ws.project("p").id
    ws.insert_rows("dataset", dataset_id, [{"id": "after", "input": 1}], project_id=project_id)
    assert _counts(root)[0] == ROWS_PER_WRITE + 1
    assert all(json.loads(line) for line in (root / "xacts.jsonl").read_text().splitlines())


def test_leftover_temp_files_of_killed_writers_are_swept(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    _, dataset_id = _dataset_with_segments(root, writes=1)
    folder = root / "tables" / "dataset" / dataset_id
    leftovers = [folder / ".tmp-123-456.parquet.part", folder / ".compact-789.parquet.part"]
    for path in leftovers:
        path.write_bytes(b"x" * 1000)
    Workspace.open(root)
    assert not any(p.exists() for p in leftovers)
    assert _counts(root)[0] == ROWS_PER_WRITE


def test_compactions_killed_at_random_moments_keep_every_row_once(tmp_path: Path) -> None:
    """As the adversarial pass did it: `kill -9` a running compaction at a random moment, a few times over."""
    import random
    import time

    root = tmp_path / "ws"
    ws, dataset_id = _dataset_with_segments(root, writes=3)
    project_id = ws.project("p").id
    rng = random.Random(12)
    total = 3 * ROWS_PER_WRITE
    for round_no in range(3):
        more = [{"id": f"r{round_no}-{i}", "input": i} for i in range(ROWS_PER_WRITE)]
        ws.insert_rows("dataset", dataset_id, more, project_id=project_id)
        total += ROWS_PER_WRITE
        proc = subprocess.Popen([sys.executable, "-m", "loop_tui", "compact", "--workspace", str(root)], cwd=REPO,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.5))  # start-up takes most of it: the kill lands before, in or after the work
        proc.kill()
        proc.wait(timeout=30)
        assert _counts(root) == (total, total, total), f"round {round_no}"
    del ws
    assert _cli("compact", "--workspace", str(root)).returncode == 0
    assert _counts(root) == (total, total, total)
    assert len(_segment_files(root, dataset_id)) == 1


@pytest.mark.parametrize("limit_kb", [16, 64, 160])
def test_a_disk_filling_up_at_any_point_of_an_import_is_one_sentence_and_nothing_visible(tmp_path: Path,
                                                                                          limit_kb: int) -> None:
    """Spans go through more passes than the first write (last of each id, the typed score/metric copies):
    the disk may fill in any of them."""
    root = tmp_path / "ws"
    ws = Workspace.open(root)
    project_id = ws.create_project("p").id
    src = tmp_path / "spans.jsonl"
    rows = [{"id": f"s{i % 7000}", "input": {"q": f"question {i}", "pad": "y" * 30}, "scores": {f"k{i % 50}": 0.5},
             "metrics": {"tokens": i}} for i in range(8000)]  # some ids twice: the last one wins, in another pass
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    full = _cli("import", "logs", str(src), "--project", "p", "--workspace", str(root), file_size_limit=limit_kb * 1024)
    assert "Traceback" not in full.stderr, full.stderr
    if full.returncode == 0:  # the limit was large enough: every row landed
        assert Workspace.open(root).read_rows("project_logs", project_id).num_rows == 7000
        return
    assert full.returncode == 1 and "nothing was written" in full.stderr and len(full.stderr.strip().splitlines()) == 1
    assert Workspace.open(root).read_rows("project_logs", project_id).num_rows == 0
    assert not [p for p in root.rglob("*") if p.name.startswith(".") and p.suffix in (".part", ".dedup")]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_an_export_that_fills_the_disk_fails_with_exit_1_and_leaves_no_file(tmp_path: Path, fmt: str) -> None:
    root = tmp_path / "ws"
    _dataset_with_segments(root, writes=4)
    out = tmp_path / f"out.{fmt}"
    full = _cli("export", "dataset", "--project", "p", "--name", "d", "--out", str(out), "--workspace", str(root),
                file_size_limit=4096)
    assert full.returncode == 1, full.stderr  # the disk failed, not the input (that would be 2)
    assert "nothing was written" in full.stderr and len(full.stderr.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".out.*"))
