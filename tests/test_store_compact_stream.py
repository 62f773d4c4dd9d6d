"""Compaction in bounded memory (issue 15): an object's segments are streamed through DuckDB into new
segments of at most `max_rows` rows, committed with one log line, and a full segment is never rewritten.

`loop-tui compact` read an object's whole history into one Arrow table: at 7M spans it could not run.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from loop_tui.btql import run
from loop_tui.btql.rows import table_rows
from loop_tui.store import Workspace, txlog
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
    """Measured in a fresh process: what compacting adds to its peak memory stays below the object's size
    (~240 MB of span text here; ~2.5 row groups of 48 MB are held); reading the whole history into memory
    added almost three times that (693 MB)."""
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
    assert grown_kb < 240 * 1024, f"compaction added {grown_kb // 1024} MB to the peak"
    ws = Workspace.open(root, create=False)
    assert ws.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM project_logs")[0] == {"n": 120_000, "d": 120_000}


def test_compaction_writes_segments_of_at_most_max_rows_and_keeps_the_answers(tmp_path: Path) -> None:
    ws, pid = _logs(tmp_path / "ws", writes=7, rows=300)
    before, history = _answers(ws), [h.xact_id for h in ws.history(limit=100)]
    assert ws.compact_report("project_logs", max_rows=1000)[0] == 1
    files = _files(ws, pid)
    rows = [pq.read_metadata(ws.root / "tables" / "project_logs" / pid / f).num_rows for f in files]
    assert rows == [900, 900, 300]  # whole segments folded in commit order, none split
    assert all("_scores_t" in pq.read_schema(ws.root / "tables" / "project_logs" / pid / f).names for f in files)
    assert _answers(ws) == before
    assert [h.xact_id for h in ws.history(limit=100)] == history  # housekeeping is not history
    assert ws.query("SELECT count(*) AS n FROM project_logs_history")[0]["n"] == 2100
    last = json.loads((ws.root / "xacts.jsonl").read_text().splitlines()[-1])
    assert [p["segment"] for p in last["parts"]] == files  # one commit line for the whole object


def test_compacting_again_rewrites_only_what_was_written_since(tmp_path: Path) -> None:
    ws, pid = _logs(tmp_path / "ws", writes=4, rows=400)
    ws.compact_report("project_logs", max_rows=1000)
    full = _files(ws, pid)
    assert len(full) == 2
    assert ws.compact_report("project_logs", max_rows=1000)[0] == 0  # nothing to gain
    ws.insert_rows("project_logs", pid, _spans(5000, 100), project_id=pid)
    ws.insert_rows("project_logs", pid, _spans(6000, 100), project_id=pid)
    assert ws.compact_report("project_logs", max_rows=1000)[0] == 1
    files = _files(ws, pid)
    assert files[:2] == full and len(files) == 3  # the two full segments kept as they were
    assert ws.query("SELECT count(*) AS n FROM project_logs")[0]["n"] == 1800


def test_updates_across_new_segments_still_show_the_latest_version(tmp_path: Path) -> None:
    """Two versions of a row may land in two new segments: the object must still be read de-duplicated."""
    ws, pid = _logs(tmp_path / "ws", writes=3, rows=200)
    ws.update_rows("project_logs", pid, [{"id": "s1", "input": {"q": "changed"}}], project_id=pid)
    ws.delete_rows("project_logs", pid, ["s2"], project_id=pid)
    ws.compact_report("project_logs", max_rows=500)
    files = _files(ws, pid)
    assert len(files) == 2 and all(f.endswith("-u.parquet") for f in files)  # s1's versions: one in each
    rows = ws.query("SELECT id, input FROM project_logs WHERE id IN ('s1', 's2')")
    assert [(r["id"], json.loads(r["input"])) for r in rows] == [("s1", {"q": "changed"})]
    assert ws.query("SELECT count(*) AS n FROM project_logs")[0]["n"] == 599
    assert len(ws.history(row_id="s1")) == 2


def _cli(*args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **({"LOOP_TUI_CRASH_AT": crash_at} if crash_at else {})}
    return subprocess.run([sys.executable, "-m", "loop_tui", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=60)


def _counts(root: Path) -> tuple[int, int, int]:
    ws = Workspace.open(root, create=False)
    latest = ws.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM project_logs")[0]
    return latest["n"], latest["d"], ws.query("SELECT count(*) AS n FROM project_logs_history")[0]["n"]


@pytest.mark.parametrize("crash_at", ["compact-row-group", "before-commit", "after-commit"])
def test_a_compaction_into_several_segments_killed_anywhere_keeps_every_row_once(tmp_path: Path, crash_at: str) -> None:
    root = tmp_path / "ws"
    _logs(root, writes=6, rows=200)
    killed = _cli("compact", "--max-rows", "500", "--workspace", str(root), crash_at=crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _counts(root) == (1200, 1200, 1200)  # the old files or all the new ones, never both, never a part
    done = _cli("compact", "--max-rows", "500", "--workspace", str(root))
    assert done.returncode == 0, done.stderr
    assert _counts(root) == (1200, 1200, 1200)
    ws = Workspace.open(root, create=False)
    assert len(_files(ws, ws.project("p").id)) == 3
    assert not list(root.rglob("*.part"))


def test_a_rebuilt_log_adopts_the_new_segments_not_the_replaced_ones_too(tmp_path: Path) -> None:
    """`doctor --repair` keeps a segment unless another holds all its transactions: every old segment must sit
    whole inside one new one, or a rebuilt log would list its rows twice."""
    root = tmp_path / "ws"
    ws, pid = _logs(root, writes=6, rows=200)
    ws.query("SELECT 1")  # this open reader keeps the replaced files on disk
    assert _cli("compact", "--max-rows", "500", "--workspace", str(root)).returncode == 0
    assert len(list((root / "tables" / "project_logs" / pid).glob("seg-*.parquet"))) == 9
    (root / "xacts.jsonl").unlink()
    repaired = _cli("doctor", "--repair", "--workspace", str(root))
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert _counts(root) == (1200, 1200, 1200)


def test_max_rows_must_be_positive(tmp_path: Path) -> None:
    out = _cli("compact", "--max-rows", "0", "--workspace", str(tmp_path / "ws"))
    assert out.returncode == 2 and out.stderr.strip() == "loop-tui: --max-rows must be at least 1"


def test_segments_with_different_score_keys_fold_into_one_with_every_key(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "ws")
    project, _ = ws.ensure_project("p")
    for row in ({"id": "a", "scores": {"X": 1}}, {"id": "b", "scores": {"Y": 0.5}, "metrics": {"tokens": 3}},
                {"id": "c", "scores": {"X": 0.25, "Y": None}}):
        ws.insert_rows("project_logs", project.id, [row], project_id=project.id)
    assert ws.compact() == 1
    got = table_rows(run("select: id, scores.X, scores.Y, metrics.tokens | from: project_logs('p') | sort: id", ws, "p").table)
    assert got == [{"id": "a", "X": 1.0, "Y": None, "tokens": None}, {"id": "b", "X": None, "Y": 0.5, "tokens": 3.0},
                   {"id": "c", "X": 0.25, "Y": None, "tokens": None}]
    scores = [r["scores"] for r in ws.query("SELECT scores FROM project_logs ORDER BY id")]
    assert scores == [{"X": 1.0}, {"Y": 0.5}, {"X": 0.25, "Y": None}]  # null and absent stay apart
