"""`sync push` against the fake Braintrust: the round trip from SDK-logged rows through a local edit back to
Braintrust, deletes as `_object_delete`, --dry-run, conflicts by id and --prefer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loop_tui.remote.pull import PullOptions, pull_project
from loop_tui.remote.push import PushOptions, push_project
from loop_tui.store import Workspace
from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import client_for, local_rows
from tests.fake_braintrust.sdk import run_sdk

fake_bt = server.fake_bt
fake_bt_env = server.fake_bt_env

PROMPT = {"prompt": {"type": "chat", "messages": [{"role": "system", "content": "Be brief."},
                                                   {"role": "user", "content": "{{input.q}}"}]},
          "options": {"model": "gpt-4.1", "params": {"temperature": 0}}, "tool_functions": None}


def seed_dataset(fake: FakeBraintrust) -> tuple[str, str]:
    project_id = fake.state.ensure_project("support-bot")["id"]
    dataset = fake.state.ensure_object("dataset", {"project_id": project_id, "name": "golden"})
    fake.state.insert("dataset", dataset["id"], [{"id": f"r{i}", "input": {"q": i}, "expected": f"e{i}"} for i in range(3)])
    return project_id, dataset["id"]


def test_round_trip_sdk_pull_edit_push(fake_bt_env: FakeBraintrust, tmp_path: Path) -> None:
    pytest.importorskip("braintrust")
    run_sdk(fake_bt_env, """
        dataset = braintrust.init_dataset(project="support-bot", name="golden")
        for i in range(3):
            dataset.insert(input={"q": f"question {i}"}, expected=f"answer {i}", id=f"row-{i}", tags=["seed"])
        dataset.flush()
        logger = braintrust.init_logger(project="support-bot")
        logger.log(input="hi", output="hello")
        logger.flush()
    """)
    project_id = next(iter(fake_bt_env.state.projects))
    fake_bt_env.state.save_function("prompt", {"project_id": project_id, "name": "answer", "slug": "answer",
                                               "prompt_data": PROMPT}, replace=True)
    workspace = tmp_path / "ws"
    cli = [sys.executable, "-m", "loop_tui", "--workspace", str(workspace)]
    pulled = subprocess.run([*cli, "sync", "pull", "--project", "support-bot"], capture_output=True, text=True, timeout=120)
    assert pulled.returncode == 0, pulled.stderr

    ws = Workspace.open(workspace)
    dataset = ws.get_object("dataset", project_id, "golden")
    ws.update_rows("dataset", dataset.id, [{"id": "row-1", "expected": "a better answer 1"}], project_id=project_id)
    ws.delete_rows("dataset", dataset.id, ["row-2"], project_id=project_id)
    prompt = ws.get_object("prompt", project_id, "answer")
    assert prompt.data["messages"][1]["content"] == "{{input.q}}"
    ws.save_object("prompt", project_id, "answer", {**prompt.data, "messages": [
        {"role": "system", "content": "Be brief and cite sources."}, {"role": "user", "content": "{{input.q}}"}]}, id=prompt.id)

    dry = subprocess.run([*cli, "sync", "push", "--project", "support-bot", "--dry-run", "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr
    planned = {o["name"]: o["would_send"] for o in json.loads(dry.stdout)["objects"]}
    assert sorted((i["id"], i["action"]) for i in planned["golden"]) == [("row-1", "upsert"), ("row-2", "delete")]
    assert planned["answer"] == [{"id": prompt.id, "action": "new version"}]
    assert len(fake_bt_env.state.live_rows("dataset", dataset.id)) == 3  # dry run sent nothing

    pushed = subprocess.run([*cli, "sync", "push", "--project", "support-bot"], capture_output=True, text=True, timeout=120)
    assert pushed.returncode == 0, pushed.stderr
    remote = fake_bt_env.state.live_rows("dataset", dataset.id)
    assert {i: (r["input"], r["expected"], r.get("tags")) for i, r in remote.items()} == {
        "row-0": ({"q": "question 0"}, "answer 0", ["seed"]),
        "row-1": ({"q": "question 1"}, "a better answer 1", ["seed"]),
    }
    versions = fake_bt_env.state.prompts[prompt.id]
    assert len(versions) == 2
    assert versions[-1]["prompt_data"]["prompt"]["messages"][0]["content"] == "Be brief and cite sources."
    assert versions[-1]["prompt_data"]["options"]["model"] == "gpt-4.1" and "tool_functions" in versions[-1]["prompt_data"]
    # nothing left to send, and local rows now carry Braintrust's new transaction ids
    again = push_project(Workspace.open(workspace), client_for(fake_bt_env)[0], "support-bot", PushOptions(dry_run=True))
    assert all(not o.would_send and not o.conflicts for o in again.objects)
    assert local_rows(workspace, "dataset", dataset.id)["row-1"]["_bt_xact_id"] == remote["row-1"]["_xact_id"]


def test_conflict_is_reported_by_id_and_not_sent(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id, dataset_id = seed_dataset(fake_bt)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    pull_project(ws, client, "support-bot", PullOptions(objects=("datasets",)))
    ws.update_rows("dataset", dataset_id, [{"id": "r0", "expected": "local"}, {"id": "r1", "expected": "local 1"}],
                   project_id=project_id)
    fake_bt.state.insert("dataset", dataset_id, [{"id": "r0", "input": {"q": 0}, "expected": "remote"}])
    report = push_project(ws, client, "support-bot", PushOptions(objects=("datasets",)))
    [obj] = report.objects
    assert obj.conflicts == ["r0"] and obj.written == 1
    remote = fake_bt.state.live_rows("dataset", dataset_id)
    assert remote["r0"]["expected"] == "remote" and remote["r1"]["expected"] == "local 1"
    # still a conflict next time, until settled
    assert push_project(ws, client, "support-bot", PushOptions(objects=("datasets",), dry_run=True)).objects[0].conflicts == ["r0"]
    settled = push_project(ws, client, "support-bot", PushOptions(objects=("datasets",), prefer="local"))
    assert settled.objects[0].conflicts == [] and fake_bt.state.live_rows("dataset", dataset_id)["r0"]["expected"] == "local"


def test_prefer_remote_takes_braintrusts_version(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id, dataset_id = seed_dataset(fake_bt)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    pull_project(ws, client, "support-bot", PullOptions(objects=("datasets",)))
    ws.update_rows("dataset", dataset_id, [{"id": "r0", "expected": "local"}], project_id=project_id)
    fake_bt.state.insert("dataset", dataset_id, [{"id": "r0", "input": {"q": 0}, "expected": "remote"}])
    report = push_project(ws, client, "support-bot", PushOptions(objects=("datasets",), prefer="remote"))
    assert report.objects[0].conflicts == [] and report.objects[0].written == 0
    assert local_rows(ws, "dataset", dataset_id)["r0"]["expected"] == "remote"
    assert fake_bt.state.live_rows("dataset", dataset_id)["r0"]["expected"] == "remote"


def test_push_cli_exit_code_3_on_conflict(fake_bt_env: FakeBraintrust, tmp_path: Path) -> None:
    project_id, dataset_id = seed_dataset(fake_bt_env)
    ws = Workspace.open(tmp_path / "ws")
    pull_project(ws, client_for(fake_bt_env)[0], "support-bot", PullOptions(objects=("datasets",)))
    ws.update_rows("dataset", dataset_id, [{"id": "r2", "expected": "local"}], project_id=project_id)
    fake_bt_env.state.insert("dataset", dataset_id, [{"id": "r2", "input": {"q": 2}, "expected": "remote"}])
    done = subprocess.run([sys.executable, "-m", "loop_tui", "sync", "push", "--project", "support-bot",
                           "--workspace", str(tmp_path / "ws")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 3
    assert "conflict: r2 changed here and in Braintrust since the last sync" in done.stdout


def test_local_only_dataset_and_experiment_are_created_remotely(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    fake_bt.state.ensure_project("support-bot")
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    pull_project(ws, client, "support-bot")
    project = ws.project("support-bot")
    ds = ws.save_object("dataset", project.id, "made-here", {"description": "local"})
    ws.insert_rows("dataset", ds.id, [{"id": "x1", "input": "a", "expected": "b"}], project_id=project.id)
    exp = ws.save_object("experiment", project.id, "local-run", {"description": "eval here"})
    ws.insert_rows("experiment", exp.id, [{"id": "s1", "input": "a", "output": "b", "scores": {"ok": 1.0}}],
                   project_id=project.id)
    push_project(ws, client, "support-bot")
    [remote_ds] = [d for d in fake_bt.state.datasets.values() if d["name"] == "made-here"]
    assert fake_bt.state.live_rows("dataset", remote_ds["id"])["x1"]["expected"] == "b"
    [remote_exp] = [e for e in fake_bt.state.experiments.values() if e["name"] == "local-run"]
    assert fake_bt.state.live_rows("experiment", remote_exp["id"])["s1"]["scores"] == {"ok": 1.0}
    assert push_project(ws, client, "support-bot", PushOptions(dry_run=True)).totals()["conflicts"] == 0
    assert all(not o.would_send for o in push_project(ws, client, "support-bot", PushOptions(dry_run=True)).objects)


def test_scorers_round_trip_and_a_prompt_changed_on_both_sides_conflicts(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = fake_bt.state.ensure_project("support-bot")["id"]
    code = {"type": "code", "data": {"type": "inline", "runtime_context": {"runtime": "python", "version": "3.11"},
                                     "code": "def handler(output, expected):\n    return 1.0\n"}}
    scorer = fake_bt.state.save_function("function", {"project_id": project_id, "name": "exact", "slug": "exact",
                                                      "function_type": "scorer", "function_data": code}, replace=True)
    prompt = fake_bt.state.save_function("prompt", {"project_id": project_id, "name": "answer", "slug": "answer",
                                                    "prompt_data": PROMPT}, replace=True)
    ws = Workspace.open(tmp_path / "ws")
    client, _ = client_for(fake_bt)
    pull_project(ws, client, "support-bot", PullOptions(objects=("prompts", "scorers")))
    local = ws.get_object("scorer", project_id, "exact")
    assert local.id == scorer["id"] and local.data["type"] == "code" and "return 1.0" in local.data["code"]
    ws.save_object("scorer", project_id, "exact", {**local.data, "code": "def handler(output, expected):\n    return 0.5\n"},
                   id=local.id)
    p = ws.get_object("prompt", project_id, "answer")
    ws.save_object("prompt", project_id, "answer", {**p.data, "model": "gpt-4.1-mini"}, id=p.id)
    fake_bt.state.save_function("prompt", {"project_id": project_id, "name": "answer", "slug": "answer",
                                           "prompt_data": {**PROMPT, "options": {"model": "o3"}}}, replace=True)
    report = push_project(ws, client, "support-bot", PushOptions(objects=("prompts", "scorers")))
    by_name = {o.name: o for o in report.objects}
    assert by_name["exact"].written == 1 and by_name["answer"].conflicts == [prompt["id"]]
    latest = fake_bt.state.functions[scorer["id"]][-1]
    assert "return 0.5" in latest["function_data"]["data"]["code"]
    assert latest["function_data"]["data"]["runtime_context"]["runtime"] == "python"
    assert fake_bt.state.prompts[prompt["id"]][-1]["prompt_data"]["options"]["model"] == "o3"  # not overwritten


def test_push_lists_row_ids_from_data_with_control_characters_as_symbols(fake_bt_env: FakeBraintrust,
                                                                          tmp_path: Path) -> None:
    hostile = "r\x1b]0;pwned\x07\x1b[2J"
    project_id, dataset_id = seed_dataset(fake_bt_env)
    fake_bt_env.state.insert("dataset", dataset_id, [{"id": hostile, "input": {"q": 9}, "expected": "e"}])
    ws = Workspace.open(tmp_path / "ws")
    pull_project(ws, client_for(fake_bt_env)[0], "support-bot", PullOptions(objects=("datasets",)))
    ws.update_rows("dataset", dataset_id, [{"id": hostile, "expected": "local"}], project_id=project_id)
    ws.insert_rows("dataset", dataset_id, [{"id": "new\x1b[2J", "input": 1}], project_id=project_id)
    fake_bt_env.state.insert("dataset", dataset_id, [{"id": hostile, "input": {"q": 9}, "expected": "remote"}])
    cli = [sys.executable, "-m", "loop_tui", "sync", "push", "--project", "support-bot", "--workspace", str(tmp_path / "ws")]
    for extra in (["--dry-run"], []):
        done = subprocess.run([*cli, *extra], capture_output=True, text=True, timeout=120)
        assert done.returncode == 3, done.stderr
        assert "\x1b" not in done.stdout + done.stderr and "\x07" not in done.stdout + done.stderr
        assert "conflict: r␛]0;pwned␇␛[2J changed here" in done.stdout
