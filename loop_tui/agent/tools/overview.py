"""Plain summaries of what a page shows: logs overview, dataset stats, experiment list, playground task.

These are fixed parameterised SQL over the store's views (no user text is ever pasted into SQL).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from loop_tui.agent.tools import lookup
from loop_tui.agent.tools.base import ToolContext


def _r(value: Any, digits: int = 4) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def logs_overview(ctx: ToolContext, where: str = "") -> dict[str, Any]:
    """Requests, errors, latency, tokens, cost and scores of the project's logs (rows matching `where`, a
    BTQL filter, when given), overall and by model, with the errors grouped by exception."""
    from loop_tui.agent.tools.btql_tools import quote_source_arg
    from loop_tui.agent.tools.error_groups import error_groups_query, group_errors

    project = ctx.project()
    source = f"project_logs({quote_source_arg(project.name, project.id)})"
    both = f" and ({where})" if where else ""
    queries = {
        "requests": "measures: count(1) as requests, min(created) as first, max(created) as last, "
        "percentile(metrics.end - metrics.start, 0.5) as p50, percentile(metrics.end - metrics.start, 0.95) as p95, "
        f"sum(metrics.tokens) as tokens, sum(metrics.estimated_cost) as cost | filter: is_root{both} | from: {source}",
        "spans": "measures: count(1) as spans, sum(error != null ? 1 : 0) as error_spans, "
        f"count_distinct(error != null ? root_span_id : null) as requests_with_errors | from: {source}"
        + (f" | filter: {where}" if where else ""),
        "by_model": "dimensions: metadata.model as model | measures: count(1) as llm_spans, "
        "sum(error != null ? 1 : 0) as errors, sum(metrics.tokens) as tokens "
        f"| filter: metadata.model != null{both} | from: {source} | sort: llm_spans desc | limit: 10",
        "errors": error_groups_query(source, where),
    }
    results = {name: _rows(ctx, query, project.name) for name, query in queries.items()}
    totals, spans = results["requests"][0], results["spans"][0]
    if not spans["spans"]:
        return {"project": project.name, "filter": where or None, "logs": "no log rows match" if where else "no log rows yet"}
    requests = totals["requests"] or 0
    groups = group_errors(results["errors"])
    out = {
        "project": project.name,
        "filter": where or None,
        "time_range": [str(totals["first"]), str(totals["last"])],
        "spans": spans["spans"],
        "requests": requests,
        "requests_with_errors": spans["requests_with_errors"],
        "error_rate": _r(spans["requests_with_errors"] / requests) if requests else None,
        "p50_duration_s": _r(totals["p50"], 3),
        "p95_duration_s": _r(totals["p95"], 3),
        "tokens": totals["tokens"],
        "estimated_cost_usd": _r(totals["cost"]),
        "by_model": [{k: _r(v) for k, v in row.items()} for row in results["by_model"]],
        "top_errors": [g.to_dict(300) for g in groups[:5]],
        "error_groups": len(groups),
        "queries": list(queries.values()),
    }
    if not where:  # score means come from the store's map column, over every root span
        out["score_means"] = score_means(ctx, "project_logs", "project_id", project.id)
    return out


def _rows(ctx: ToolContext, query: str, project: str) -> list[dict[str, Any]]:
    """Every row of a BTQL query (no display cap); a bad filter is a ToolError with its place and hint."""
    from loop_tui import btql
    from loop_tui.agent.tools.base import ToolError
    from loop_tui.agent.tools.btql_tools import QUERY_TIMEOUT_S, describe_btql_error

    try:
        return btql.run(query, ctx.workspace, project, timeout_s=QUERY_TIMEOUT_S).table.to_pylist()
    except btql.BtqlError as err:
        raise ToolError(describe_btql_error(err)) from None


def score_means(ctx: ToolContext, table: str, column: str, object_id: str) -> dict[str, Any]:
    """Mean and count of every score on root spans of one object."""
    assert table in ("project_logs", "experiment") and column in ("project_id", "experiment_id")
    rows = ctx.workspace.query(
        f"SELECT k AS name, avg(v) AS mean, count(v) AS n FROM (SELECT unnest(map_keys(scores)) AS k, "
        f"unnest(map_values(scores)) AS v FROM {table} WHERE {column} = ? AND is_root AND scores IS NOT NULL) "
        "GROUP BY 1 ORDER BY 1",
        [object_id],
    )
    return {r["name"]: {"mean": _r(r["mean"]), "rows": r["n"]} for r in rows}


def experiments_list(ctx: ToolContext) -> dict[str, Any]:
    """Every experiment of the project with its row count and score means, newest first."""
    project = ctx.project()
    out = []
    for exp in ctx.workspace.objects("experiment", project.id)[:20]:
        rows = ctx.workspace.query(
            "SELECT count(*) AS n FROM experiment WHERE experiment_id = ? AND is_root", [exp.id]
        )[0]["n"]
        out.append({
            "name": exp.name, "id": exp.id, "created": str(exp.created), "model": exp.data.get("model"),
            "rows": rows, "scores": score_means(ctx, "experiment", "experiment_id", exp.id),
        })
    return {"project": project.name, "experiments": out}


def dataset_stats(ctx: ToolContext, name_or_id: str | None = None) -> dict[str, Any]:
    """Size, fields, tags and a few rows of a dataset."""
    from loop_tui.store.schema import row_to_braintrust

    ds = lookup.dataset(ctx, name_or_id)
    rows = [row_to_braintrust("dataset", r) for r in ctx.workspace.query(
        "SELECT * FROM dataset WHERE dataset_id = ? ORDER BY created, id", [ds.id]
    )]
    keys: dict[str, Counter[str]] = {"input": Counter(), "expected": Counter(), "metadata": Counter()}
    tags: Counter[str] = Counter()
    for row in rows:
        for field, counter in keys.items():
            value = row.get(field)
            counter.update(value.keys() if isinstance(value, dict) else [f"({type(value).__name__})"])
        tags.update(row.get("tags") or [])
    return {
        "dataset": ds.name, "id": ds.id, "description": ds.data.get("description"), "rows": len(rows),
        "fields": {f: dict(c.most_common(10)) for f, c in keys.items()},
        "tags": dict(tags.most_common(10)),
        "sample_rows": [lookup.preview_row(r, ("id", "input", "expected", "metadata", "tags"), 200) for r in rows[:3]],
    }


def playground_task(ctx: ToolContext) -> dict[str, Any]:
    """The playground's prompt, dataset, scorers, and its last run if it has one."""
    pg = lookup.playground(ctx)
    prompt = lookup.playground_prompt_or_none(ctx, pg)
    out: dict[str, Any] = {
        "playground": pg.name,
        "prompt": (
            {"messages": prompt.get("messages"), "model": prompt.get("model"), "params": prompt.get("params")}
            if prompt else None
        ),
        "scorers": pg.data.get("scorers") or [],
    }
    if prompt is None:
        out["note"] = f"the task has no prompt yet; {lookup.FIRST_PROMPT_HINT}"
    if pg.data.get("dataset_id"):
        ds = ctx.workspace.object_by_id(pg.data["dataset_id"])
        n = ctx.workspace.query("SELECT count(*) AS n FROM dataset WHERE dataset_id = ?", [ds.id])[0]["n"]
        out["dataset"] = {"name": ds.name, "rows": n}
    last = last_run(ctx, pg.id)
    out["last_run"] = (
        {"experiment": last.name, "id": last.id, "scores": score_means(ctx, "experiment", "experiment_id", last.id)}
        if last else None
    )
    return out


def last_run(ctx: ToolContext, playground_id: str) -> Any:
    """The newest experiment a playground produced (its data or metadata names the playground)."""
    for exp in ctx.workspace.objects("experiment", ctx.project().id):
        meta = exp.data.get("metadata") or {}
        if playground_id in (exp.data.get("playground_id"), meta.get("playground_id")):
            return exp
    return None
