"""The workspace store: round trips, updates, deletes, undo, history, compaction, validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loop_tui.errors import ConflictError, NotFoundError, UserError
from loop_tui.store import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path / "ws")


@pytest.fixture
def project(ws: Workspace):
    return ws.create_project("demo")


def _span(**kw):
    base = {
        "input": {"question": "hi", "nested": {"a": [1, 2, {"b": None}]}},
        "output": "hello",
        "expected": {"answer": "hello"},
        "error": None,
        "scores": {"Factuality": 0.5, "Skipped": None},
        "metadata": {"model": "gpt-4o", "user_id": "u1", "n": 3},
        "metrics": {"start": 1700000000.5, "end": 1700000001.25, "tokens": 42},
        "tags": ["a", "b"],
        "span_attributes": {"name": "chat", "type": "task"},
        "created": "2026-11-01T10:00:00Z",
        "context": {"caller_functionname": "f"},
        "origin": {"object_type": "dataset", "object_id": "d1", "id": "r1"},
    }
    base.update(kw)
    return base


def test_every_object_kind_round_trips(ws: Workspace, project) -> None:
    for kind, data in [
        ("experiment", {"model": "gpt-4o", "dataset_id": "x", "base_experiment_id": None}),
        ("dataset", {"description": "d"}),
        ("prompt", {"messages": [{"role": "user", "content": "{{input}}"}], "model": "gpt-4o", "params": {"temperature": 0}}),
        ("scorer", {"type": "code", "code": "def handler(**k): return 1"}),
        ("playground", {"prompt_id": "p", "dataset_id": "d", "scorers": ["ExactMatch"]}),
    ]:
        obj = ws.save_object(kind, project.id, f"my-{kind}", data)
        again = Workspace.open(ws.root).get_object(kind, project.id, f"my-{kind}")
        assert again.data == data and again.id == obj.id and again.kind == kind


def test_span_rows_round_trip_every_field(ws: Workspace, project) -> None:
    from loop_tui.store.schema import row_to_braintrust

    exp = ws.save_object("experiment", project.id, "e1", {})
    row = _span(id="row-1", span_id="s1", root_span_id="s1", custom_field={"kept": True})
    ws.insert_rows("experiment", exp.id, [row], project_id=project.id)
    back = row_to_braintrust("experiment", ws.read_rows("experiment", exp.id).to_pylist()[0])
    for key, value in row.items():
        if key == "created":
            assert back[key] == "2026-11-01T10:00:00Z"
        else:
            assert back[key] == value, key
    assert back["is_root"] is True and back["experiment_id"] == exp.id


def test_dataset_rows_round_trip(ws: Workspace, project) -> None:
    from loop_tui.store.schema import row_to_braintrust

    ds = ws.save_object("dataset", project.id, "d", {})
    rows = [{"id": f"r{i}", "input": {"i": i}, "expected": [i], "metadata": {"k": "v"}, "tags": ["t"]} for i in range(5)]
    ws.insert_rows("dataset", ds.id, rows, project_id=project.id)
    back = {r["id"]: row_to_braintrust("dataset", r) for r in ws.read_rows("dataset", ds.id).to_pylist()}
    for row in rows:
        for key, value in row.items():
            assert back[row["id"]][key] == value


def test_update_merges_and_undo_restores(ws: Workspace, project) -> None:
    ds = ws.save_object("dataset", project.id, "d", {})
    ws.insert_rows("dataset", ds.id, [{"id": "r1", "input": "q", "expected": "a", "tags": ["x"]}], project_id=project.id)
    xact = ws.update_rows("dataset", ds.id, [{"id": "r1", "expected": "better"}], project_id=project.id)
    row = ws.query("SELECT input, expected, tags FROM dataset WHERE id = 'r1'")[0]
    assert (json.loads(row["input"]), json.loads(row["expected"]), row["tags"]) == ("q", "better", ["x"])
    ws.undo(xact)
    assert json.loads(ws.query("SELECT expected FROM dataset WHERE id = 'r1'")[0]["expected"]) == "a"


def test_delete_then_undo_brings_row_back(ws: Workspace, project) -> None:
    ds = ws.save_object("dataset", project.id, "d", {})
    ws.insert_rows("dataset", ds.id, [{"id": "r1", "input": 1}, {"id": "r2", "input": 2}], project_id=project.id)
    xact = ws.delete_rows("dataset", ds.id, ["r1"], project_id=project.id)
    assert [r["id"] for r in ws.query("SELECT id FROM dataset")] == ["r2"]
    ws.undo(xact)
    assert sorted(r["id"] for r in ws.query("SELECT id FROM dataset")) == ["r1", "r2"]


def test_undo_of_insert_removes_rows_and_undo_conflicts_are_reported(ws: Workspace, project) -> None:
    ds = ws.save_object("dataset", project.id, "d", {})
    first = ws.insert_rows("dataset", ds.id, [{"id": "r1", "input": 1}], project_id=project.id)
    ws.update_rows("dataset", ds.id, [{"id": "r1", "input": 2}], project_id=project.id)
    with pytest.raises(ConflictError):
        ws.undo(first)
    with pytest.raises(NotFoundError):
        ws.undo(12345)
    second = ws.insert_rows("dataset", ds.id, [{"id": "r9", "input": 9}], project_id=project.id)
    ws.undo(second)
    assert [r["id"] for r in ws.query("SELECT id FROM dataset")] == ["r1"]


def test_prompt_versions_and_undo_of_a_version(ws: Workspace, project) -> None:
    v1 = ws.save_object("prompt", project.id, "p", {"messages": [], "model": "a"})
    v2 = ws.save_object("prompt", project.id, "p", {"messages": [], "model": "b"}, id=v1.id)
    assert [v.data["model"] for v in ws.object_versions(v1.id)] == ["b", "a"]
    assert v2.created == v1.created
    ws.undo(v2.xact_id)
    assert ws.get_object("prompt", project.id, "p").data["model"] == "a"


def test_row_history_lists_every_version(ws: Workspace, project) -> None:
    ds = ws.save_object("dataset", project.id, "d", {})
    ws.insert_rows("dataset", ds.id, [{"id": "r1", "input": 1}], project_id=project.id)
    ws.update_rows("dataset", ds.id, [{"id": "r1", "input": 2}], project_id=project.id)
    ws.delete_rows("dataset", ds.id, ["r1"], project_id=project.id)
    versions = ws.history(row_id="r1")
    assert [v.op for v in versions] == ["delete", "write", "write"]
    assert [v.row["input"] for v in versions] == [2, 2, 1]
    ops = [e.op for e in ws.history(table="dataset")]
    assert ops == ["delete", "update", "insert"]


def test_names_are_unique_per_project_and_kind(ws: Workspace, project) -> None:
    ws.save_object("dataset", project.id, "same", {})
    ws.save_object("experiment", project.id, "same", {})  # another kind: fine
    other = ws.create_project("other")
    ws.save_object("dataset", other.id, "same", {})  # another project: fine
    with pytest.raises(ConflictError):
        ws.save_object("dataset", project.id, "same", {})
    with pytest.raises(ConflictError):
        ws.create_project("demo")


def test_bad_rows_raise_clear_errors_and_write_nothing(ws: Workspace, project) -> None:
    ds = ws.save_object("dataset", project.id, "d", {})
    before = ws.generation
    with pytest.raises(UserError, match="row 2.*created"):
        ws.insert_rows("dataset", ds.id, [{"input": 1}, {"input": 2, "created": "yesterday"}], project_id=project.id)
    exp = ws.save_object("experiment", project.id, "e", {})
    with pytest.raises(UserError, match="scores.Factuality.*number"):
        ws.insert_rows("experiment", exp.id, [_span(scores={"Factuality": "high"})], project_id=project.id)
    assert ws.query("SELECT count(*) AS n FROM dataset")[0]["n"] == 0
    assert ws.generation > before  # only the two catalog saves were committed


def test_compaction_keeps_latest_rows_and_history(ws: Workspace, project) -> None:
    ds = ws.save_object("dataset", project.id, "d", {})
    for i in range(4):
        ws.insert_rows("dataset", ds.id, [{"id": f"r{i}", "input": i}], project_id=project.id)
    ws.update_rows("dataset", ds.id, [{"id": "r0", "input": 100}], project_id=project.id)
    before = sorted((r["id"], r["input"]) for r in ws.query("SELECT id, input FROM dataset"))
    assert ws.compact("dataset") == 1
    files = list((ws.root / "tables" / "dataset" / ds.id).glob("seg-*.parquet"))
    assert len(files) == 1
    assert sorted((r["id"], r["input"]) for r in ws.query("SELECT id, input FROM dataset")) == before
    assert len(ws.history(row_id="r0")) == 2


def test_is_root_is_derived_when_missing(ws: Workspace, project) -> None:
    ws.insert_rows("project_logs", project.id, [
        {"id": "root", "span_id": "root"},
        {"id": "child", "span_id": "child", "root_span_id": "root", "span_parents": ["root"]},
    ], project_id=project.id)
    rows = {r["id"]: r["is_root"] for r in ws.query("SELECT id, is_root FROM project_logs")}
    assert rows == {"root": True, "child": False}


def test_workspace_path_errors(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="is a file"):
        Workspace.open(tmp_path / "file")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a Loop TUI workspace"):
        Workspace.open(busy)


def test_sandboxed_connection_cannot_read_files(sample_ws: Workspace) -> None:
    con = sample_ws.connect(sandboxed=True)
    assert con.execute("SELECT count(*) FROM project_logs").fetchone()[0] > 0
    for sql in ["SELECT * FROM read_csv('/etc/passwd')", "SET enable_external_access = true", "COPY (SELECT 1) TO '/tmp/x.csv'"]:
        with pytest.raises(Exception):  # noqa: B017 - duckdb raises several permission error types
            con.execute(sql)


def test_apply_changes_is_one_transaction_with_optimistic_check(ws: Workspace, project) -> None:
    ds = ws.save_object("dataset", project.id, "d", {})
    ws.insert_rows("dataset", ds.id, [{"id": "r1", "input": 1}, {"id": "r2", "input": 2}], project_id=project.id)
    seen = {r["id"]: r["_xact_id"] for r in ws.query("SELECT id, _xact_id FROM dataset")}
    ws.update_rows("dataset", ds.id, [{"id": "r1", "input": 10}], project_id=project.id)
    with pytest.raises(ConflictError, match="r1"):
        ws.apply_changes("dataset", ds.id, upserts=[{"id": "r3", "input": 3}], deletes=["r2"],
                         project_id=project.id, expected_versions=seen)
    assert sorted(r["id"] for r in ws.query("SELECT id FROM dataset")) == ["r1", "r2"]
    xact = ws.apply_changes("dataset", ds.id, upserts=[{"id": "r3", "input": 3}, {"id": "r1", "input": 11}],
                            deletes=["r2"], project_id=project.id)
    assert {r["id"]: r["input"] for r in ws.query("SELECT id, input FROM dataset")} == {"r1": "11", "r3": "3"}
    ws.undo(xact)
    assert {r["id"]: r["input"] for r in ws.query("SELECT id, input FROM dataset")} == {"r1": "10", "r2": "2"}


def test_a_column_batch_is_one_write_that_reads_back_and_undoes(ws: Workspace, project) -> None:
    from loop_tui.store.batch import ColumnBatch
    from loop_tui.store.schema import normalize_span, row_to_braintrust

    exp = ws.save_object("experiment", project.id, "batched", {})
    other = ws.save_object("experiment", project.id, "other", {})
    ws.insert_rows("experiment", other.id, [_span(id="elsewhere")], project_id=project.id)
    batch = ColumnBatch("experiment")
    for i in range(3):
        batch.append(normalize_span(_span(id=f"b{i}", span_id=f"b{i}", root_span_id=f"b{i}"), f"row {i}"))
    xact = ws.append_batch(batch, exp.id, project_id=project.id, description="three")
    rows = [row_to_braintrust("experiment", r) for r in ws.read_rows("experiment", exp.id).to_pylist()]
    assert [r["id"] for r in rows] == ["b0", "b1", "b2"]
    expected = _span()
    for row in rows:
        assert row["experiment_id"] == exp.id and row["project_id"] == project.id
        assert {k: row[k] for k in ("input", "scores", "metrics", "tags")} == {
            k: expected[k] for k in ("input", "scores", "metrics", "tags")
        }
    assert ws.history("experiment", exp.id)[0].xact_id == xact
    ws.undo(xact)
    assert ws.read_rows("experiment", exp.id).num_rows == 0
    assert ws.read_rows("experiment", other.id).num_rows == 1  # the other experiment's view was not disturbed
    with pytest.raises(UserError, match="nothing to write"):
        ws.append_batch(ColumnBatch("experiment"), exp.id, project_id=project.id)


def test_queries_see_writes_to_one_table_while_other_views_are_reused(ws: Workspace, project) -> None:
    # The shared connection re-binds only views whose files changed; every table must still be current.
    ds = ws.save_object("dataset", project.id, "d", {})
    exp = ws.save_object("experiment", project.id, "e", {})
    for n in range(1, 4):
        ws.insert_rows("dataset", ds.id, [{"id": f"d{n}", "input": n}], project_id=project.id)
        assert ws.query("SELECT count(*) AS n FROM dataset")[0]["n"] == n
        ws.insert_rows("experiment", exp.id, [_span(id=f"e{n}")], project_id=project.id)
        assert ws.query("SELECT count(*) AS n FROM experiment")[0]["n"] == n
        assert ws.query("SELECT count(*) AS n FROM dataset")[0]["n"] == n
    ws.compact()
    assert ws.query("SELECT count(*) AS n FROM experiment")[0]["n"] == 3
    assert ws.get_object("dataset", project.id, "d").id == ds.id


def test_the_store_connection_never_draws_a_progress_bar(tmp_path):
    """DuckDB prints a progress bar on stdout for queries over 2 s; on a 10M-span workspace a store query
    drew it over the terminal. Checked in a fresh process (DuckDB's default differs inside pytest)."""
    import subprocess
    import sys

    Workspace.open(tmp_path / "ws")
    code = ("import sys; from loop_tui.store import Workspace; ws = Workspace.open(sys.argv[1], create=False); "
            "print(ws.query(\"SELECT current_setting('enable_progress_bar') AS shown\")[0]['shown'])")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "ws")], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_the_store_connection_leaves_out_btql_views(tmp_path):
    """Binding BTQL's views (typed copies, union by name) cost ~0.1 s per table at 10M spans on a connection
    whose queries never read them; BTQL's own connection still has them."""
    from loop_tui.btql import run
    from loop_tui.btql.executor import btql_connection

    ws = Workspace.open(tmp_path / "ws")
    project, _ = ws.ensure_project("p")
    ws.insert_rows("project_logs", project.id, [{"id": "a", "scores": {"S": 0.5}}], project_id=project.id)
    views = {r["view_name"] for r in ws.query("SELECT view_name FROM duckdb_views() WHERE NOT internal")}
    assert "project_logs" in views and not any(v.endswith("_btql") for v in views)
    assert btql_connection(ws).execute("SELECT count(*) FROM project_logs_btql").fetchone() == (1,)
    assert run("select: scores.S as s | from: project_logs('p')", ws).table.to_pylist() == [{"s": 0.5}]


def test_a_project_name_with_spaces_around_it_finds_that_project(tmp_path: Path) -> None:
    # Names are stored without the spaces around them (the inspect_ai importer, `serve --project " p"`, eval):
    # a look-up as typed made a second project with the same stored name.
    ws = Workspace.open(tmp_path / "ws", create=True)
    made, created = ws.ensure_project("p")
    assert created
    again, created = ws.ensure_project("  p ")
    assert not created and again.id == made.id
    assert ws.project(" p").id == made.id
    assert [p.name for p in ws.projects()] == ["p"]
