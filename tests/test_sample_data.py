"""The sample workspace: recent on whatever day it is first copied, and exercising what the README shows."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loop_tui import clock
from loop_tui.store import Workspace
from loop_tui.store.demo import copy_recent
from loop_tui.store.demo.recent import newest_time
from tests.conftest import SAMPLE_WORKSPACE, run_cli


def _times(ws: Workspace) -> dict[str, tuple]:
    """Per log span: created, metrics.start, metrics.end (ids as keys)."""
    rows = ws.query("SELECT id, created, metrics['start'] AS s, metrics['end'] AS e FROM project_logs")
    return {r["id"]: (r["created"], r["s"], r["e"]) for r in rows}


def test_a_copy_made_later_is_shifted_so_its_newest_time_is_now(tmp_path: Path) -> None:
    later = datetime(2031, 3, 9, 14, 30, tzinfo=UTC)  # any day after the sample was made
    before = Workspace.open(copy_recent(SAMPLE_WORKSPACE, tmp_path / "as-is", newest_time(SAMPLE_WORKSPACE)))
    after = Workspace.open(copy_recent(SAMPLE_WORKSPACE, tmp_path / "recent", later))

    assert newest_time(after.root) == later
    offset = later - newest_time(SAMPLE_WORKSPACE)
    old, new = _times(before), _times(after)
    assert old.keys() == new.keys()  # the same ids
    for span_id, (created, start, end) in old.items():
        created2, start2, end2 = new[span_id]
        assert created2 - created == offset
        assert start2 - start == pytest.approx(offset.total_seconds())
        assert end2 - end == pytest.approx(offset.total_seconds())
    for table in ("experiment", "dataset", "catalog"):
        a = before.query(f"SELECT id, created, _xact_id FROM {table} ORDER BY id")
        b = after.query(f"SELECT id, created, _xact_id FROM {table} ORDER BY id")
        assert [r["id"] for r in a] == [r["id"] for r in b]
        assert [r["_xact_id"] for r in a] == [r["_xact_id"] for r in b]  # history and undo name the same writes
        assert {r2["created"] - r1["created"] for r1, r2 in zip(a, b, strict=True)} == {offset}
    history = after.history()
    assert history and max(e.time for e in history) <= later  # the write log moved too: nothing in the future


def test_the_copy_is_built_aside_and_never_left_half_written(tmp_path: Path) -> None:
    target = tmp_path / "ws"
    target.mkdir()
    (target / "mine.txt").write_text("keep me")  # someone else's folder at the target
    with pytest.raises(OSError):
        copy_recent(SAMPLE_WORKSPACE, target, datetime(2031, 1, 1, tzinfo=UTC))
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["ws"]  # no staging folder left behind


def test_first_run_seeds_a_recent_workspace_whatever_the_date(tmp_path: Path) -> None:
    """The README's headline question has an answer for "this week" on any date the app is first opened."""
    env = {"LOOP_TUI_NOW": "2031-03-09T14:30:00Z", "LOOP_TUI_WORKSPACE": str(tmp_path / "default-ws")}
    query = "select: count(1) as n | from: project_logs('support-bot') | filter: error IS NOT NULL and created > now() - interval 7 day"
    done = run_cli("btql", query, "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    assert '"n": 0' not in done.stdout and '"n":' in done.stdout
    ws = Workspace.open(tmp_path / "default-ws")
    newest = newest_time(ws.root)
    assert newest is not None and abs(newest - datetime(2031, 3, 9, 14, 30, tzinfo=UTC)) < timedelta(minutes=10)


def test_the_suite_runs_on_the_frozen_clock() -> None:
    """No test depends on today's date: the clock starts at the sample's own instant (tests/conftest.py)."""
    start = clock.pinned()
    assert start is not None and os.environ["LOOP_TUI_NOW"]
    assert timedelta(0) <= clock.now() - start < timedelta(hours=1)  # it runs on from there
    assert start == newest_time(SAMPLE_WORKSPACE)


def test_a_bad_pinned_clock_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    from loop_tui.errors import UserError

    monkeypatch.setenv("LOOP_TUI_NOW", "next tuesday")
    with pytest.raises(UserError, match="LOOP_TUI_NOW must be an ISO-8601 date"):
        clock.now()


def test_every_sample_experiment_can_be_rerun_exactly(shared_sample_ws_path: Path) -> None:
    """`r` in the experiment view works on the sample: every scorer its experiments used is built in or saved."""
    from loop_tui.evals.rerun import plan_rerun

    ws = Workspace.open(shared_sample_ws_path)
    planned = 0
    for project in ws.projects():
        for exp in ws.objects("experiment", project.id):
            plan = plan_rerun(ws, project.name, exp.name)
            assert plan.notes == [], (exp.name, plan.notes)
            assert plan.dataset_version is not None and plan.scorers
            planned += 1
    assert planned == 6


def test_a_pin_made_earlier_is_shared_by_every_process_that_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command a test starts later reads a later time than the rows the test wrote before it."""
    import subprocess
    import sys

    start = datetime(2026, 11, 27, tzinfo=UTC)
    value = clock.pin(start, at=datetime.now(UTC).timestamp() - 60)  # pinned a minute ago
    monkeypatch.setenv("LOOP_TUI_NOW", value)
    here = clock.now()
    child = subprocess.run([sys.executable, "-c", "from loop_tui import clock; print(clock.now().isoformat())"],
                           capture_output=True, text=True, check=True, env={**os.environ})
    assert timedelta(seconds=59) < here - start < timedelta(minutes=10)
    assert datetime.fromisoformat(child.stdout.strip()) >= here
