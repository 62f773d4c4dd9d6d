"""Counts in what sync and remote commands say read as English: "1 row", "1 conflict", "1 project"
(the push summary said "1 rows"), in the CLI's text output and in the app's sync summary."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from loop_tui.cli.main import main
from loop_tui.counts import counted
from loop_tui.remote.pull import PullOptions, pull_project
from loop_tui.remote.push import PushOptions, plan_summary, push_project
from loop_tui.store import Workspace
from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import client_for

fake_bt = server.fake_bt
fake_bt_env = server.fake_bt_env

ONE_PLURAL = re.compile(r"(?<![\d,.])1 (rows|deletes|conflicts|projects|new versions|upserts|objects)\b")


def _one_edit_one_conflict(fake: FakeBraintrust, ws_path: Path) -> None:
    """A pulled 3-row dataset with one row edited here only and one changed on both sides."""
    project_id = fake.state.ensure_project("support-bot")["id"]
    dataset_id = fake.state.ensure_object("dataset", {"project_id": project_id, "name": "golden"})["id"]
    fake.state.insert("dataset", dataset_id, [{"id": f"r{i}", "input": {"q": i}, "expected": f"e{i}"} for i in range(3)])
    ws = Workspace.open(ws_path)
    pull_project(ws, client_for(fake)[0], "support-bot", PullOptions(objects=("datasets",)))
    ws.update_rows("dataset", dataset_id, [{"id": "r0", "expected": "mine"}, {"id": "r1", "expected": "both"}],
                   project_id=project_id)
    fake.state.insert("dataset", dataset_id, [{"id": "r1", "input": {"q": 1}, "expected": "theirs"}])


def test_counted() -> None:
    assert [counted(n, "row") for n in (0, 1, 2, 1204)] == ["0 rows", "1 row", "2 rows", "1,204 rows"]
    assert counted(1, "retry", "retries") == "1 retry" and counted(3, "retry", "retries") == "3 retries"


def test_push_output_says_1_row_and_1_conflict(fake_bt_env: FakeBraintrust, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    ws_path = tmp_path / "ws"
    _one_edit_one_conflict(fake_bt_env, ws_path)
    assert main(["--workspace", str(ws_path), "sync", "push", "--project", "support-bot", "--dry-run"]) == 3  # 3: a conflict
    dry = capsys.readouterr().out
    assert "would send to support-bot: 1 row, 0 deletes, 0 new versions; 1 conflict (changed on both sides" in dry
    assert main(["--workspace", str(ws_path), "sync", "push", "--project", "support-bot"]) == 3
    pushed = capsys.readouterr().out
    assert "pushed support-bot: 1 row sent, 0 deleted, 0 unchanged, 1 conflict" in pushed
    assert "dataset 'golden': 1 row sent, 0 deleted" in pushed
    assert not ONE_PLURAL.search(dry + pushed), dry + pushed


def test_plan_and_app_summaries_pluralise(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    from loop_tui.remote.push import report_sentence  # the app's summary of a finished pull or push

    _one_edit_one_conflict(fake_bt, tmp_path / "ws")
    client, _ = client_for(fake_bt)
    ws = Workspace.open(tmp_path / "ws")
    head, lines = plan_summary(push_project(ws, client, "support-bot", PushOptions(dry_run=True)))
    assert lines == ["dataset 'golden': 1 upsert; 1 conflict, not sent"]
    report = push_project(ws, client, "support-bot", PushOptions())
    assert report_sentence(report, "pushed") == "pushed support-bot: 1 row, 0 deleted, 1 conflict"
    assert not ONE_PLURAL.search(head + " ".join(lines))


def test_pull_cli_and_remote_status_pluralise(fake_bt_env: FakeBraintrust, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    project_id = fake_bt_env.state.ensure_project("support-bot")["id"]
    fake_bt_env.state.insert("project_logs", project_id, [{"id": "only", "input": "hi", "output": "hello"}])
    ws_path = str(tmp_path / "ws")
    assert main(["--workspace", ws_path, "sync", "pull", "--project", "support-bot", "--objects", "logs"]) == 0
    pulled = capsys.readouterr().out
    assert "pulled support-bot: 1 row written, 0 deleted, 0 unchanged, 0 conflicts" in pulled
    assert main(["--workspace", ws_path, "remote", "status"]) == 0
    status = capsys.readouterr().out
    assert "(1 project)" in status
    assert not ONE_PLURAL.search(pulled + status), pulled + status
