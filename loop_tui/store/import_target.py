"""Where an import writes: the project and object it targets (planned, created only by its commit), and what
it wrote."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from loop_tui import clock
from loop_tui.errors import ConflictError, NotFoundError, UserError
from loop_tui.store import schema as sch

if TYPE_CHECKING:
    from loop_tui.store.workspace import Workspace


@dataclass(frozen=True)
class ImportResult:
    """What a committed import wrote."""

    xact: int
    rows: int  # rows stored (after keeping the last of each repeated id)
    duplicates: int  # lines dropped because a later line had the same id
    project_id: str
    object_id: str
    project_name: str = ""  # as stored (so the CLI's summary needs no query after the commit)


@dataclass(frozen=True)
class Target:
    """Where the rows go; `new_*` records are catalog rows this import creates (committed with the rows)."""

    table: str
    project_id: str
    object_id: str
    new_records: tuple[tuple[str, dict[str, Any]], ...] = ()  # (catalog kind, record)
    project_name: str = ""


def _catalog_record(kind: str, project_id: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """A new catalog object's row, as `CatalogMixin.save_object` makes one."""
    if not name.strip():
        raise UserError(f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} needs a non-empty name")
    object_id = sch.new_id()
    return {"id": object_id, "created": clock.now(), "kind": kind,
            "project_id": object_id if kind == "project" else project_id, "name": name.strip(),
            "data": sch.to_json_text(data)}


def resolve_target(ws: Workspace, table: str, project: str, name: str | None, description: dict[str, Any]) -> Target:
    """The project and object an import writes to (caller holds the writer lock); missing ones are planned,
    not created, so a failed import leaves no empty project or experiment behind."""
    new: list[tuple[str, dict[str, Any]]] = []
    project = project.strip()  # names are stored stripped: " p" is project p, not a second one named "p"
    try:
        found_project = ws.project(project)
        project_id, project_name = found_project.id, found_project.name
    except NotFoundError:
        record = _catalog_record("project", "", project, {})
        new.append(("project", record))
        project_id, project_name = record["id"], record["name"]
    if table == "project_logs":
        return Target(table, project_id, project_id, tuple(new), project_name)
    assert name is not None
    kind = table
    found = [] if new else ws.query("SELECT id FROM catalog WHERE kind = ? AND project_id = ? AND name = ?",
                                    [kind, project_id, name.strip()])
    if found:
        if kind == "experiment":
            raise ConflictError(f"an experiment named {name!r} already exists")
        return Target(table, project_id, found[0]["id"], tuple(new), project_name)
    record = _catalog_record(kind, project_id, name, description)
    new.append((kind, record))
    return Target(table, project_id, record["id"], tuple(new), project_name)
