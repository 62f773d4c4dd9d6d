"""BTQL tools: btql_query (the project's logs), run_btql (any source), get_data_source, infer_schema."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import Field

from loop_tui.agent.tools.base import NoArgs, Tool, ToolArgs, ToolContext, ToolError, to_json
from loop_tui.agent.tools.lookup import shorten

MAX_ROWS = 50
QUERY_TIMEOUT_S = 30.0
_SAFE_NAME = re.compile(r"^[A-Za-z0-9 _.\-]+$")


def quote_source_arg(name: str, fallback_id: str) -> str:
    """A name as a BTQL string literal, or the id when the name has characters needing escapes."""
    return f"'{name}'" if _SAFE_NAME.match(name) else f"'{fallback_id}'"


def describe_btql_error(err: Any) -> str:
    """A BtqlError as one message a model can fix the query from."""
    where = f" at line {err.line}, col {err.col}" if getattr(err, "line", None) else ""
    hint = f" Hint: {err.hint}" if getattr(err, "hint", None) else ""
    return f"BTQL {err.kind} error ({err.code}){where}: {err.message}{hint}"


def table_to_result(table: Any, cursor: str | None, warnings: list[str]) -> dict[str, Any]:
    """An Arrow result as compact columns + rows for the model."""
    rows = table.slice(0, MAX_ROWS).to_pylist()
    out: dict[str, Any] = {
        "columns": table.column_names,
        "rows": [[shorten(_plain(r[c]), 200) for c in table.column_names] for r in rows],
        "row_count": table.num_rows,
    }
    if table.num_rows > MAX_ROWS:
        out["note"] = f"showing the first {MAX_ROWS} of {table.num_rows} rows; aggregate or add a limit"
    if cursor:
        out["cursor"] = cursor
    if warnings:
        out["warnings"] = warnings
    return out


def _plain(value: Any) -> Any:
    """Arrow values as JSON-friendly ones (Decimal sums as numbers, timestamps as ISO text)."""
    from datetime import date, datetime
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


async def run_query(query: str, ctx: ToolContext, project: str | None) -> dict[str, Any]:
    """Run a BTQL query in a worker thread; a BtqlError becomes a ToolError with its place and hint."""
    result = await _result(query, ctx, project)
    return table_to_result(result.table, result.cursor, list(result.warnings))


async def _result(query: str, ctx: ToolContext, project: str | None) -> Any:
    """One page of `query`: on Braintrust when the page is remote (the text sent as it is), else locally."""
    from loop_tui import btql
    from loop_tui.errors import UserError

    try:
        if ctx.page.remote:
            from loop_tui.agent.tools.btql_remote import run_on_braintrust

            return await asyncio.to_thread(run_on_braintrust, query, ctx.settings)
        return await asyncio.to_thread(btql.run, query, ctx.workspace, project, timeout_s=QUERY_TIMEOUT_S)
    except btql.BtqlError as err:
        raise ToolError(describe_btql_error(err)) from None
    except UserError as err:  # Braintrust unreachable, the key refused: one sentence, as the CLI says it
        raise ToolError(str(err)) from None


class QueryArgs(ToolArgs):
    query: str = Field(description="A BTQL (pipe syntax) or Braintrust SQL query.")


class BtqlQueryArgs(QueryArgs):
    group_errors: bool = Field(
        default=False,
        description="For a query with `dimensions: error` and a count measure named n: return the errors grouped "
        "by exception (a traceback's last line, type and message, with numbers, ids and paths ignored), each with "
        "its count and an example, instead of one row per error text.",
    )


class BtqlQuery(Tool[BtqlQueryArgs]):
    """Query the current project's logs."""

    name = "btql_query"
    description = (
        "Run a BTQL query against the current project's logs and return the rows (at most 50 shown). The "
        "`from` clause may be omitted: it defaults to this project's logs. On a remote page the query runs on "
        "Braintrust itself, on all of the project's data. Aggregate with dimensions/measures "
        "instead of fetching many rows, e.g. `dimensions: metadata.model as model | measures: count(1) as n, "
        "avg(metrics.end - metrics.start) as avg_s | filter: is_root`. For the most common errors, use "
        "group_errors with `dimensions: error | measures: count(1) as n, max(created) as last_seen, min(id) as "
        "example_id | filter: error != null`."
    )
    Args = BtqlQueryArgs
    pages = ("logs", "experiments", "datasets", "playground", "btql")

    async def run(self, args: BtqlQueryArgs, ctx: ToolContext) -> str:
        from loop_tui.btql import BtqlError
        from loop_tui.btql.parsing import parse

        if ctx.page.remote:  # the project lives in Braintrust and may have no local copy
            from loop_tui.agent.tools.btql_remote import remote_project_source

            name, source = remote_project_source(ctx)
        else:
            project = ctx.project()
            name, source = project.name, f"project_logs({quote_source_arg(project.name, project.id)})"
        query = args.query
        try:
            parsed = parse(query)
        except BtqlError as err:
            if not ctx.page.remote:
                raise ToolError(describe_btql_error(err)) from None
            parsed = None  # Braintrust evaluates BTQL natively: it judges the text, and its error comes back
        if parsed is not None and parsed.from_ is None:
            if parsed.syntax == "sql":
                raise ToolError(f"add a FROM clause to the SQL query, e.g. FROM {source}")
            query = f"{query.rstrip()}\nfrom: {source}"
        if args.group_errors:
            return to_json(await _grouped_errors(query, ctx, name))
        return to_json(await run_query(query, ctx, name))


