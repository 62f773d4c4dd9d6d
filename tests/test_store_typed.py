"""Typed copies of the score and metric maps: written with every span segment, read by BTQL, seen nowhere else.

BTQL read `scores.X` and `metrics.X` from MAP columns, which decodes every row's keys: 6-8x slower than a
Parquet column (issue 15). Span segments now also hold `_scores_t`/`_metrics_t` STRUCTs. These tests pin
what must not change with them: the same answers (nulls, absent keys, keys differing only in case, old
segments without the copies, a mix of both), and the store's own rows and history without the new columns.
"""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from loop_tui.btql import run
from loop_tui.btql.rows import table_rows
from loop_tui.store import Workspace
from loop_tui.store import schema as sch
from loop_tui.store.typed import field_name, key_of_field

SPANS = [
    {"id": "a", "scores": {"Factuality": 0.5, "factuality": 0.25, "skipped": None}, "metrics": {"start": 1, "end": 3}},
    {"id": "b", "scores": {"Factuality": 1}, "metrics": {"start": 2, "end": 2.5, "tokens": 7}},
    {"id": "c", "metrics": {"tokens": 5}},
]


def _project_logs(ws: Workspace, name: str = "p") -> str:
    project, _ = ws.ensure_project(name)
    return project.id


def _segments(ws: Workspace, table: str = "project_logs") -> list:
    return sorted((ws.root / "tables" / table).rglob("seg-*.parquet"))


def _q(ws: Workspace, query: str, project: str = "p") -> list[dict]:
    return table_rows(run(query, ws, project).table)


def test_field_names_keep_keys_apart_whatever_their_case():
    names = {field_name(k) for k in ("Factuality", "factuality", "FACTUALITY", "a b", "~", "ü")}
    assert len({n.lower() for n in names}) == 6  # DuckDB compares names without case
    for key in ("Factuality", "a b", "~x;", "ü", "tokens"):
        assert key_of_field(field_name(key)) == key


