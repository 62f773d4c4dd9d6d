"""The non-running entry points: `check` (as-you-type validation), `explain`, `infer_schema`, `describe_sources`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from loop_tui.btql import ast as A
from loop_tui.btql.ast_json import query_to_json
from loop_tui.btql.errors import BtqlError
from loop_tui.btql.executor import btql_connection, compile_query, open_ws, own_connection
from loop_tui.btql.parsing import parse


def check(query: str | dict, workspace: Any, project: str | None = None, *, connection: Any = None) -> list[BtqlError]:
    """Parse and bind without running: [] when the query is valid, else its one error."""
    try:
        ws = open_ws(workspace)
        con, views = (connection, None) if connection is not None else own_connection(ws)
        compile_query(query, ws, con, project, views=views)
    except BtqlError as err:
        return [err]
    return []


def explain(query: str | dict, workspace: Any, project: str | None = None, *, connection: Any = None) -> tuple[dict, str]:
    """(ParsedQuery JSON of the query, the DuckDB SQL it compiles to)."""
    ws = open_ws(workspace)
    con, views = (connection, None) if connection is not None else own_connection(ws)
    q, compiled, _ = compile_query(query, ws, con, project, views=views)
    return query_to_json(q), compiled.sql


@dataclass
class FieldInfo:
    """One field or JSON path of a source: its type, the share of rows that have it, and example values."""

    path: str
    type: str
    fill_rate: float
    examples: list[Any]


def _source_node(source: Any) -> A.Source | None:
    if source is None:
        return None
    if isinstance(source, A.Source):
        return source
    kind = getattr(source, "kind", None)
    if kind is not None:  # a CatalogObject
        view = {"project": "project_logs", "experiment": "experiment", "dataset": "dataset", "prompt": "prompt",
                "scorer": "function"}.get(kind)
        if view is None:
            raise BtqlError("bind", "unknown_source", f"A {kind} is not a data source.")
        return A.Source(view, [A.Literal(source.id)])
    text = str(source).strip()
    if "(" not in text:
        text += "()"
    q = parse(f"select: * | from: {text}")
    return q.from_


def infer_schema(workspace: Any, source: Any = None, project: str | None = None, *, sample_rows: int = 2000,
                 connection: Any = None) -> list[FieldInfo]:
    """Fields and JSON paths of a source (e.g. "project_logs('support-bot')") with types, fill rates, examples."""
    from loop_tui.btql.infer import infer_fields
    from loop_tui.btql.sources import resolve_project, resolve_source

    ws = open_ws(workspace)
    con = connection if connection is not None else btql_connection(ws)
    resolved = resolve_source(con, _source_node(source), resolve_project(con, project))
    return infer_fields(con, resolved, sample_rows)


def describe_sources(workspace: Any, project: str | None = None, *, connection: Any = None) -> list[dict[str, Any]]:
    """Every data source of a project (or all projects): {source, kind, name, id, project}, ready for a picker."""
    from loop_tui.btql.sources import resolve_project

    ws = open_ws(workspace)
    con = connection if connection is not None else btql_connection(ws)
    project_id = resolve_project(con, project)
    rows = con.execute(
        "SELECT c.kind, c.name, c.id, p.name FROM catalog c LEFT JOIN catalog p ON p.kind = 'project' AND "
        "p.id = c.project_id WHERE c.kind IN ('project', 'experiment', 'dataset', 'prompt', 'scorer') "
        "AND ($1 IS NULL OR c.project_id = $1 OR c.id = $1) ORDER BY p.name, c.kind, c.name", [project_id]).fetchall()
    fn = {"project": "project_logs", "experiment": "experiment", "dataset": "dataset", "prompt": "prompt",
          "scorer": "function"}
    out = []
    for kind, name, oid, pname in rows:
        out.append({"source": f"{fn[kind]}('{name.replace(chr(39), chr(39) * 2)}')", "kind": kind, "name": name, "id": oid,
                    "project": name if kind == "project" else pname})
    return out
