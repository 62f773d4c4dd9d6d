"""Plain summaries of what a page shows: logs overview, dataset stats, experiment list, playground task.

These are fixed parameterised SQL over the store's views (no user text is ever pasted into SQL).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from loop_tui.agent.tools import lookup
from loop_tui.agent.tools.base import ToolContext


def _r(value: Any, digits: int = 4) -> Any:
    return round(value, digits) if isinstance(value, float) else value


def logs_overview(ctx: ToolContext) -> dict[str, Any]:
    """Requests, errors, latency, tokens, cost and scores of the project's logs, overall and by model."""
    ws, project = ctx.workspace, ctx.project()
    pid = [project.id]
    totals = ws.query(
        "SELECT count(*) AS spans, count(*) FILTER (WHERE is_root) AS requests, "
        "count(DISTINCT root_span_id) FILTER (WHERE error IS NOT NULL) AS requests_with_errors, "
        "count(*) FILTER (WHERE error IS NOT NULL) AS error_spans, min(created) AS first, max(created) AS last, "
        "quantile_cont(metrics['end'] - metrics['start'], 0.5) FILTER (WHERE is_root) AS p50_duration_s, "
        "quantile_cont(metrics['end'] - metrics['start'], 0.95) FILTER (WHERE is_root) AS p95_duration_s, "
        "sum(metrics['tokens']) FILTER (WHERE is_root) AS tokens, "
        "sum(metrics['estimated_cost']) FILTER (WHERE is_root) AS estimated_cost "
        "FROM project_logs WHERE project_id = ?",
        pid,
    )[0]
    if not totals["spans"]:
        return {"project": project.name, "logs": "no log rows yet"}
    by_model = ws.query(
        "SELECT coalesce(_meta_model, '(none)') AS model, count(*) AS llm_spans, "
        "count(*) FILTER (WHERE error IS NOT NULL) AS errors, sum(metrics['tokens']) AS tokens "
        "FROM project_logs WHERE project_id = ? AND _meta_model IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
        pid,
    )
    errors = ws.query(
        "SELECT error, count(*) AS n FROM project_logs WHERE project_id = ? AND error IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
        pid,
    )
    requests = totals["requests"] or 1
    return {
        "project": project.name,
        "time_range": [str(totals["first"]), str(totals["last"])],
        "spans": totals["spans"],
        "requests": totals["requests"],
        "requests_with_errors": totals["requests_with_errors"],
        "error_rate": _r(totals["requests_with_errors"] / requests),
        "p50_duration_s": _r(totals["p50_duration_s"], 3),
        "p95_duration_s": _r(totals["p95_duration_s"], 3),
        "tokens": totals["tokens"],
        "estimated_cost_usd": _r(totals["estimated_cost"]),
        "by_model": [{k: _r(v) for k, v in row.items()} for row in by_model],
        "top_errors": [{"error": lookup.shorten(json.loads(r["error"]), 160), "count": r["n"]} for r in errors],
        "score_means": score_means(ctx, "project_logs", "project_id", project.id),
    }


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
