"""get_summarized_results and get_detailed_results: what the current page shows, summarised or row by row."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

from pydantic import Field

from loop_tui.agent.tools import lookup, overview
from loop_tui.agent.tools.base import Tool, ToolArgs, ToolContext, ToolError, to_json
from loop_tui.agent.tools.btql_tools import describe_btql_error, quote_source_arg

RESULT_PAGES = ("playground", "experiments", "datasets", "logs")
_ID = re.compile(r"^[A-Za-z0-9_\-:.]+$")


class SummaryArgs(ToolArgs):
    experiment: str | None = Field(default=None, description="Experiment name or id (experiments page). Default: the open one.")
    base: str | None = Field(
        default=None,
        description="Experiment to compare against. Default: the one the page compares with, else its base experiment.",
    )
    dataset: str | None = Field(default=None, description="Dataset name or id (datasets page). Default: the open one.")
    filter: str | None = Field(
        default=None,
        description="Logs page: a BTQL filter for the rows summarised, e.g. `created > now() - interval 7 day` "
        "or `metadata.model = 'gpt-4o'`. Default: all logs.",
    )


class GetSummarizedResults(Tool[SummaryArgs]):
    """A summary of what the page shows."""

    name = "get_summarized_results"
    description = (
        "Summarise what the current page shows. Experiments: score means, diffs against the base experiment, "
        "improvements/regressions (with 95% confidence intervals) and metrics; with no experiment open, every "
        "experiment with its score means. Datasets: size, fields, tags, sample rows. Logs (optionally filtered): "
        "requests, error rate, latency p50/p95, tokens, cost, by model, the most common errors grouped by "
        "exception (type and message, with an example trace each), score means. Playground: the task prompt, "
        "dataset, scorers and the last run's scores."
    )
    Args = SummaryArgs
    pages = RESULT_PAGES

    async def run(self, args: SummaryArgs, ctx: ToolContext) -> str:
        return to_json(await asyncio.to_thread(self._summary, args, ctx))

    def _summary(self, args: SummaryArgs, ctx: ToolContext) -> dict[str, Any]:
        page = ctx.page.page
        if page == "experiments":
            if not (args.experiment or ctx.page.experiment_id):
                return overview.experiments_list(ctx)
            base = args.base or _page_base(ctx, args.experiment)
            return experiment_summary(ctx, args.experiment, base)
        if page == "datasets":
            return overview.dataset_stats(ctx, args.dataset)
        if page == "playground":
            return overview.playground_task(ctx)
        return overview.logs_overview(ctx, (args.filter or "").strip())


def _page_base(ctx: ToolContext, named: str | None) -> str | None:
    """On the compare view, the experiment on screen is compared with the page's A, not its recorded base."""
    page = ctx.page
    if page.base_experiment_id is None or (named and lookup.experiment(ctx, named).id != page.experiment_id):
        return None
    return page.base_experiment_id


def experiment_summary(ctx: ToolContext, name_or_id: str | None, base: str | None) -> dict[str, Any]:
    """The eval engine's summary of an experiment against its base, plus the worst regressed rows."""
    from loop_tui.evals import compare_rows, summarize

    exp = lookup.experiment(ctx, name_or_id)
    base_id = lookup.experiment(ctx, base).id if base else None
    summary = summarize(ctx.workspace, exp.id, base_id)
    data = summary.to_json() if hasattr(summary, "to_json") else dataclasses.asdict(summary)
    if summary.base_id:
        worst = [d for d in compare_rows(ctx.workspace, exp.id, summary.base_id) if d.worst_delta < 0][:3]
        data["worst_regressions"] = [
            {"root_span_id": d.root_span_id, "input": lookup.shorten(d.input, 200),
             "output": lookup.shorten(d.output, 200), "base_output": lookup.shorten(d.base_output, 200),
             "deltas": {k: round(v, 4) for k, v in d.deltas.items() if v}}
            for d in worst
        ]
    return _rounded(data)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


