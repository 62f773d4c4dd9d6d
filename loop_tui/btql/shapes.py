"""SQL for the source rows of each shape: spans as they are, traces, and one summary row per trace."""

from __future__ import annotations

from loop_tui.btql.cost import cost_sql
from loop_tui.btql.schema import SUMMARY_METRICS


def source_where(column: str, id_sqls: list[str], row_kind_sql: str | None) -> str:
    """The condition picking the resolved objects' rows (`=`/`IN` lets DuckDB prune segments)."""
    where = f'"{column}" IN ({", ".join(id_sqls)})'
    if row_kind_sql is not None:
        where += f' AND "kind" = {row_kind_sql}'
    return where


def source_sql(view: str, column: str, id_sqls: list[str], row_kind_sql: str | None) -> str:
    """Rows of the resolved objects; `id_sqls` are bound parameters."""
    return f"SELECT * FROM {view} WHERE {source_where(column, id_sqls, row_kind_sql)}"


def summary_sql(param) -> str:
    """One row per trace over CTE `src` (research §4.6): root previews, averaged scores, summed metrics."""
    llm = "\"_span_type\" = 'llm'"
    tool = "\"_span_type\" = 'tool'"
    m = lambda k: f"\"metrics\"['{k}']"  # noqa: E731
    cost = cost_sql(param)
    metric_sql = {
        "prompt_tokens": f"sum({m('prompt_tokens')})",
        "completion_tokens": f"sum({m('completion_tokens')})",
        "prompt_cached_tokens": f"sum({m('prompt_cached_tokens')})",
        "prompt_cache_creation_tokens": f"sum({m('prompt_cache_creation_tokens')})",
        "tokens": f"sum(coalesce({m('tokens')}, {m('total_tokens')}))",
        "total_tokens": f"sum(coalesce({m('tokens')}, {m('total_tokens')}))",
        "estimated_cost": f"sum({cost})",
        "llm_calls": f"count(*) FILTER (WHERE {llm})",
        "tool_calls": f"count(*) FILTER (WHERE {tool})",
        "errors": f"count(\"error\") FILTER (WHERE {llm} OR {tool})",
        "llm_errors": f"count(\"error\") FILTER (WHERE {llm})",
        "tool_errors": f"count(\"error\") FILTER (WHERE {tool})",
        "start": f"min({m('start')})",
        "end": f"max({m('end')})",
        "duration": f"max({m('end')}) - min({m('start')})",
        "llm_duration": f"sum({m('end')} - {m('start')}) FILTER (WHERE {llm})",
        "time_to_first_token": f"avg({m('time_to_first_token')}) FILTER (WHERE {llm})",
    }
    keys = ", ".join(f"'{k}'" for k in SUMMARY_METRICS)
    vals = ", ".join(f"CAST({metric_sql[k]} AS DOUBLE)" for k in SUMMARY_METRICS)
    root = lambda c: f"arg_min(\"{c}\", (NOT coalesce(\"is_root\", false), \"created\"))"  # noqa: E731
    cols = ["id", "span_id", "project_id", "experiment_id", "input", "output", "expected", "error", "metadata", "tags",
            "span_attributes", "origin", "context", "_meta_model", "_span_name", "_span_type", "_extra", "span_parents"]
    picked = ", ".join(f"{root(c)} AS \"{c}\"" for c in cols)
    return (
        "score_avgs AS (SELECT root_span_id, map_from_entries(list({'key': k, 'value': v})) AS scores FROM ("
        "SELECT root_span_id, k, avg(v) AS v FROM (SELECT root_span_id, unnest(map_keys(\"scores\")) AS k, "
        "unnest(map_values(\"scores\")) AS v FROM src) GROUP BY 1, 2) GROUP BY 1), "
        f"trace_rows AS (SELECT \"root_span_id\", {picked}, min(\"created\") AS \"created\", max(\"_xact_id\") AS \"_xact_id\", "
        f"true AS \"is_root\", MAP([{keys}], [{vals}]) AS \"metrics\" FROM src GROUP BY \"root_span_id\"), "
        "base AS (SELECT t.*, s.scores AS \"scores\" FROM trace_rows t LEFT JOIN score_avgs s USING (root_span_id))"
    )
