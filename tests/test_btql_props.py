"""Property tests: any input — random, generated from the grammar, or a mutated golden query — gives rows
or a `BtqlError`, never another exception, and nothing but single SELECT statements reaches DuckDB."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loop_tui.btql import BtqlError, run
from loop_tui.btql.executor import btql_connection

GOLDEN = Path(__file__).parent / "btql_golden"
sys.path.insert(0, str(GOLDEN))
import fixture  # noqa: E402

CORPUS = [json.loads(line)["q"] for line in (GOLDEN / "cases.jsonl").read_text().splitlines() if line.strip()]
# BTQL_PROP_EXAMPLES raises the example count for a deeper local run.
SETTINGS = settings(max_examples=int(os.environ.get("BTQL_PROP_EXAMPLES", "120")), deadline=None, suppress_health_check=list(HealthCheck))


class SelectOnly:
    """A connection proxy that fails the test if anything but one SELECT statement is executed."""

    def __init__(self, con):
        self._con = con
        self.statements = 0

    def _check(self, sql):
        statements = duckdb.extract_statements(sql)
        assert len(statements) == 1 and statements[0].type == duckdb.StatementType.SELECT, sql
        self.statements += 1

    def execute(self, sql, params=None):
        self._check(sql)
        return self._con.execute(sql, params or [])

    def sql(self, sql, params=None):
        self._check(sql)
        return self._con.sql(sql, params=params)

    def interrupt(self):
        self._con.interrupt()


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return fixture.build(tmp_path_factory.mktemp("btql_props") / "ws")


def _run_checked(ws, query, project=None):
    con = SelectOnly(btql_connection(ws))
    try:
        result = run(query, ws, project, connection=con, timeout_s=10)
    except BtqlError as err:
        assert err.kind in ("parse", "bind", "runtime")
        assert isinstance(err.line, int) and err.line >= 1 and err.col >= 1
        assert "Error:" not in err.message  # no DuckDB text
        err.render(query if isinstance(query, str) else "")
        return None
    assert result.table is not None
    return result


# -- grammar-based generation ---------------------------------------------------------------------
FIELDS = ["id", "created", "is_root", "tags", "span_parents", "error", "input", "output", "metadata.model",
          "metadata.n", "metadata.mixed", "metadata.region", "scores.Factuality", "scores.Relevance", "metrics.tokens",
          "metrics.start", "span_attributes.type", "input.question", "output.items[0]", "tags[-1]", "metadata.nope",
          "root_span_id", "_xact_id"]
LITERALS = ["1", "0.5", "-2", "'gpt-4o'", '"x"', "true", "null", "'2024-01-01'", "['a', 'b']", "[1, 2]",
            "interval 1 day", "{a: 1}"]
FUNCS = ["lower", "upper", "len", "day", "hour", "to_number", "to_string", "coalesce", "count", "avg", "sum",
         "max", "min", "round", "abs", "search", "estimated_cost", "percentile", "concat", "json_extract", "nope_fn"]
BINOPS = ["=", "!=", "<", ">=", "<=>", "<!=>", "+", "-", "*", "/", "%", "and", "or", "like", "ilike", "match",
          "includes", "in"]


def exprs():
    leaf = st.sampled_from(FIELDS + LITERALS)

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(BINOPS), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(st.sampled_from(["not ", "-"]), inner).map(lambda t: f"{t[0]}{t[1]}"),
            st.tuples(inner, st.sampled_from([" IS NULL", " IS NOT NULL"])).map("".join),
            st.tuples(st.sampled_from(FUNCS), st.lists(inner, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
            st.sampled_from(["ANY_SPAN", "FILTER_SPANS"]).flatmap(lambda f: inner.map(lambda e: f"{f}({e})")),
        )

    return st.recursive(leaf, extend, max_leaves=6)


SOURCES = ["project_logs('alpha')", "project_logs('alpha') traces", "project_logs('alpha') summary",
           "experiment('exp-b')", "dataset('golden')", "project_prompts('alpha')"]


@st.composite
def btql_queries(draw):
    e = exprs()
    clauses = [f"from: {draw(st.sampled_from(SOURCES))}"]
    if draw(st.booleans()):
        clauses.append("select: " + ", ".join(draw(st.lists(e, min_size=1, max_size=3))))
    else:
        clauses.append(f"dimensions: {draw(e)} as d | measures: count(1) as n, {draw(e)} as m")
    if draw(st.booleans()):
        clauses.append(f"filter: {draw(e)}")
    if draw(st.booleans()):
        clauses.append(f"sort: {draw(e)} {draw(st.sampled_from(['asc', 'desc']))}")
    if draw(st.booleans()):
        clauses.append(f"limit: {draw(st.integers(0, 5))}")
    if draw(st.booleans()):
        clauses.append(draw(st.sampled_from(["sample: 50% seed 1", "preview_length: 3", "unpivot: scores as (k, v)",
                                             "unpivot: tags as (t)", "pivot: n", "final_filter: n > 1"])))
    order = draw(st.permutations(clauses))
    return " | ".join(order)


@SETTINGS
@given(query=btql_queries())
def test_generated_queries_give_rows_or_btql_error(ws, query):
    _run_checked(ws, query)


@SETTINGS
@given(where=exprs(), group=st.sampled_from(["", " GROUP BY 1"]))
def test_generated_sql_gives_rows_or_btql_error(ws, where, group):
    select = "metadata.model AS m, count(1) AS n" if group else "id, metadata.model AS m"
    _run_checked(ws, f"SELECT {select} FROM project_logs('alpha') WHERE {where}{group} LIMIT 5")


# -- mutation of real queries ----------------------------------------------------------------------
JUNK = st.sampled_from(["'", '"', "`", "(", ")", "[", "]", "|", ":", ";", ",", ".", "*", "--", "/*", "?", "::", "->",
                        "\n", " and ", " or ", " not ", "select:", "SELECT ", "from:", " read_csv('/etc/passwd') ",
                        "'; DROP TABLE project_logs; --", "\\", "\x00", "é", "🙂", "1e999", "-", "%", "interval",
                        " ANY_SPAN(", "{", "}", "<=>", "<!=>", " IN []"])


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["delete", "insert", "swap", "truncate"]))
        n = len(text)
        i = draw(st.integers(0, max(n - 1, 0)))
        if kind == "delete" and n:
            j = draw(st.integers(i, min(n, i + 8)))
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(JUNK) + text[i:]
        elif kind == "swap" and n > 2:
            j = draw(st.integers(0, n - 1))
            a, b = sorted((i, j))
            text = text[:a] + text[b:] + text[a:b]
        else:
            text = text[:i]
    return text


@SETTINGS
@given(query=mutated(), project=st.sampled_from([None, "alpha"]))
def test_mutated_queries_give_rows_or_btql_error(ws, query, project):
    _run_checked(ws, query, project)


@SETTINGS
@given(query=st.text(max_size=80))
def test_arbitrary_text_gives_rows_or_btql_error(ws, query):
    _run_checked(ws, query)


@SETTINGS
@given(obj=st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["op", "select", "from", "filter", "name", "args", "value", "expr", "alias", "left", "right",
                         "children", "sort", "limit", "dir", "btql"]), inner, max_size=4),
    max_leaves=12))
def test_arbitrary_json_gives_rows_or_btql_error(ws, obj):
    if isinstance(obj, dict):
        _run_checked(ws, obj)