def test_span_segment_has_typed_copies_that_the_store_views_hide(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    pid = _project_logs(ws)
    ws.insert_rows("project_logs", pid, SPANS, project_id=pid)
    [segment] = _segments(ws)
    names = pq.read_schema(segment).names
    assert "_scores_t" in names and "_metrics_t" in names
    typed = pq.read_table(segment).column("_scores_t").to_pylist()
    assert typed[0][field_name("Factuality")] == 0.5 and typed[0][field_name("factuality")] == 0.25
    assert typed[2][field_name("Factuality")] is None
    # Every other reader sees the table's own columns, as before.
    assert ws.read_rows("project_logs", pid).column_names == [n for n in sch.SPAN_SCHEMA.names if n != "_object_delete"]
    assert "_scores_t" not in ws.query("SELECT * FROM project_logs_history LIMIT 1")[0]


def test_btql_reads_the_typed_copy_and_answers_as_the_map_did(tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    pid = _project_logs(ws)
    ws.insert_rows("project_logs", pid, SPANS, project_id=pid)
    result = run("select: id, scores.Factuality, scores.factuality, scores.skipped, metrics.end - metrics.start as d "
                 "| from: project_logs('p') | sort: id", ws)
    assert '"_scores_t"' in result.sql and '"_metrics_t"' in result.sql
    assert table_rows(result.table) == [
        {"id": "a", "Factuality": 0.5, "factuality": 0.25, "skipped": None, "d": 2.0},
        {"id": "b", "Factuality": 1.0, "factuality": None, "skipped": None, "d": 0.5},
        {"id": "c", "Factuality": None, "factuality": None, "skipped": None, "d": None},
    ]
    # null and absent scores stay apart in the map itself
    rows = _q(ws, "select: id, scores | from: project_logs('p') | filter: id = 'a'")
    assert rows[0]["scores"] == {"Factuality": 0.5, "factuality": 0.25, "skipped": None}
    assert _q(ws, "measures: sum(metrics.tokens) as t, count(scores.Factuality) as n | from: project_logs('p')") == [
        {"t": 12.0, "n": 2}]


def _mixed_answers(ws: Workspace) -> list[list[dict]]:
    queries = [
        "dimensions: metadata.model as m | measures: avg(scores.Factuality) as f, sum(metrics.tokens) as t, "
        "count(1) as n | from: project_logs('support-bot') | sort: m",
        "measures: percentile(metrics.end - metrics.start, 0.5) as p50, count(scores.Factuality) as n "
        "| from: project_logs('support-bot') | filter: scores.Factuality < 0.5 or metrics.tokens > 100",
        "select: id, scores.Factuality | from: project_logs('support-bot') | filter: is_root "
        "| sort: created desc | limit: 5",
        "dimensions: day(created) as d | measures: avg(scores.Factuality) as f | from: experiment('prompt-v2-gpt-4o-mini') "
        "| sort: d",
    ]
    return [table_rows(run(q, ws).table) for q in queries]


def _by_map(ws: Workspace) -> list[list[dict]]:
    """The same answers straight from the maps through the store's own views (no typed copies)."""
    pid = ws.project("support-bot").id
    return [
        ws.query("SELECT _meta_model AS m, avg(scores['Factuality']) AS f, sum(metrics['tokens']) AS t, count(*) AS n "
                 "FROM project_logs WHERE project_id = ? GROUP BY 1 ORDER BY 1 NULLS LAST", [pid]),
        ws.query("SELECT quantile_cont(metrics['end'] - metrics['start'], 0.5) AS p50, count(scores['Factuality']) AS n "
                 "FROM project_logs WHERE project_id = ? AND (scores['Factuality'] < 0.5 OR metrics['tokens'] > 100)",
                 [pid]),
    ]


def test_old_segments_without_typed_copies_answer_the_same_alone_and_mixed(sample_ws_path):
    ws = Workspace.open(sample_ws_path, create=False)
    assert all("_scores_t" not in pq.read_schema(p).names for p in _segments(ws))  # store format 2, as shipped
    before = _mixed_answers(ws)
    assert before[0] and before[2] and before[3]
    assert [_norm(before[0]), _norm(before[1])] == [_norm(r) for r in _by_map(ws)]
    # New writes into the same project and experiment carry typed copies: the views mix both kinds.
    pid = ws.project("support-bot").id
    ws.insert_rows("project_logs", pid, [{"id": "new-1", "scores": {"Factuality": 0.0, "Brand new": 1},
                                          "metrics": {"tokens": 1000, "start": 0, "end": 4}}], project_id=pid)
    assert any("_scores_t" in pq.read_schema(p).names for p in _segments(ws))
    after = _mixed_answers(ws)
    assert [_norm(after[0]), _norm(after[1])] == [_norm(r) for r in _by_map(ws)]
    assert after[0] != before[0]
    assert _q(ws, "select: scores.`Brand new` as b | from: project_logs('support-bot') | filter: id = 'new-1'",
              "support-bot") == [{"b": 1.0}]
    assert _q(ws, "measures: count(scores.`Brand new`) as n | from: project_logs('support-bot')", "support-bot") == [
        {"n": 1}]


def test_compaction_gives_old_segments_typed_copies_and_keeps_answers(sample_ws_path):
    ws = Workspace.open(sample_ws_path, create=False)
    before = _mixed_answers(ws)
    history = ws.history(limit=1000)
    ws.compact()
    assert all("_scores_t" in pq.read_schema(p).names for p in _segments(ws))
    assert all("_scores_t" in pq.read_schema(p).names for p in _segments(ws, "experiment"))
    assert [_norm(a) for a in _mixed_answers(ws)] == [_norm(b) for b in before]  # sums may differ in the last bit
    assert [h.xact_id for h in ws.history(limit=1000)][-len(history):] == [h.xact_id for h in history]


def _norm(rows: list[dict]) -> list[dict]:
    return [{k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()} for r in rows]


@pytest.mark.parametrize("tz", [0, 300, -330])
def test_day_and_hour_buckets_match_date_trunc_before_and_after_1970(tmp_path, tz):
    ws = Workspace.open(tmp_path / "ws")
    pid = _project_logs(ws)
    times = ["1969-12-31T23:59:59.999999Z", "1969-12-31T00:00:00Z", "1970-01-01T00:00:00Z", "1900-05-05T13:00:00Z",
             "2024-03-10T01:30:00Z", "2026-11-30T23:59:59Z"]
    ws.insert_rows("project_logs", pid, [{"id": f"t{i}", "created": t} for i, t in enumerate(times)], project_id=pid)
    for unit in ("day", "hour", "minute"):
        got = run(f"select: id, {unit}(created) as b | from: project_logs('p') | sort: id", ws, tz_offset=tz).table
        want = ws.query(
            f"SELECT id, timezone('UTC', date_trunc('{unit}', timezone('UTC', created) - to_minutes({tz})) "
            f"+ to_minutes({tz})) AS b FROM project_logs ORDER BY id")
        assert got.column("b").to_pylist() == [r["b"] for r in want], unit


def test_views_bind_segments_of_one_schema_without_opening_every_footer(tmp_path):
    """Segments sharing the table's schema are read as one (no union_by_name, which made DuckDB open every footer
    at each bind, ~0.15 s per view at 200 segments), even when their typed copies differ (projects with other
    score keys): the store's views leave those out. BTQL's view keeps them, united by name."""
    from loop_tui.store import txlog
    from loop_tui.store.views import view_statements

    ws = Workspace.open(tmp_path / "ws")
    first, second = _project_logs(ws, "p"), _project_logs(ws, "q")
    for n in range(3):
        ws.insert_rows("project_logs", first, [{"id": f"p{n}", "scores": {"Alpha": n / 4}}], project_id=first)
        ws.insert_rows("project_logs", second, [{"id": f"q{n}", "scores": {"Beta": n / 8}}], project_id=second)
    statements = [s for s in view_statements(ws.root, txlog.snapshot(ws.root), {})
                  if s.startswith(("CREATE OR REPLACE VIEW project_logs AS", "CREATE OR REPLACE VIEW project_logs_history"))]
    assert len(statements) == 2 and not any("union_by_name" in s for s in statements)
    assert sorted(r["id"] for r in ws.query("SELECT id FROM project_logs")) == ["p0", "p1", "p2", "q0", "q1", "q2"]
    assert list(ws.query("SELECT * FROM project_logs LIMIT 1")[0]) == [n for n in sch.SPAN_SCHEMA.names
                                                                         if n != "_object_delete"]
    assert _q(ws, "select: id, scores.Alpha as a | from: project_logs('p') | sort: id") == [
        {"id": "p0", "a": 0.0}, {"id": "p1", "a": 0.25}, {"id": "p2", "a": 0.5}]
    assert _q(ws, "select: id, scores.Beta as b | from: project_logs('q') | filter: scores.Beta > 0 | sort: id",
              "q") == [{"id": "q1", "b": 0.125}, {"id": "q2", "b": 0.25}]