async def _grouped_errors(query: str, ctx: ToolContext, project: str) -> dict[str, Any]:
    """Every row of an errors query (no display cap), grouped by exception with an example each."""
    from loop_tui.agent.tools.error_groups import group_errors

    result = await _result(query, ctx, project)
    if not {"error", "n"} <= set(result.table.column_names):
        raise ToolError("group_errors needs a query with `dimensions: error` and `measures: count(1) as n` "
                        f"(this one returns {', '.join(result.table.column_names)})")
    groups = group_errors(result.table.to_pylist())
    return {"distinct_errors": result.table.num_rows, "error_groups": len(groups),
            "groups": [g.to_dict(400) for g in groups[:20]]}


class RunBtql(Tool[QueryArgs]):
    """Run a sandbox query against any source."""

    name = "run_btql"
    description = (
        "Run a BTQL or SQL query against any data source (project_logs('p'), experiment('name'), "
        "dataset('name')), as the BTQL sandbox does, and return the rows or the error with its position and "
        "hint. Use it to check a query before proposing it to the user. On a remote page it runs on Braintrust."
    )
    Args = QueryArgs
    pages = ("btql",)

    async def run(self, args: QueryArgs, ctx: ToolContext) -> str:
        project = ctx.page.project or None
        return to_json(await run_query(args.query, ctx, project))


class GetDataSource(Tool[NoArgs]):
    """List (or let the user pick) the data sources."""

    name = "get_data_source"
    description = (
        "Ask the user which data source to query. In the app the user picks from a list; headless, it returns "
        "every source (project logs, experiments, datasets) with the `from` expression to use."
    )
    pages = ("btql",)

    async def run(self, args: object, ctx: ToolContext) -> str:
        choices = await asyncio.to_thread(_sources, ctx)
        if ctx.choose_source is not None:
            picked = await ctx.choose_source(choices)
            if picked is None:
                return "The user did not pick a source; ask them which data they want to query."
            return to_json({"picked": picked})
        return to_json({"sources": choices, "note": "ask the user which one they mean if it is not clear"})


def _sources(ctx: ToolContext) -> list[dict[str, Any]]:
    ws = ctx.workspace
    counts = {
        (r["kind"], r["oid"]): r["n"]
        for r in ws.query(
            "SELECT 'logs' AS kind, project_id AS oid, count(*) AS n FROM project_logs GROUP BY 2 "
            "UNION ALL SELECT 'experiment', experiment_id, count(*) FROM experiment GROUP BY 2 "
            "UNION ALL SELECT 'dataset', dataset_id, count(*) FROM dataset GROUP BY 2"
        )
    }
    projects = ws.projects()
    if ctx.page.project:
        projects = [p for p in projects if ctx.page.project in (p.name, p.id)] or projects
    out: list[dict[str, Any]] = []
    for p in projects:
        quoted = quote_source_arg(p.name, p.id)
        out.append({"project": p.name, "kind": "logs", "name": p.name, "rows": counts.get(("logs", p.id), 0),
                    "from": f"project_logs({quoted})"})
        for kind in ("experiment", "dataset"):
            for obj in ws.objects(kind, p.id):
                out.append({"project": p.name, "kind": kind, "name": obj.name, "rows": counts.get((kind, obj.id), 0),
                            "from": f"{kind}({quote_source_arg(obj.name, obj.id)})"})
    return out


class InferSchemaArgs(ToolArgs):
    source: str | None = Field(
        default=None,
        description="A source such as project_logs('p'), experiment('name'), dataset('name'). Default: the page's.",
    )


class InferSchema(Tool[InferSchemaArgs]):
    """Fields, JSON paths, types, fill rates and examples of a source."""

    name = "infer_schema"
    description = (
        "List the fields of a data source: every column and JSON path actually present (e.g. metadata.model, "
        "scores.Factuality) with its type, fill rate and example values. Use it before writing a query on "
        "unfamiliar data."
    )
    Args = InferSchemaArgs
    pages = ("btql", "logs", "datasets", "experiments", "playground")

    async def run(self, args: InferSchemaArgs, ctx: ToolContext) -> str:
        from loop_tui import btql

        source = args.source or _page_source(ctx)
        try:
            fields = await asyncio.to_thread(btql.infer_schema, ctx.workspace, source, ctx.page.project)
        except btql.BtqlError as err:
            raise ToolError(describe_btql_error(err)) from None
        return to_json({
            "source": source,
            "fields": [
                {"path": f.path, "type": f.type, "fill_rate": round(float(f.fill_rate), 3),
                 "examples": [shorten(e, 80) for e in list(f.examples)[:3]]}
                for f in fields
            ],
        })


def _page_source(ctx: ToolContext) -> str:
    from loop_tui.agent.tools import lookup

    page = ctx.page
    if page.page == "experiments" and page.experiment_id:
        exp = lookup.experiment(ctx)
        return f"experiment({quote_source_arg(exp.name, exp.id)})"
    if page.page in ("datasets", "playground") and (page.dataset_id or page.page == "playground"):
        ds = lookup.dataset(ctx)
        return f"dataset({quote_source_arg(ds.name, ds.id)})"
    project = ctx.project()
    return f"project_logs({quote_source_arg(project.name, project.id)})"
