"""Catalog objects: projects, experiments, datasets, prompts, scorers, playgrounds, conversations.

Objects live in the `catalog` table, versioned like rows: saving an object again appends a new
version (prompt and scorer history), and a delete is a tombstone that `undo` can reverse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from loop_tui import clock
from loop_tui.errors import ConflictError, NotFoundError, UserError
from loop_tui.store import schema as sch


@dataclass(frozen=True)
class CatalogObject:
    """A project, experiment, dataset, prompt, scorer, playground or conversation (latest version)."""

    id: str
    kind: str
    project_id: str
    name: str
    created: datetime
    data: dict[str, Any]
    xact_id: int


def object_from_record(record: dict[str, Any]) -> CatalogObject:
    return CatalogObject(
        id=record["id"],
        kind=record["kind"],
        project_id=record["project_id"],
        name=record["name"],
        created=record["created"],
        data=json.loads(record["data"]) if record["data"] else {},
        xact_id=int(record["_xact_id"]),
    )



class CatalogMixin:
    """The catalog half of `Workspace` (needs its `query`, `_write_lock` and `_commit`)."""

    query: Any
    _write_lock: Any
    _commit: Any

    def projects(self) -> list[CatalogObject]:
        """All projects, by name."""
        rows = self.query("SELECT * FROM catalog WHERE kind = 'project' ORDER BY name")
        return [object_from_record(r) for r in rows]

    def project(self, name_or_id: str) -> CatalogObject:
        """A project by name or id (names are stored without the spaces around them, so a name is looked up so)."""
        rows = self.query(
            "SELECT * FROM catalog WHERE kind = 'project' AND (id = ? OR name = ?)", [name_or_id, name_or_id.strip()]
        )
        if not rows:
            names = ", ".join(p.name for p in self.projects()) or "none yet"
            raise NotFoundError(f"no project named {name_or_id!r} (projects: {names})")
        return object_from_record(rows[0])

    def create_project(self, name: str, data: dict[str, Any] | None = None) -> CatalogObject:
        """Create a project (names are unique)."""
        return self.save_object("project", "", name, data or {})

    def ensure_project(self, name_or_id: str, data: dict[str, Any] | None = None) -> tuple[CatalogObject, bool]:
        """The project named (or with id) `name_or_id`, created if missing; True when this call created it.

        Look-up and creation happen under the writer lock, so processes racing to create it all get the one.
        """
        with self._write_lock():
            try:
                return self.project(name_or_id), False
            except NotFoundError:
                return self.create_project(name_or_id, data), True

    def ensure_object(
        self, kind: str, project_id: str, name: str, data: dict[str, Any] | None = None
    ) -> tuple[CatalogObject, bool]:
        """The `kind` object named `name` in a project, created if missing (atomically, as `ensure_project`)."""
        self._check_kind(kind)
        with self._write_lock():
            rows = self.query(
                "SELECT * FROM catalog WHERE kind = ? AND project_id = ? AND name = ?", [kind, project_id, name.strip()]
            )
            if rows:
                return object_from_record(rows[0]), False
            return self.save_object(kind, project_id, name, data or {}), True

    def objects(self, kind: str, project_id: str) -> list[CatalogObject]:
        """All objects of `kind` in a project, newest first."""
        self._check_kind(kind)
        rows = self.query(
            "SELECT * FROM catalog WHERE kind = ? AND project_id = ? ORDER BY created DESC, name", [kind, project_id]
        )
        return [object_from_record(r) for r in rows]

    def get_object(self, kind: str, project_id: str, name_or_id: str) -> CatalogObject:
        """One object by name or id within a project."""
        self._check_kind(kind)
        rows = self.query(
            "SELECT * FROM catalog WHERE kind = ? AND project_id = ? AND (id = ? OR name = ?)",
            [kind, project_id, name_or_id, name_or_id],
        )
        if not rows:
            names = ", ".join(o.name for o in self.objects(kind, project_id)[:10]) or "none yet"
            raise NotFoundError(f"no {kind} named {name_or_id!r} in this project ({kind}s: {names})")
        return object_from_record(rows[0])

    def object_by_id(self, object_id: str) -> CatalogObject:
        """Any catalog object by id."""
        rows = self.query("SELECT * FROM catalog WHERE id = ?", [object_id])
        if not rows:
            raise NotFoundError(f"no object with id {object_id!r}")
        return object_from_record(rows[0])

    def object_versions(self, object_id: str) -> list[CatalogObject]:
        """Every saved version of an object (prompts, scorers), newest first."""
        rows = self.query(
            "SELECT * FROM catalog_history WHERE id = ? AND NOT _object_delete ORDER BY _xact_id DESC", [object_id]
        )
        return [object_from_record(r) for r in rows]

    def save_object(
        self, kind: str, project_id: str, name: str, data: dict[str, Any], id: str | None = None
    ) -> CatalogObject:
        """Create an object, or save a new version of the object `id`. Names are unique per project and kind."""
        self._check_kind(kind)
        if not isinstance(name, str) or not name.strip():
            raise UserError(f"a {kind} needs a non-empty name")
        name = name.strip()
        try:
            data_text = sch.to_json_text(data)
        except (TypeError, ValueError) as exc:
            raise UserError(f"{kind} {name!r} has data that is not JSON-serialisable ({exc})") from None
        with self._write_lock():
            # One query finds both a clash (another object with this name) and the version being replaced.
            scope = "TRUE" if kind == "project" else "project_id = ?"  # project names are global
            params = [kind, name, id] if kind == "project" else [kind, name, id, project_id]
            found = self.query(
                "SELECT id, created FROM catalog "
                f"WHERE (kind = ? AND name = ? AND id IS DISTINCT FROM ? AND {scope}) OR id = ?",
                [*params, id],
            )
            if any(r["id"] != id for r in found):
                raise ConflictError(f"a {kind} named {name!r} already exists; choose another name")
            previous = [r for r in found if r["id"] == id]
            object_id = id or sch.new_id()
            created = previous[0]["created"] if previous else clock.now()
            record = {
                "id": object_id,
                "created": created,
                "kind": kind,
                "project_id": object_id if kind == "project" else project_id,
                "name": name,
                "data": data_text,
            }
            xact = self._commit("catalog", kind, [record], updates=bool(previous), op="save", description=f"{kind} {name}")
        # Built from what was written rather than read back: a read would re-list the catalog's files.
        # `created` is shown in local time, as the store's queries return it.
        return object_from_record({**record, "created": created.astimezone(), "_xact_id": xact})

    def delete_object(self, object_id: str) -> int:
        """Delete a catalog object (a tombstone; undo restores it). Its rows stay in history."""
        with self._write_lock():
            obj = self.object_by_id(object_id)
            record = self.query("SELECT * FROM catalog WHERE id = ?", [object_id])[0]
            record.pop("_xact_id", None)
            return self._commit(
                "catalog", obj.kind, [record], updates=True, deleted=True, op="delete", description=f"{obj.kind} {obj.name}"
            )


    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in sch.OBJECT_KINDS:
            raise UserError(f"unknown object kind {kind!r}; use one of {', '.join(sch.OBJECT_KINDS)}")
