"""`bt sync` folders: `loop-tui import` reads one as `bt` writes it; `export --layout bt-sync` writes one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import client_for, local_rows

fake_bt = server.fake_bt


def write_bt_pull(fake: FakeBraintrust, folder: Path, dataset_id: str, status: str = "completed") -> None:
    """A folder as `bt sync pull dataset:<id>` leaves it: pages of API rows appended to part files."""
    client, _ = client_for(fake)
    client.login()
    (folder / "data").mkdir(parents=True)
    with open(folder / "data" / "part-000001.jsonl", "w") as fh:
        for page, _ in client.pages("dataset", dataset_id, limit=2):
            for row in page:
                fh.write(json.dumps(row) + "\n")
    spec = {"schema_version": 1, "object_ref": f"dataset:{dataset_id}", "object_type": "dataset",
            "object_name": dataset_id, "direction": "pull", "scope": "spans", "filter": None, "window": "3d",
            "limit": 100, "page_size": 2}
    (folder / "spec.json").write_text(json.dumps(spec))
    (folder / "state.json").write_text(json.dumps({"schema_version": 1, "status": status, "items_done": 5}))
    (folder / "manifest.json").write_text(json.dumps({"schema_version": 1, "spec": spec, "status": status}))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "loop_tui", *args], capture_output=True, text=True, timeout=120)


def test_import_reads_a_bt_pull_folder_keeping_the_newest_versions(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = fake_bt.state.ensure_project("support-bot")["id"]
    dataset = fake_bt.state.ensure_object("dataset", {"project_id": project_id, "name": "golden"})
    fake_bt.state.insert("dataset", dataset["id"], [{"id": f"r{i}", "input": i, "expected": f"v1-{i}"} for i in range(4)])
    fake_bt.state.insert("dataset", dataset["id"], [{"id": "r1", "input": 1, "expected": "v2-1"}])
    folder = tmp_path / "bt-sync" / "dataset"
    write_bt_pull(fake_bt, folder, dataset["id"])
    lines = (folder / "data" / "part-000001.jsonl").read_text().splitlines()
    assert len(lines) > 4  # the older version of r1 came again on a later page
    ws = tmp_path / "ws"
    done = cli("import", "dataset", str(folder), "--project", "support-bot", "--name", "golden", "--workspace", str(ws))
    assert done.returncode == 0, done.stderr
    assert "imported 4 rows" in done.stdout
    from loop_tui.store import Workspace

    opened = Workspace.open(ws)
    rows = local_rows(opened, "dataset", opened.get_object("dataset", opened.project("support-bot").id, "golden").id)
    assert rows["r1"]["expected"] == "v2-1"
    remote = fake_bt.state.live_rows("dataset", dataset["id"])
    assert {i: r["_bt_xact_id"] for i, r in rows.items()} == {i: r["_xact_id"] for i, r in remote.items()}


def test_export_writes_a_folder_bt_push_reads(fake_bt: FakeBraintrust, tmp_path: Path, sample_ws_path: Path) -> None:
    out = tmp_path / "out"
    done = cli("export", "dataset", "--project", "invoice-extraction", "--name", "edge-cases", "--layout", "bt-sync",
               "--out", str(out), "--workspace", str(sample_ws_path))
    assert done.returncode == 0, done.stderr
    spec = json.loads((out / "spec.json").read_text())
    assert spec["object_type"] == "dataset" and spec["object_name"] == "edge-cases"
    assert json.loads((out / "state.json").read_text())["status"] == "completed"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec"] == spec and manifest["status"] == "completed"
    rows = [json.loads(line) for line in (out / "data" / "part-000001.jsonl").read_text().splitlines()]
    assert rows and all(isinstance(r["id"], str) for r in rows)
    # What `bt sync push dataset:… --in out/data` does with them: insert each row as it is.
    project_id = fake_bt.state.ensure_project("invoice-extraction")["id"]
    dataset = fake_bt.state.ensure_object("dataset", {"project_id": project_id, "name": "edge-cases"})
    client, _ = client_for(fake_bt)
    client.login()
    client.insert("dataset", dataset["id"], rows)
    remote = fake_bt.state.live_rows("dataset", dataset["id"])
    assert {r["id"]: r["input"] for r in rows} == {i: r["input"] for i, r in remote.items()}
    # and it reads back in as the same rows
    back = cli("import", "dataset", str(out), "--project", "copy", "--workspace", str(tmp_path / "ws2"))
    assert back.returncode == 0, back.stderr and f"imported {len(rows)} rows" in back.stdout


def test_a_damaged_folder_is_one_sentence_and_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "pull"
    (folder / "data").mkdir(parents=True)
    (folder / "spec.json").write_text(json.dumps({"object_type": "dataset", "object_name": "d"}))
    (folder / "data" / "part-000001.jsonl").write_text('{"id": "a", "input": 1}\n{"id": "b", "inp\n')
    done = cli("import", "dataset", str(folder), "--project", "p", "--workspace", str(tmp_path / "ws"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "part-000001.jsonl line 2: not valid JSON" in done.stderr
    wrong = cli("import", "logs", str(folder), "--project", "p", "--workspace", str(tmp_path / "ws"))
    assert wrong.returncode == 2 and "holds dataset rows, not logs; import it as dataset" in wrong.stderr
