"""Compaction in bounded memory (issue 15): an object's segments are streamed through DuckDB into new
segments of at most `max_rows` rows, committed with one log line, and a full segment is never rewritten.

`loop-tui compact` read an object's whole history into one Arrow table: at 7M spans it could not run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from loop_tui.btql import run
from loop_tui.btql.rows import table_rows
from loop_tui.store import Workspace
from loop_tui.store import txlog
from tests.conftest import REPO

PAD = "lorem ipsum dolor sit amet " * 80  # ~2 KB of text per span


def _spans(start: int, count: int, *, pad: str = "") -> list[dict]:
    return [{"id": f"s{i}", "input": {"q": f"question {i}", "pad": pad}, "created": f"2026-01-01T00:00:{i % 60:02d}Z",
             "scores": {"Factuality": (i % 10) / 10, **({"Odd": 1} if i % 7 == 0 else {})},
             "metrics": {"start": float(i), "end": i + 0.5}}
            for i in range(start, start + count)]


def _logs(root: Path, writes: int, rows: int, *, pad: str = "") -> tuple[Workspace, str]:
    ws = Workspace.open(root)
    project, _ = ws.ensure_project("p")
    for w in range(writes):
        ws.insert_rows("project_logs", project.id, _spans(w * rows, rows, pad=pad), project_id=project.id)
    return ws, project.id


def _files(ws: Workspace, pid: str) -> list[str]:
    return list(txlog.snapshot(ws.root).files("project_logs")[pid])


def _answers(ws: Workspace) -> list:
    queries = ["measures: count(1) as n, sum(scores.Factuality) as f, count(scores.Odd) as o | from: project_logs('p')",
               "select: id, metrics.end | from: project_logs('p') | sort: metrics.end desc | limit: 5"]
    return [table_rows(run(q, ws, "p").table) for q in queries]


def test_compaction_memory_does_not_grow_with_the_object(tmp_path: Path) -> None:
    """Measured in a fresh process: what compacting adds to its peak memory stays far below the object's size
    (~240 MB of span text here); reading the whole history into memory added more than all of it."""
    root = tmp_path / "ws"
    _logs(root, writes=12, rows=10_000, pad=PAD)
    code = ("import resource, sys; from loop_tui.store import Workspace; "
            "ws = Workspace.open(sys.argv[1], create=False); ws.query('SELECT count(*) FROM project_logs'); "
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; n = ws.compact(); "
            "print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)")
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=120,
                         cwd=REPO, check=True)
    changed, grown_kb = map(int, out.stdout.split())
    assert changed == 1
    assert grown_kb < 120 * 1024, f"compaction added {grown_kb // 1024} MB to the peak"
    ws = Workspace.open(root, create=False)
    assert ws.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM project_logs")[0] == {"n": 120_000, "d": 120_000}
