"""Loop's dataset and logs workflows in the real app with a scripted model, checked in the workspace:
optimize a dataset, reshape rows, generate rows from logs (the docs' own example), a dataset of the most
common failures from the logs page, and analysing logs."""

from __future__ import annotations

import json
from pathlib import Path

from loop_tui.store import Workspace
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from tests.test_workflows_support import (
    SIZE,
    ask,
    make_app,
    open_app,
    result_of,
    tool_call,
    wait_idle,
    wait_modal,
)


def _golden(ws: Workspace) -> tuple[str, list[dict]]:
    ds = ws.get_object("dataset", ws.project("support-bot").id, "support-golden")
    rows = ws.query("SELECT id, input, expected, metadata FROM dataset WHERE dataset_id = ? ORDER BY id", [ds.id])
    return ds.id, [{**r, "input": json.loads(r["input"]), "expected": json.loads(r["expected"] or "null"),
                    "metadata": json.loads(r["metadata"] or "null")} for r in rows]


async def test_optimize_a_dataset(sample_ws_path: Path, fake_server_env) -> None:
    ds_id, rows = _golden(Workspace.open(sample_ws_path))
    fake_server_env.script([
        tool_call("get_detailed_results", limit=5),
        tool_call("edit_data", dataset="support-golden", operations=[
            {"op": "update", "id": rows[0]["id"], "expected": "A clearer, complete answer."},
            {"op": "delete", "id": rows[1]["id"]},
        ]),
        {"text": "I sharpened one answer and removed a duplicate."},
    ])
    app = make_app(sample_ws_path, page="datasets")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "optimize this dataset")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert [r["op"] for r in modal.preview.rows] == ["update", "delete"]
        await pilot.press("y")
        await wait_idle(pilot, chat)
        _, after = _golden(app.workspace)
        by_id = {r["id"]: r for r in after}
        assert by_id[rows[0]["id"]]["expected"] == "A clearer, complete answer."
        assert by_id[rows[0]["id"]]["input"] == rows[0]["input"]
        assert rows[1]["id"] not in by_id and len(after) == len(rows) - 1


async def test_reshape_rows(sample_ws_path: Path, fake_server_env) -> None:
    _, rows = _golden(Workspace.open(sample_ws_path))
    targets = rows[:4]
    reshaped = [{"op": "update", "id": r["id"], "input": {"messages": [{"role": "user", "content": r["input"]["question"]}]}}
                for r in targets]
    fake_server_env.script([tool_call("edit_data", dataset="support-golden", operations=reshaped), {"text": "The inputs are chat messages now."}])
    app = make_app(sample_ws_path, page="datasets")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "reshape these rows' inputs into chat messages")
        await wait_modal(pilot, ConfirmChangeModal)
        await pilot.press("y")
        await wait_idle(pilot, chat)
        _, after = _golden(app.workspace)
        by_id = {r["id"]: r for r in after}
        for row in targets:
            assert by_id[row["id"]]["input"] == {"messages": [{"role": "user", "content": row["input"]["question"]}]}
            assert by_id[row["id"]]["expected"] == row["expected"]  # fields not given are kept
        untouched = rows[5]
        assert by_id[untouched["id"]]["input"] == untouched["input"]


def _failed_requests(ws: Workspace, n: int) -> list[dict]:
    pid = ws.project("support-bot").id
    found = ws.query("SELECT id, input FROM project_logs WHERE project_id = ? AND is_root AND error IS NOT NULL "
                     "ORDER BY created DESC, id LIMIT ?", [pid, n])
    return [{"id": r["id"], "input": json.loads(r["input"])} for r in found]


async def test_generate_rows_from_logs_following_the_existing_format(sample_ws_path: Path, fake_server_env) -> None:
    """The docs' example: find the most common errors users face and generate dataset rows based on the findings,
    following the format of existing rows."""
    ws = Workspace.open(sample_ws_path)
    ds_id, before = _golden(ws)
    failures = _failed_requests(ws, 3)
    adds = [{"op": "add", "input": f["input"], "expected": "A helpful answer despite the upstream failure.",
             "metadata": {"source": "logs", "log_id": f["id"]}, "tags": ["from-logs"]} for f in failures]
    fake_server_env.script([
        tool_call("get_summarized_results"),
        tool_call("infer_schema", source="dataset('support-golden')"),
        tool_call("edit_data", dataset="support-golden", operations=adds),
        {"text": "I added three rows from failing requests."},
    ])
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "find the most common errors users face and generate dataset rows based on the "
                                "findings, following the format of existing rows")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert modal.preview.kind == "rows" and len(modal.preview.rows) == 3
        await pilot.press("y")
        await wait_idle(pilot, chat)
        assert result_of(fake_server_env, "get_summarized_results")["top_errors"]
        fields = {f["path"] for f in result_of(fake_server_env, "infer_schema")["fields"]}
        assert "input.question" in fields
        _, after = _golden(app.workspace)
        added = [r for r in after if (r["metadata"] or {}).get("source") == "logs"]
        assert sorted(r["metadata"]["log_id"] for r in added) == sorted(f["id"] for f in failures)
        assert all(set(r["input"]) == set(before[0]["input"]) for r in added)  # the existing rows' shape


async def test_a_dataset_of_the_most_common_failures_from_the_logs_page(sample_ws_path: Path, fake_server_env) -> None:
    failures = _failed_requests(Workspace.open(sample_ws_path), 2)
    adds = [{"op": "add", "input": f["input"], "metadata": {"log_id": f["id"]}} for f in failures]
    fake_server_env.script([
        tool_call("edit_data", dataset="common-failures", operations=adds),
        {"text": "Created dataset common-failures."},
    ])
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "generate a dataset of the most common failures")
        modal = await wait_modal(pilot, ConfirmChangeModal)
        assert "new dataset common-failures" in modal.preview.title
        await pilot.press("y")
        await wait_idle(pilot, chat)
        ws = app.workspace
        ds = ws.get_object("dataset", ws.project("support-bot").id, "common-failures")
        stored = ws.query("SELECT metadata FROM dataset WHERE dataset_id = ?", [ds.id])
        assert sorted(json.loads(r["metadata"])["log_id"] for r in stored) == sorted(f["id"] for f in failures)


async def test_analyse_logs(sample_ws_path: Path, fake_server_env) -> None:
    query = ("dimensions: metadata.model as model | measures: count(1) as requests, "
             "sum(error != null ? 1 : 0) as errors | filter: is_root | sort: model asc")
    fake_server_env.script([tool_call("btql_query", query=query), {"text": "gpt-4o fails most often."}])
    app = make_app(sample_ws_path, page="logs")
    async with app.run_test(size=SIZE) as pilot:
        await open_app(pilot)
        chat = await ask(pilot, "which model fails most often?")
        await wait_idle(pilot, chat)
        got = result_of(fake_server_env, "btql_query")
        ws = app.workspace
        expected = ws.query(
            "SELECT _meta_model AS model, count(*) AS n, count(*) FILTER (WHERE error IS NOT NULL) AS e FROM project_logs "
            "WHERE project_id = ? AND is_root GROUP BY 1 ORDER BY 1", [ws.project("support-bot").id])
        assert got["rows"] == [[r["model"], r["n"], r["e"]] for r in expected]
