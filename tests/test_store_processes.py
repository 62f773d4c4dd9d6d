"""Crash safety and concurrency of the store, with real processes and a real `kill -9`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loop_tui.store import Workspace
from tests.otel_support import wait_until

WRITER = textwrap.dedent(
    """
    import sys
    from loop_tui.store import Workspace
    root, dataset_id, project_id, tag, batches, size = sys.argv[1:7]
    ws = Workspace.open(root)
    for b in range(int(batches)):
        rows = [{"id": f"{tag}-{b}-{i}", "input": {"text": "x" * 200, "i": i}, "expected": i} for i in range(int(size))]
        ws.insert_rows("dataset", dataset_id, rows, project_id=project_id)
        print(b, flush=True)
    """
)


def _spawn(root: Path, dataset_id: str, project_id: str, tag: str, batches: int, size: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), dataset_id, project_id, tag, str(batches), str(size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def dataset(tmp_path: Path):
    ws = Workspace.open(tmp_path / "ws")
    project = ws.create_project("p")
    ds = ws.save_object("dataset", project.id, "d", {})
    return ws, project, ds


def test_two_processes_writing_at_once_lose_nothing(dataset) -> None:
    ws, project, ds = dataset
    procs = [_spawn(ws.root, ds.id, project.id, tag, 15, 200) for tag in ("a", "b")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    rows = ws.query("SELECT id FROM dataset")
    assert len(rows) == 2 * 15 * 200
    assert len({r["id"] for r in rows}) == len(rows)
    xacts = [e.xact_id for e in ws.history(table="dataset", limit=1000)]
    assert len(xacts) == 30 and len(set(xacts)) == 30


@pytest.mark.slow
def test_kill_9_mid_write_leaves_earlier_commits_intact(dataset) -> None:
    ws, project, ds = dataset
    size = 20_000
    proc = _spawn(ws.root, ds.id, project.id, "k", 1000, size)
    # Wait for two commits, then kill while the next (large) segment is being written: its temporary file is
    # on disk (polled every millisecond: a write of this size lasts tens of them).
    assert proc.stdout is not None
    for commit in ("0\n", "1\n"):
        assert proc.stdout.readline() == commit, proc.stderr.read() if proc.stderr else ""
    folder = ws.root / "tables" / "dataset" / ds.id
    wait_until(lambda: any(folder.glob(".tmp-*.part")), timeout=60, interval=0.001,
               what="the third segment's write to start")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    reopened = Workspace.open(ws.root)
    count = reopened.query("SELECT count(*) AS n FROM dataset")[0]["n"]
    assert count >= 2 * size and count % size == 0  # whole segments only, never a torn one
    segments = list((ws.root / "tables" / "dataset" / ds.id).glob("seg-*.parquet"))
    assert len(segments) == count // size
    # The workspace is still writable after the crash, and the lock was released by the kernel.
    reopened.insert_rows("dataset", ds.id, [{"id": "after", "input": 1}], project_id=project.id)
    assert reopened.query("SELECT count(*) AS n FROM dataset")[0]["n"] == count + 1
