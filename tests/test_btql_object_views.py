"""BTQL reads only the segments of the objects a query names (issue 15, item 2 at ten million spans).

The table-wide `project_logs_btql` view unites every project's segments by name when their typed score
copies differ (another project has other score keys): a count over one filter took 4-5x the hand-written
query at 10M spans. A query on `project_logs('<id>')` now reads a view of that project's segments alone,
one schema, no union by name. These tests pin that, and that the answers keep what the store promises:
the newest version wins, delete markers hide rows, null and absent scores stay apart, undo, a damaged
other project stays out of the way, and a commit is seen by the next query.
"""

from __future__ import annotations

import pytest

from loop_tui.btql import BtqlError, explain, run
from loop_tui.btql.executor import btql_connection
from loop_tui.btql.rows import table_rows
from loop_tui.store import Workspace


def _ws(tmp_path) -> tuple[Workspace, str, str]:
    """Projects p and q, three writes each, with score keys the other project does not have."""
    ws = Workspace.open(tmp_path / "ws")
    p, _ = ws.ensure_project("p")
    q, _ = ws.ensure_project("q")
    for n in range(3):
        ws.insert_rows("project_logs", p.id, [{"id": f"p{n}", "scores": {"Alpha": n / 4}, "error": "x" if n else None}],
                       project_id=p.id)
        ws.insert_rows("project_logs", q.id, [{"id": f"q{n}", "scores": {"Beta": n / 8}}], project_id=q.id)
    return ws, p.id, q.id


def _rows(ws: Workspace, query: str) -> list[dict]:
    return table_rows(run(query, ws).table)


def _view_sql(ws: Workspace, sql: str) -> str:
    """The definition of the view a compiled query reads."""
    view = sql.split(" FROM ", 1)[1].split()[0]
    [(definition,)] = btql_connection(ws).execute(
        "SELECT sql FROM duckdb_views() WHERE view_name = ?", [view]).fetchall()
    return definition


def test_a_project_query_reads_only_that_projects_segments_as_one_schema(tmp_path):
    ws, p, q = _ws(tmp_path)
    _, sql = explain("measures: count(1) as n | from: project_logs('p') | filter: error IS NOT NULL", ws)
    definition = _view_sql(ws, sql)
    assert "union_by_name" not in definition
    assert p in definition and q not in definition
    assert '"project_id" IN' not in sql  # the view holds that project's rows only: no filter to decode
    assert _rows(ws, "measures: count(1) as n | from: project_logs('p') | filter: error IS NOT NULL") == [{"n": 2}]
    assert _rows(ws, "select: id, scores.Alpha as a | from: project_logs('p') | sort: id") == [
        {"id": "p0", "a": 0.0}, {"id": "p1", "a": 0.25}, {"id": "p2", "a": 0.5}]
    # A key only the other project has: no typed field here, read from the map (null), not an error.
    assert _rows(ws, "select: id, scores.Beta as b | from: project_logs('p') | sort: id | limit: 1") == [
        {"id": "p0", "b": None}]
    both = f"select: id | from: project_logs('{p}', '{q}') | sort: id"
    assert [r["id"] for r in _rows(ws, both)] == ["p0", "p1", "p2", "q0", "q1", "q2"]


def test_newest_version_delete_markers_null_scores_and_undo_hold_in_a_project_view(tmp_path):
    ws, p, _ = _ws(tmp_path)
    ws.update_rows("project_logs", p, [{"id": "p1", "scores": {"Alpha": None}}], project_id=p)
    ws.delete_rows("project_logs", p, ["p2"], project_id=p)
    ws.insert_rows("project_logs", p, [{"id": "p3", "scores": {"Gamma": 1}}], project_id=p)
    query = ("select: id, scores.Alpha as a, scores.Gamma as g, scores.Alpha IS NULL as missing "
             "| from: project_logs('p') | sort: id")
    assert _rows(ws, query) == [
        {"id": "p0", "a": 0.0, "g": None, "missing": False},
        {"id": "p1", "a": None, "g": None, "missing": True},
        {"id": "p3", "a": None, "g": 1.0, "missing": True},
    ]
    # A null score is a key with a null value, an absent one no key at all: the maps still tell them apart.
    assert _rows(ws, "select: id | from: project_logs('p') | filter: scores.Alpha IS NULL and id = 'p1'") == [
        {"id": "p1"}]
    keys = _rows(ws, "dimensions: id | measures: count(1) as n | from: project_logs('p') "
                     "| unpivot: scores as (k, v) | sort: id")
    assert keys == [{"id": "p0", "n": 1}, {"id": "p1", "n": 1}, {"id": "p3", "n": 1}]
    deleted = [h for h in ws.history(limit=100) if h.op == "delete"][0]
    ws.undo(deleted.xact_id)
    assert [r["id"] for r in _rows(ws, "select: id | from: project_logs('p') | sort: id")] == ["p0", "p1", "p2", "p3"]


def test_a_damaged_other_project_does_not_reach_a_project_view(tmp_path):
    ws, p, q = _ws(tmp_path)
    for segment in (ws.root / "tables" / "project_logs" / q).glob("seg-*.parquet"):
        segment.write_bytes(b"not parquet")
    fresh = Workspace.open(ws.root, create=False)
    assert _rows(fresh, "measures: count(1) as n | from: project_logs('p')") == [{"n": 3}]
    with pytest.raises(BtqlError) as err:
        run("measures: count(1) as n | from: project_logs('q')", fresh)
    assert "damaged" in err.value.message or "cannot be read" in err.value.message


def test_a_commit_is_seen_by_the_next_project_query(tmp_path):
    ws, p, _ = _ws(tmp_path)
    assert _rows(ws, "measures: count(1) as n | from: project_logs('p')") == [{"n": 3}]
    other = Workspace.open(ws.root, create=False)  # another writer (the same files, another instance)
    other.insert_rows("project_logs", p, [{"id": "p9", "scores": {"Delta": 0.5}}], project_id=p)
    assert _rows(ws, "measures: count(1) as n, avg(scores.Delta) as d | from: project_logs('p')") == [
        {"n": 4, "d": 0.5}]


def test_the_table_wide_btql_view_reads_one_schema_at_a_time(tmp_path):
    """BTQL's table-wide view (read only when a query cannot have a view of its objects, e.g. on a connection
    the caller passes) is made from one footer per schema, not every file's (`union_by_name` took ~70 ms on
    each new BTQL connection at 10M spans); it answers the same."""
    from loop_tui.store import txlog
    from loop_tui.store.views import view_statements

    ws, p, q = _ws(tmp_path)
    [statement] = [s for s in view_statements(ws.root, txlog.snapshot(ws.root), {})
                   if s.startswith("CREATE OR REPLACE VIEW project_logs_btql ")]
    assert "union_by_name" not in statement
    assert statement.count("read_parquet(") == 3  # the zero-row schema file, p's segments, q's segments
    con = btql_connection(ws)
    query = f"select: id, scores.Alpha as a, scores.Beta as b | from: project_logs('{p}', '{q}') | sort: id"
    passed = run(query, ws, connection=con)
    assert "project_logs_btql " in passed.sql
    assert table_rows(passed.table) == _rows(ws, query) == [
        {"id": "p0", "a": 0.0, "b": None}, {"id": "p1", "a": 0.25, "b": None}, {"id": "p2", "a": 0.5, "b": None},
        {"id": "q0", "a": None, "b": 0.0}, {"id": "q1", "a": None, "b": 0.125}, {"id": "q2", "a": None, "b": 0.25}]
