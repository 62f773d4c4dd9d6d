"""BTQL public API beyond single queries: paging, cancellation, time-outs, check/explain, schema, lint, safety."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

from loop_tui import btql
from loop_tui.btql import BtqlError, CancelToken, check, describe_sources, explain, infer_schema, parse, run
from loop_tui.btql.ast_json import query_from_json, query_to_json
from loop_tui.btql.compiler import Compiled
from loop_tui.btql.executor import btql_connection, execute
from loop_tui.btql.rows import table_rows
from loop_tui.btql.safety import assert_single_select

sys.path.insert(0, str(Path(__file__).parent / "btql_golden"))
import fixture  # noqa: E402

F = "from: project_logs('alpha')"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return fixture.build(tmp_path_factory.mktemp("btql_api") / "ws")


def ids(result):
    return [r["id"] for r in table_rows(result.table)]


# -- paging ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sort", ["", " | sort: scores.Factuality desc", " | sort: created", " | sort: metadata.n desc",
                                  " | sort: metadata.model, metrics.tokens desc"])
def test_cursor_pages_cover_every_row_once(ws, sort):
    query = f"select: id | {F}{sort}"
    everything = ids(run(query + " | limit: 100", ws))
    pages, cursor = [], None
    for _ in range(10):
        result = run(query + " | limit: 3", ws, cursor=cursor)
        pages += ids(result)
        cursor = result.cursor
        if cursor is None:
            break
    assert pages == everything
    assert sorted(pages) == sorted(fixture_ids())


def fixture_ids():
    return [r["id"] for r in fixture.LOGS]


def test_cursor_in_query_text_and_sql_offset(ws):
    first = run(f"select: id | {F} | sort: id | limit: 2", ws)
    assert ids(first) == ["s1", "s2"] and first.cursor
    second = run(f"select: id | {F} | sort: id | limit: 2 | cursor: '{first.cursor}'", ws)
    assert ids(second) == ["s3", "s4"]
    sql = run(f"SELECT id FROM project_logs('alpha') ORDER BY id LIMIT 2 OFFSET '{first.cursor}'", ws)
    assert ids(sql) == ["s3", "s4"]


def test_cursor_rejected_for_other_query(ws):
    first = run(f"select: id | {F} | sort: id | limit: 2", ws)
    with pytest.raises(BtqlError) as info:
        run(f"select: id | {F} | sort: created | limit: 2", ws, cursor=first.cursor)
    assert info.value.code == "bad_cursor"


def test_last_page_has_no_cursor(ws):
    assert run(f"select: id | {F} | limit: 8", ws).cursor is None
    assert run(f"select: id | {F} | limit: 7", ws).cursor is not None
    assert run(f"measures: count(1) as n | {F}", ws).cursor is None


def test_traces_cursor_pages_by_trace(ws):
    query = "select: id, root_span_id | from: project_logs('alpha') traces | sort: created desc | limit: 1"
    seen, cursor = [], None
    for _ in range(5):
        result = run(query, ws, cursor=cursor)
        roots = {r["root_span_id"] for r in table_rows(result.table)}
        assert len(roots) == 1
        seen += sorted(roots)
        cursor = result.cursor
        if cursor is None:
            break
    assert seen == ["s1", "s4", "s7"]


def test_limit_override(ws):
    assert len(run(f"select: id | {F} | limit: 5", ws, limit=2).table) == 2


# -- cancellation and time-outs --------------------------------------------------------------------
def test_cancel_before_run(ws):
    token = CancelToken()
    token.cancel()
    with pytest.raises(BtqlError) as info:
        run(f"select: id | {F}", ws, cancel=token)
    assert (info.value.kind, info.value.code) == ("runtime", "cancelled")


def _slow(con):
    # A cross join big enough to run for minutes; only the watchdog can stop it.
    return Compiled("SELECT count(*) FROM range(100000000) a, range(100000) b WHERE a.range + b.range = -1", {},
                    True, [("c", "int")])


def test_timeout_interrupts_a_running_query(ws):
    con = btql_connection(ws)
    with pytest.raises(BtqlError) as info:
        execute(con, _slow(con), timeout_s=0.2)
    assert (info.value.kind, info.value.code) == ("runtime", "timeout")


def test_cancel_from_another_thread(ws):
    con = btql_connection(ws)
    event = threading.Event()
    threading.Timer(0.2, event.set).start()
    with pytest.raises(BtqlError) as info:
        execute(con, _slow(con), timeout_s=None, cancel=event)
    assert info.value.code == "cancelled"


# -- check / explain / parse ------------------------------------------------------------------------
def test_check_valid_and_invalid(ws):
    assert check(f"select: id | {F}", ws) == []
    errors = check(f"select: id | {F} | filter: metadata.modle = 'x'", ws)
    assert len(errors) == 1 and errors[0].code == "unknown_field"
    assert errors[0].to_dict()["hint"] == "Did you mean `metadata.model`?"


def test_explain_gives_ast_and_parameterised_sql(ws):
    ast_json, sql = explain(f"select: id | {F} | filter: input MATCH 'secret-word'", ws)
    assert ast_json["select"][0]["alias"] == "id"
    assert "secret" not in sql and "alpha" not in sql
    assert sql.startswith("WITH")


def test_user_values_never_in_sql(ws):
    evil = "x'); DROP TABLE project_logs; --"
    result = run(f"select: id | {F} | filter: metadata.model = \"{evil}\"", ws)
    assert result.table.num_rows == 0
    assert evil not in result.sql and "DROP" not in result.sql


def test_alias_with_quotes_is_quoted(ws):
    result = run(f'select: id as "we\\"ird; DROP" | {F} | limit: 1', ws)
    assert result.table.column_names == ['we"ird; DROP']


@pytest.mark.parametrize("pair", [
    (f"select: id, metadata.model as m | {F} | filter: is_root and scores.Factuality > 0.3 | sort: id",
     "SELECT id, metadata.model AS m FROM project_logs('alpha') WHERE is_root AND scores.Factuality > 0.3 ORDER BY id"),
    (f"dimensions: metadata.model as m | measures: count(1) as n | {F} | sort: m",
     "SELECT metadata.model AS m, count(1) AS n FROM project_logs('alpha') GROUP BY 1 ORDER BY m"),
    (f"dimensions: metadata.model as m | measures: avg(scores.Factuality) as f | {F} | final_filter: f > 0.4 | sort: f desc, m",
     "SELECT metadata.model AS m, avg(scores.Factuality) AS f FROM project_logs('alpha') GROUP BY metadata.model HAVING f > 0.4 ORDER BY f DESC, m"),
    ("select: id | from: project_logs('alpha') summary | filter: metrics.errors > 0",
     "SELECT id FROM project_logs('alpha', shape => 'summary') WHERE metrics.errors > 0"),
    ("select: id | from: project_logs('alpha') traces | filter: ANY_SPAN(error IS NOT NULL) | sort: id",
     "SELECT id FROM project_logs('alpha', shape => 'traces') WHERE ANY_SPAN(error IS NOT NULL) ORDER BY id"),
    (f"dimensions: score | measures: avg(value) as a | {F} | unpivot: scores as (score, value) | sort: score",
     "SELECT score, avg(value) AS a FROM project_logs('alpha') UNPIVOT (value FOR score IN (scores)) GROUP BY score ORDER BY score"),
    (f"select: id | {F} | filter: metadata.model IN ['gpt-4o', 'gpt-4o-mini'] and not tags includes 'x' | sort: id | limit: 3",
     "SELECT id FROM project_logs('alpha') WHERE metadata.model IN ('gpt-4o', 'gpt-4o-mini') AND NOT contains(tags, 'x') ORDER BY id LIMIT 3"),
    (f"dimensions: day(created) as d | measures: sum(metrics.tokens) as t | {F} | sort: d",
     "SELECT day(created) AS d, sum(metrics.tokens) AS t FROM project_logs('alpha') GROUP BY 1 ORDER BY d"),
    (f"measures: count(1) as n | {F} | filter: input MATCH 'password' or search('shipped')",
     "SELECT count(1) AS n FROM project_logs('alpha') WHERE input MATCH 'password' OR search('shipped')"),
    (f"select: (scores.Factuality > 0.5 ? 'hi' : 'lo') as r, id | {F} | filter: is_root | sort: id",
     "SELECT (scores.Factuality > 0.5 ? 'hi' : 'lo') AS r, id FROM project_logs('alpha') WHERE is_root ORDER BY id"),
])
def test_sql_and_btql_agree(ws, pair):
    btql_rows = table_rows(run(pair[0], ws).table)
    sql_rows = table_rows(run(pair[1], ws).table)
    assert btql_rows == sql_rows and btql_rows


@pytest.mark.parametrize("text", [
    "select: * | from: project_logs('p') traces | filter: ANY_SPAN(a INCLUDES 'x') and not b in [1, 2] | sort: c desc | limit: 3",
    "dimensions: day(created) as d | measures: percentile(x.y, 0.5) as p | from: experiment('a', 'b') summary | pivot: p",
    "select: a.\"b c\"[-1], `d`.e ? 1 : 2 as t | from: dataset('x') | sample: 10% seed 4 | preview_length: -1 | cursor: 'abc'",
    "SELECT m, count(DISTINCT x) AS n FROM project_logs('p') UNPIVOT (v FOR k IN (scores)) WHERE k <=> 'a' GROUP BY 1 HAVING n > 1",
    "select: x | from: project_logs('p') | filter: created > now() - interval 3 day and y <!=> null and z ILIKE '%q%' | unpivot: tags as (t)",
])
def test_ast_json_round_trip(text):
    q = parse(text)
    j = query_to_json(q)
    assert query_to_json(query_from_json(json.loads(json.dumps(j)))) == query_to_json(query_from_json(j))
    assert query_to_json(query_from_json(j), with_loc=False) == query_to_json(q, with_loc=False)


def test_parse_spans_are_one_based():
    q = parse("select: id\n| filter: metadata.model = 'x'")
    cmp = q.filter
    assert (cmp.span.line, cmp.span.col) == (2, 11)
    assert (cmp.left.span.line, cmp.left.span.col, cmp.left.span.end_col) == (2, 11, 25)


# -- schema, sources, lint ---------------------------------------------------------------------------
def test_infer_schema_lists_json_paths(ws):
    fields = {f.path: f for f in infer_schema(ws, "project_logs('alpha')")}
    assert fields["metadata.model"].type == "string"
    assert fields["metadata.n"].type == "number"
    assert fields["metadata.mixed"].type == "json"
    assert fields["scores.Factuality"].fill_rate == pytest.approx(4 / 8)
    assert "gpt-4o" in fields["metadata.model"].examples
    assert fields["output.items"].type == "array"


def test_infer_schema_of_dataset_object(ws):
    ds = ws.get_object("dataset", ws.project("alpha").id, "golden")
    paths = {f.path for f in infer_schema(ws, ds)}
    assert {"input.q", "metadata.difficulty", "expected"} <= paths


def test_describe_sources(ws):
    sources = describe_sources(ws, "alpha")
    names = {(s["kind"], s["name"]) for s in sources}
    assert {("project", "alpha"), ("experiment", "exp-a"), ("dataset", "golden"), ("prompt", "answer")} <= names
    assert all(s["project"] == "alpha" for s in sources)
    assert run(f"select: id | from: {sources[0]['source']} | limit: 1", ws, "alpha") is not None


def test_lint_warns_without_time_range(ws):
    assert run(f"select: id | {F}", ws).warnings
    assert not run(f"select: id | {F} | filter: created > now() - interval 1 day", ws).warnings
    assert not run(f"select: id | {F} | filter: root_span_id = 's1'", ws).warnings
    assert not run("select: id | from: experiment('exp-b')", ws).warnings


def test_new_rows_are_seen_after_a_write(tmp_path):
    ws = fixture.build(tmp_path / "ws")
    alpha = ws.project("alpha")
    assert run(f"measures: count(1) as n | {F}", ws).table.to_pylist() == [{"n": 8}]
    ws.insert_rows("project_logs", alpha.id, [{"id": "new", "metadata": {"brand_new_key": 1}}], project_id=alpha.id)
    assert run(f"measures: count(1) as n | {F}", ws).table.to_pylist() == [{"n": 9}]
    assert ids(run(f"select: id | {F} | filter: metadata.brand_new_key = 1", ws)) == ["new"]


def test_result_marks_json_columns(ws):
    result = run(f"select: input, id | {F} | limit: 1", ws)
    assert result.table.schema.field("input").metadata[b"btql_type"] == b"json"


def test_lazy_module_attributes():
    assert btql.run is run and btql.Result is not None
    with pytest.raises(AttributeError):
        btql.nope  # noqa: B018


# -- safety ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [
    "select: read_csv('/etc/passwd') | from: project_logs('alpha')",
    "select: * | from: read_parquet('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "select: id | from: project_logs('alpha') | filter: id = '1'; COPY project_logs TO '/tmp/x'",
    "SELECT id FROM project_logs('alpha'); ATTACH '/tmp/x.db'",
    "select: glob('/etc/*') | from: project_logs('alpha')",
    "select: getenv('HOME') | from: project_logs('alpha')",
    "PRAGMA database_list",
    "select: id | from: project_logs('alpha') | filter: query('select 1')",
])
def test_file_and_statement_attempts_are_errors(ws, query):
    with pytest.raises(BtqlError) as info:
        run(query, ws)
    assert info.value.kind in ("parse", "bind")


@pytest.mark.parametrize("sql", [
    "SELECT 1; DROP TABLE x", "COPY (SELECT 1) TO '/tmp/x'", "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT getenv('HOME')", "PRAGMA version", "ATTACH 'x.db'",
])
def test_safety_check_rejects_non_select(sql):
    with pytest.raises(BtqlError):
        assert_single_select(sql)


def test_btql_connection_is_sandboxed(ws):
    import duckdb

    con = btql_connection(ws)
    with pytest.raises(duckdb.Error):
        con.execute("SELECT * FROM read_csv('/etc/passwd')").fetchall()
    with pytest.raises(duckdb.Error):
        con.execute("SET enable_external_access = true")


def test_rare_keys_missed_by_the_sample_are_confirmed(tmp_path, monkeypatch):
    from loop_tui.btql import schema

    monkeypatch.setattr(schema, "SAMPLE_ROWS", 1)
    ws = fixture.build(tmp_path / "ws")
    alpha = ws.project("alpha")
    ws.insert_rows("project_logs", alpha.id, [{"id": f"r{i}", "metadata": {"common": i}} for i in range(30)]
                   + [{"id": "rare", "metadata": {"rare_key": "yes"}, "scores": {"RareScore": 1.0}}], project_id=alpha.id)
    assert ids(run(f"select: id | {F} | filter: metadata.rare_key = 'yes'", ws)) == ["rare"]
    assert ids(run(f"select: id | {F} | filter: scores.RareScore = 1", ws)) == ["rare"]
    with pytest.raises(BtqlError) as info:
        run(f"select: id | {F} | filter: metadata.no_such_key = 1", ws)
    assert info.value.code == "unknown_field"


def test_a_page_of_rows_does_not_sample_the_json_keys(tmp_path):
    """The logs page's first query (select *, sorted by time) and its count never name a JSON key: sampling
    every row's keys (seconds at a million spans) waited in front of them. A query naming a key samples them."""
    from loop_tui.btql import schema

    ws = fixture.build(tmp_path / "ws")
    sampled = [k for k in schema._cache if k[0] == str(ws.root)]
    assert sampled == []
    page = run(f"select: * | {F} | filter: is_root | sort: created desc | limit: 5", ws)
    count = run(f"{F} | measures: count(1) as n", ws)
    assert page.table.num_rows == 3 and count.table.column("n")[0].as_py() > 3  # the fixture has 3 root spans
    assert [k for k in schema._cache if k[0] == str(ws.root)] == []
    with pytest.raises(BtqlError) as info:
        run(f"select: id | {F} | filter: metadata.modle = 'x'", ws)
    assert info.value.to_dict()["hint"] == "Did you mean `metadata.model`?"
    assert [k[2] for k in schema._cache if k[0] == str(ws.root)] == ["project_logs"]