class DetailArgs(ToolArgs):
    ids: list[str] | None = Field(default=None, description="Row ids to fetch. Default: the rows selected on the page.")
    filter: str | None = Field(
        default=None,
        description="A BTQL filter expression, e.g. `scores.Factuality < 0.5` or `error IS NOT NULL` or "
        "`input MATCH 'refund'`.",
    )
    limit: int = Field(default=10, ge=1, le=100, description="Rows to return.")
    offset: int = Field(default=0, ge=0, description="Rows to skip (for paging).")
    all_spans: bool = Field(default=False, description="Logs/experiments: include child spans, not only root spans.")


class GetDetailedResults(Tool[DetailArgs]):
    """Rows of what the page shows, by id, filter or page."""

    name = "get_detailed_results"
    description = (
        "Fetch rows of what the current page shows (experiment rows, dataset rows, log requests, the playground's "
        "last run, else its dataset) by id, by BTQL filter expression, or by page (limit/offset), newest first. Each row has id, "
        "input, output, expected, error, scores, metadata, duration and tokens (long values cut)."
    )
    Args = DetailArgs
    pages = RESULT_PAGES

    async def run(self, args: DetailArgs, ctx: ToolContext) -> str:
        table, column, object_id, source = _page_source(ctx)
        ids = args.ids or (ctx.page.selected_row_ids if not args.filter else None)
        for row_id in ids or []:
            if not _ID.match(row_id):
                raise ToolError(f"{row_id!r} is not a row id")
        if args.filter or not ids:
            ids = await _matching_ids(ctx, source, table, args, ids)
        rows = await asyncio.to_thread(_fetch, ctx, table, column, object_id, ids)
        return to_json({"source": source, "offset": args.offset, "count": len(rows), "rows": rows})


def _page_source(ctx: ToolContext) -> tuple[str, str, str, str]:
    page = ctx.page.page
    if page == "experiments":
        exp = lookup.experiment(ctx)
        return "experiment", "experiment_id", exp.id, f"experiment({quote_source_arg(exp.name, exp.id)})"
    if page == "playground":  # the last run's rows when there is one, else the task's dataset
        run = overview.last_run(ctx, lookup.playground(ctx).id)
        if run is not None:
            return "experiment", "experiment_id", run.id, f"experiment({quote_source_arg(run.name, run.id)})"
    if page in ("datasets", "playground"):
        ds = lookup.dataset(ctx)
        return "dataset", "dataset_id", ds.id, f"dataset({quote_source_arg(ds.name, ds.id)})"
    project = ctx.project()
    return "project_logs", "project_id", project.id, f"project_logs({quote_source_arg(project.name, project.id)})"


async def _matching_ids(ctx: ToolContext, source: str, table: str, args: DetailArgs, ids: list[str] | None) -> list[str]:
    from loop_tui import btql

    conditions = []
    if args.filter:
        conditions.append(f"({args.filter})")
    if ids:
        conditions.append("id IN [" + ", ".join(f"'{i}'" for i in ids) + "]")
    if table != "dataset" and not args.all_spans:
        conditions.append("is_root")
    query = f"select: id | from: {source} | sort: created desc | limit: {args.offset + args.limit}"
    if conditions:
        query += " | filter: " + " and ".join(conditions)
    try:
        result = await asyncio.to_thread(btql.run, query, ctx.workspace, ctx.project().name)
    except btql.BtqlError as err:
        raise ToolError(describe_btql_error(err)) from None
    return [str(v) for v in result.table.column("id").to_pylist()[args.offset:]]


def _fetch(ctx: ToolContext, table: str, column: str, object_id: str, ids: list[str]) -> list[dict[str, Any]]:
    from loop_tui.store.schema import row_to_braintrust

    if not ids:
        return []
    found = ctx.workspace.query(
        f"SELECT * FROM {table} WHERE {column} = ? AND id IN (SELECT unnest(?::VARCHAR[]))", [object_id, ids]
    )
    by_id = {r["id"]: lookup.preview_row(row_to_braintrust(table, r)) for r in found}
    return [by_id[i] for i in ids if i in by_id]
