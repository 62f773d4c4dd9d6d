"""Data sources of `from:`: which view they read and which object ids, resolved from ids or names."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from loop_tui.btql import ast as A
from loop_tui.btql.errors import BtqlError

# source function -> (view, catalog kind of its arguments, column the ids filter, catalog kind of rows)
SOURCES: dict[str, tuple[str, str, str, str | None]] = {
    "project_logs": ("project_logs", "project", "project_id", None),
    "experiment": ("experiment", "experiment", "experiment_id", None),
    "dataset": ("dataset", "dataset", "dataset_id", None),
    "prompt": ("catalog", "prompt", "id", "prompt"),
    "function": ("catalog", "scorer", "id", "scorer"),
    "project_prompts": ("catalog", "project", "project_id", "prompt"),
    "project_functions": ("catalog", "project", "project_id", "scorer"),
}
SPAN_SOURCES = ("project_logs", "experiment")


@dataclass
class ResolvedSource:
    """The view, the filter column, the resolved ids and (for catalog sources) the row kind."""

    name: str
    view: str
    column: str
    ids: list[str]
    row_kind: str | None
    shape: str


def _err(code: str, message: str, node: Any, hint: str | None = None) -> BtqlError:
    return BtqlError.at("bind", code, message, getattr(node, "span", None), hint)


# (workspace key, kind, reference, project id) -> resolved id; the executor clears it when the workspace changes.
RESOLVED: dict[tuple, str] = {}


def resolve_project(con: Any, project: str | None, cache_key: Any = None) -> str | None:
    """The id of the current project given by name or id (None when not given)."""
    if project is None:
        return None
    hit = RESOLVED.get((cache_key, "project", project, None)) if cache_key is not None else None
    if hit is not None:
        return hit
    rows = con.execute("SELECT id FROM catalog WHERE kind = 'project' AND (id = $1 OR name = $1)", [project]).fetchall()
    if not rows:
        names = [r[0] for r in con.execute("SELECT name FROM catalog WHERE kind = 'project'").fetchall()]
        close = difflib.get_close_matches(project, names, n=1)
        raise BtqlError("bind", "unknown_source", f"There is no project `{project}`.", hint=(
            f"Did you mean `{close[0]}`?" if close else f"Projects: {', '.join(sorted(names)) or 'none yet'}."))
    if cache_key is not None:
        RESOLVED[(cache_key, "project", project, None)] = rows[0][0]
    return rows[0][0]


def resolve_source(con: Any, src: A.Source | None, project_id: str | None, cache_key: Any = None) -> ResolvedSource:
    """Resolve `from:` (or the current project's logs when it is absent)."""
    if src is None:
        if project_id is None:
            raise BtqlError("bind", "missing_from", "The query has no data source.",
                            hint="Add from: project_logs('my-project'), or pick a project.")
        return ResolvedSource("project_logs", "project_logs", "project_id", [project_id], None, "spans")
    name = src.name.lower()
    if name not in SOURCES:
        close = difflib.get_close_matches(name, list(SOURCES), n=1)
        raise _err("unknown_source", f"Unknown data source `{src.name}`.", src,
                   hint=f"Did you mean `{close[0]}`?" if close else "Sources: " + ", ".join(SOURCES) + ".")
    view, arg_kind, column, row_kind = SOURCES[name]
    shape = src.shape or "spans"
    if shape != "spans" and name not in SPAN_SOURCES:
        raise _err("unsupported", f"The {shape} shape only applies to project_logs and experiment.", src)
    ids: list[str] = []
    args = src.args
    if not args:
        if arg_kind == "project" and project_id is not None:
            return ResolvedSource(name, view, column, [project_id], row_kind, shape)
        raise _err("missing_argument", f"{name}(…) needs at least one {arg_kind} name or id.", src,
                   hint=f"For example {name}('my-{arg_kind}').")
    for arg in args:
        if not isinstance(arg, A.Literal) or not isinstance(arg.value, str):
            raise _err("bad_argument", f"{name}(…) takes {arg_kind} names or ids in quotes.", arg)
        key = (cache_key, arg_kind, arg.value, project_id)
        hit = RESOLVED.get(key) if cache_key is not None else None
        if hit is None:
            hit = _resolve_object(con, arg_kind, arg.value, project_id, arg)
            if cache_key is not None:
                if len(RESOLVED) > 4096:
                    RESOLVED.clear()
                RESOLVED[key] = hit
        ids.append(hit)
    return ResolvedSource(name, view, column, ids, row_kind, shape)


def _resolve_object(con: Any, kind: str, ref: str, project_id: str | None, node: Any) -> str:
    rows = con.execute(
        "SELECT c.id, c.name, c.project_id, p.name FROM catalog c LEFT JOIN catalog p "
        "ON p.kind = 'project' AND p.id = c.project_id WHERE c.kind = $1 AND (c.id = $2 OR c.name = $2)",
        [kind, ref],
    ).fetchall()
    by_id = [r for r in rows if r[0] == ref]
    if by_id:
        return by_id[0][0]
    if project_id is not None and kind != "project":
        local = [r for r in rows if r[2] == project_id]
        rows = local or rows
    if len(rows) == 1:
        return rows[0][0]
    if len(rows) > 1:
        listing = "; ".join(f"{r[0]} (project {r[3] or r[2]})" for r in rows[:6])
        raise _err("ambiguous_source", f"More than one {kind} is named `{ref}`: {listing}.", node,
                   hint="Use the id instead of the name, or pick a project.")
    where = "" if project_id is None or kind == "project" else " AND project_id = $2"
    params = [kind] + ([project_id] if where else [])
    names = [r[0] for r in con.execute(f"SELECT name FROM catalog WHERE kind = $1{where}", params).fetchall()]
    close = difflib.get_close_matches(ref, names, n=1)
    raise _err("unknown_source", f"There is no {kind} named or with id `{ref}`.", node,
               hint=f"Did you mean `{close[0]}`?" if close else (
                   f"Known {kind}s: {', '.join(sorted(names)[:8])}." if names else f"There are no {kind}s yet."))
