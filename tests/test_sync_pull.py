"""`sync pull` against the fake Braintrust: same ids and timestamps, incremental, newest version wins,
resumable after a network fault or kill -9, local edits never overwritten."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from loop_tui.remote.errors import RemoteError
from loop_tui.remote.pull import PullOptions, pull_project
from loop_tui.remote.sync_state import load_state
from loop_tui.store import Workspace
from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import btql_requests, client_for, local_rows, seed_logs
from tests.fake_braintrust.sdk import run_sdk

fake_bt = server.fake_bt
fake_bt_env = server.fake_bt_env


def test_pull_of_sdk_logged_project_keeps_ids_timestamps_and_xacts(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    pytest.importorskip("braintrust")
    run_sdk(fake_bt, """
        logger = braintrust.init_logger(project="support-bot")
        with logger.start_span(name="answer", input={"q": "hi"}) as root:
            root.log(output="hello", scores={"helpful": 1.0}, metadata={"model": "gpt-4.1"})
            with root.start_span(name="retrieve") as child:
                child.log(output=["doc"])
        logger.flush()
        dataset = braintrust.init_dataset(project="support-bot", name="golden")
        dataset.insert(input={"q": "a"}, expected="A", id="row-1")
        dataset.flush()
        experiment = braintrust.init_experiment(project="support-bot", experiment="baseline")
        experiment.log(input={"q": "a"}, output="A", expected="A", scores={"exact": 1.0})
        experiment.flush()
    """)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    report = pull_project(ws, client, "support-bot")
    project = next(iter(fake_bt.state.projects.values()))
    assert ws.project("support-bot").id == project["id"]
    remote_logs = fake_bt.state.live_rows("project_logs", project["id"])
    mine = local_rows(ws, "project_logs", project["id"])
    assert set(mine) == set(remote_logs)
    for row_id, remote in remote_logs.items():
        assert mine[row_id]["_bt_xact_id"] == remote["_xact_id"]
        assert mine[row_id]["span_parents"] == remote.get("span_parents")
        assert mine[row_id]["created"].rstrip("Z")[:19] == remote["created"][:19]
    dataset = next(iter(fake_bt.state.datasets.values()))
    assert ws.get_object("dataset", project["id"], "golden").id == dataset["id"]
    assert local_rows(ws, "dataset", dataset["id"])["row-1"]["expected"] == "A"
    experiment = next(iter(fake_bt.state.experiments.values()))
    assert [r["scores"] for r in local_rows(ws, "experiment", experiment["id"]).values()] == [{"exact": 1.0}]
    assert report.totals()["written"] == 4
    # BTQL works on the pulled copy offline
    from loop_tui.btql.executor import run

    result = run("select: count(1) as n | from: project_logs('support-bot')", ws)
    assert result.table.to_pylist()[0]["n"] == 2


def test_second_pull_fetches_only_what_changed(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt, 300)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    first = pull_project(ws, client, "support-bot", PullOptions(objects=("logs",), page_size=100))
    assert first.totals()["written"] == 300
    fake_bt.state.insert("project_logs", project_id, [{"id": "span-000007", "output": "edited", "_is_merge": True},
                                                      {"id": "new-span", "input": "fresh"}])
    fake_bt.requests.clear()
    second = pull_project(ws, client, "support-bot", PullOptions(objects=("logs",), page_size=100))
    assert second.totals()["fetched"] == 2 and second.totals()["written"] == 2
    [query] = btql_requests(fake_bt)
    assert query["filter"]["op"] == "gt" and query["filter"]["left"]["name"] == ["_xact_id"]
    rows = local_rows(ws, "project_logs", project_id)
    assert len(rows) == 301 and rows["span-000007"]["output"] == "edited" and rows["span-000007"]["input"] == {"i": 7}
    assert pull_project(ws, client, "support-bot", PullOptions(objects=("logs",))).totals()["fetched"] == 0


def test_repeated_older_versions_keep_the_newest(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt, 50, per_write=50)
    for n in range(3):  # three newer versions of one row, each its own transaction
        fake_bt.state.insert("project_logs", project_id, [{"id": "span-000003", "output": f"v{n}", "_is_merge": True}])
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    report = pull_project(ws, client, "support-bot", PullOptions(objects=("logs",), page_size=2, batch_rows=3))
    assert report.totals()["fetched"] > 50  # older versions came again on later pages
    rows = local_rows(ws, "project_logs", project_id)
    assert len(rows) == 50 and rows["span-000003"]["output"] == "v2"
    versions = ws.history("project_logs", row_id="span-000003")
    assert len(versions) == 1  # the older versions were never written over the newer one


def test_network_fault_mid_pull_keeps_the_workspace_whole_and_resumes(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt, 500)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt, retries=0)
    client.login()
    # the 4th page's connection drops half-way through
    fake_bt.fault("slow", path="/btql", times=3, delay_s=0)
    fake_bt.fault("drop", path="/btql")
    with pytest.raises(RemoteError, match="connection") as caught:
        pull_project(ws, client, "support-bot", PullOptions(objects=("logs",), page_size=100, batch_rows=100))
    assert "\n" not in str(caught.value)
    assert len(local_rows(ws, "project_logs", project_id)) == 300
    pending = load_state(ws.root, project_id, "support-bot").get("project_logs", project_id).pending
    assert pending and pending["cursor"]
    fake_bt.requests.clear()
    report = pull_project(ws, client, "support-bot", PullOptions(objects=("logs",), page_size=100, batch_rows=100))
    assert report.totals()["fetched"] == 200  # resumed at the saved cursor, not from the start
    assert len(local_rows(ws, "project_logs", project_id)) == 500
    assert btql_requests(fake_bt)[0]["cursor"] == pending["cursor"]


def test_malformed_page_fails_in_one_sentence_without_writing_it(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt, 30)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt, retries=1)
    client.login()
    fake_bt.fault("malformed", path="/btql", times=2)
    with pytest.raises(RemoteError, match=r"not valid JSON \(gave up after 1 retry\)"):
        pull_project(ws, client, "support-bot", PullOptions(objects=("logs",)))
    assert local_rows(ws, "project_logs", project_id) == {}
    assert pull_project(ws, client, "support-bot", PullOptions(objects=("logs",))).totals()["written"] == 30


def test_pull_never_overwrites_a_local_edit(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = fake_bt.state.ensure_project("support-bot")["id"]
    dataset = fake_bt.state.ensure_object("dataset", {"project_id": project_id, "name": "golden"})
    fake_bt.state.insert("dataset", dataset["id"], [{"id": "r1", "input": 1, "expected": "one"},
                                                    {"id": "r2", "input": 2, "expected": "two"}])
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    pull_project(ws, client, "support-bot", PullOptions(objects=("datasets",)))
    ws.update_rows("dataset", dataset["id"], [{"id": "r1", "expected": "ONE (local)"}], project_id=project_id)
    fake_bt.state.insert("dataset", dataset["id"], [{"id": "r1", "input": 1, "expected": "uno (remote)"},
                                                    {"id": "r2", "input": 2, "expected": "dos"}])
    report = pull_project(ws, client, "support-bot", PullOptions(objects=("datasets",)))
    rows = local_rows(ws, "dataset", dataset["id"])
    assert rows["r1"]["expected"] == "ONE (local)" and rows["r2"]["expected"] == "dos"
    assert report.objects[0].conflicts == ["r1"]


def test_pull_killed_with_sigkill_resumes(fake_bt_env: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt_env, 2000)
    workspace = tmp_path / "ws"
    fake_bt_env.fault("slow", path="/btql", times=1000, delay_s=0.05)
    proc = subprocess.Popen([sys.executable, "-m", "loop_tui", "sync", "pull", "--project", "support-bot",
                             "--objects", "logs", "--workspace", str(workspace), "--batch-rows", "100"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state_file = workspace / "sync" / f"{project_id}.json"

    def some_pages_committed() -> bool:
        try:
            pending = json.loads(state_file.read_text())["objects"][f"project_logs:{project_id}"]["pending"]
        except (OSError, ValueError, KeyError, TypeError):
            return False
        return bool(pending and pending.get("cursor"))

    assert fake_bt_env.wait_for(some_pages_committed, timeout=30)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    partial = local_rows(workspace, "project_logs", project_id)
    assert 0 < len(partial) < 2000
    fake_bt_env._faults.clear()
    done = subprocess.run([sys.executable, "-m", "loop_tui", "sync", "pull", "--project", "support-bot",
                           "--objects", "logs", "--workspace", str(workspace), "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["totals"]["fetched"] < 2000
    rows = local_rows(workspace, "project_logs", project_id)
    assert len(rows) == 2000 and rows["span-000000"]["output"] == "out 0"


def test_endless_cursor_stops_keeping_what_was_read(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt, 40)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    client.login()
    fake_bt.fault("endless", path="/btql", times=1000)
    with pytest.raises(RemoteError, match="same page cursor twice") as caught:
        pull_project(ws, client, "support-bot", PullOptions(objects=("logs",), page_size=10))
    assert caught.value.exit_code == 4
    assert len(local_rows(ws, "project_logs", project_id)) == 10  # the one real page, written whole
    fake_bt._faults.clear()
    assert len(local_rows(ws, "project_logs", project_id)) + pull_project(
        ws, client, "support-bot", PullOptions(objects=("logs",), page_size=10)).totals()["written"] == 40


def test_since_asks_only_for_recent_rows_and_the_key_is_written_nowhere(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    from loop_tui.cli.sync_cmd import parse_since

    seed_logs(fake_bt, 120)  # created 2026-01-01T00:00:00..00:01:59
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    report = pull_project(ws, client, "support-bot",
                          PullOptions(objects=("logs",), since_created="2026-01-01T00:01:00Z"))
    assert report.totals()["written"] == 60
    assert btql_requests(fake_bt)[-1]["filter"]["op"] == "ge"
    from datetime import UTC, datetime

    assert parse_since("2h", datetime(2026, 3, 1, 12, tzinfo=UTC)) == "2026-03-01T10:00:00Z"
    for path in ws.root.rglob("*"):
        if path.is_file():
            assert fake_bt.api_key.encode() not in path.read_bytes(), path


def test_a_resumed_pull_whose_cursor_expired_starts_the_object_over(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt, 30)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    from loop_tui.remote.sync_state import save_state

    state = load_state(ws.root, project_id, "support-bot")
    from loop_tui.remote.pull import link_project

    link_project(ws, fake_bt.state.projects[project_id])
    state.ensure("project_logs", project_id, project_id, "support-bot").pending = {
        "cursor": "expired", "since": None, "top": None, "created": None}
    save_state(ws.root, state)
    report = pull_project(ws, client, "support-bot", PullOptions(objects=("logs",)))
    assert report.totals()["written"] == 30 and len(report.objects) == 1
