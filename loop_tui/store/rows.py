"""The row half of `Workspace`: insert, append, update, delete and edit rows, each one transaction.

Every write validates first (a bad row raises `UserError` and writes nothing), then writes one immutable
segment under the writer lock, stamped with one monotonic `_xact_id`, and commits it with one line in the
transaction log (`txlog`), so `undo` can reverse it. Rows sharing an id within one write: the last one wins,
as in Braintrust's own merge of a batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui import clock
from loop_tui.errors import ConflictError, NotFoundError, UserError
from loop_tui.store import schema as sch
from loop_tui.store.batch import ColumnBatch
from loop_tui.store.failures import WriteFailed
from loop_tui.store.segments import next_xact_id, write_segment
from loop_tui.store.txlog import append_entry

if TYPE_CHECKING:
    import pyarrow as pa

# One segment of a write: (table, object id, rows stamped with the xact, first ids, has updates).
SegmentPart = tuple[str, str, "pa.Table", list[str], bool]


def last_wins(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep, of rows sharing an id, only the last one (at its own position)."""
    last = {r["id"]: n for n, r in enumerate(records)}
    if len(last) == len(records):
        return records
    return [r for n, r in enumerate(records) if last[r["id"]] == n]


class RowsMixin:
    """Row writes for `Workspace` (needs its `root`, `query`, `_write_lock` and `_check_table`)."""

    root: Path
    query: Any
    _write_lock: Any
    _check_table: Any

    def insert_rows(
        self, table: str, object_id: str, rows: Iterable[dict[str, Any]], *, project_id: str, description: str = ""
    ) -> int:
        """Add rows (Braintrust format) to an object; a row whose id exists replaces it. Returns the xact id."""
        self._check_table(table)
        return self.append_rows(table, object_id, self._normalize(table, rows), project_id=project_id,
                                description=description)

    def append_rows(
        self,
        table: str,
        object_id: str,
        records: list[dict[str, Any]],
        *,
        project_id: str,
        op: str = "insert",
        description: str = "",
        new_ids_only: bool = False,
    ) -> int:
        """Write rows already validated by `schema.normalize_*` (import, generators) as one transaction.

        `new_ids_only` skips the lookup of existing ids, for callers that just minted every id.
        """
        self._check_table(table)
        if not records:
            raise UserError("nothing to write: no rows given")
        records = last_wins(records)
        with self._write_lock():
            updates = False if new_ids_only else bool(self._existing_ids(table, object_id, [r["id"] for r in records]))
            return self._commit_rows(table, object_id, project_id, records, updates, op, description)

    def append_batch(self, batch: ColumnBatch, object_id: str, *, project_id: str, description: str = "") -> int:
        """Write a `ColumnBatch` of rows with ids no other row of the object has (an eval run's spans)."""
        self._check_table(batch.table)
        if not len(batch):
            raise UserError("nothing to write: no rows given")
        object_col = sch.TABLES[batch.table][1]
        with self._write_lock():
            xact = next_xact_id(self.root)
            data = batch.to_arrow(**{"project_id": project_id, object_col: object_id, "_xact_id": xact,
                                     "_object_delete": False})
            return self._write(batch.table, object_id, data, batch.ids[:200], xact, False, "insert", description)

    def update_rows(
        self, table: str, object_id: str, rows: Iterable[dict[str, Any]], *, project_id: str, description: str = ""
    ) -> int:
        """Update existing rows: the fields given replace the stored ones, the rest are kept."""
        self._check_table(table)
        patches = list(rows)
        if not patches:
            raise UserError("nothing to write: no rows given")
        for n, patch in enumerate(patches, 1):
            if not isinstance(patch, dict) or not patch.get("id"):
                raise UserError(f"row {n}: an update needs the `id` of an existing row")
        with self._write_lock():
            current = self.current_rows(table, object_id, [str(p["id"]) for p in patches])
            merged = []
            for patch in patches:
                base = current.get(str(patch["id"]))
                if base is None:
                    raise NotFoundError(f"no row with id {patch['id']!r} to update")
                merged.append({**base, **patch})
            records = self._normalize(table, merged)
            return self._commit_rows(table, object_id, project_id, records, True, "update", description)

    def delete_rows(
        self, table: str, object_id: str, ids: Iterable[str], *, project_id: str, description: str = ""
    ) -> int:
        """Delete rows by id (tombstones; `undo` brings them back)."""
        self._check_table(table)
        wanted = [str(i) for i in ids]
        if not wanted:
            raise UserError("nothing to delete: no ids given")
        with self._write_lock():
            current = self.current_rows(table, object_id, wanted)
            missing = [i for i in wanted if i not in current]
            if missing:
                raise NotFoundError(f"no row with id {missing[0]!r} to delete")
            records = self._normalize(table, [current[i] for i in wanted])
            return self._commit_rows(table, object_id, project_id, records, True, "delete", description, deleted=True)

    def apply_changes(
        self,
        table: str,
        object_id: str,
        *,
        upserts: Iterable[dict[str, Any]] = (),
        deletes: Iterable[str] = (),
        project_id: str,
        description: str = "",
        expected_versions: dict[str, int | str] | None = None,
    ) -> int:
        """Upsert and delete rows in ONE transaction (one segment, one xact id, one undo).

        `expected_versions` (row id -> the `_xact_id` the caller saw, or "" for "must not exist") makes
        the write optimistic: if any of those rows changed since, nothing is written and a
        `ConflictError` names the row. The check and the write happen under the writer lock.
        """
        self._check_table(table)
        records = last_wins(self._normalize(table, upserts))
        delete_ids = [str(i) for i in deletes]
        if not records and not delete_ids:
            raise UserError("nothing to write: no rows given")
        with self._write_lock():
            if expected_versions:
                now = self.current_rows(table, object_id, list(expected_versions))
                for row_id, seen in expected_versions.items():
                    current = str(now[row_id]["_xact_id"]) if row_id in now else ""
                    if current != str(seen or ""):
                        raise ConflictError(f"row {row_id!r} changed since it was read; nothing was written")
            tombstones: list[dict[str, Any]] = []
            if delete_ids:
                existing = self.current_rows(table, object_id, delete_ids)
                missing = [i for i in delete_ids if i not in existing]
                if missing:
                    raise NotFoundError(f"no row with id {missing[0]!r} to delete")
                tombstones = self._normalize(table, [existing[i] for i in delete_ids])
            for tombstone in tombstones:
                tombstone["_object_delete"] = True
            updates = bool(tombstones) or bool(self._existing_ids(table, object_id, [r["id"] for r in records]))
            return self._commit_rows(table, object_id, project_id, records + tombstones, updates, "edit", description)


    # ----- internals -----------------------------------------------------------------------------
    @staticmethod
    def _normalize(table: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        normalize = sch.normalize_dataset_row if table == "dataset" else sch.normalize_span
        return [normalize(row, f"row {n}") for n, row in enumerate(rows, 1)]

    def _existing_ids(self, table: str, object_id: str, ids: list[str]) -> set[str]:
        col = sch.TABLES[table][1]
        rows = self.query(
            f"SELECT DISTINCT id FROM {table}_history WHERE {col} = ? AND id IN (SELECT unnest(?::VARCHAR[]))",
            [object_id, ids],
        )
        return {r["id"] for r in rows}

    def current_rows(self, table: str, object_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The latest version of the given rows of one object, by id, in Braintrust's row format."""
        if not ids:
            return {}
        col = sch.TABLES[table][1]
        found = self.query(
            f"SELECT * FROM {table} WHERE {col} = ? AND id IN (SELECT unnest(?::VARCHAR[]))", [object_id, ids]
        )
        return {r["id"]: sch.row_to_braintrust(table, r) for r in found}

    def _commit_rows(
        self,
        table: str,
        object_id: str,
        project_id: str,
        records: list[dict[str, Any]],
        updates: bool,
        op: str,
        description: str,
        deleted: bool = False,
    ) -> int:
        col = sch.TABLES[table][1]
        for record in records:
            record["project_id"] = project_id
            record[col] = object_id
        return self._commit(table, object_id, records, updates=updates, deleted=deleted, op=op, description=description)

    def _commit(
        self,
        table: str,
        object_id: str,
        records: list[dict[str, Any]],
        *,
        updates: bool,
        op: str,
        description: str,
        deleted: bool = False,
    ) -> int:
        """Write one segment and commit it (caller holds the write lock).

        `deleted` marks every record a tombstone; a caller mixing rows and tombstones (an edit, an undo)
        sets `_object_delete` on each record itself.
        """
        xact = next_xact_id(self.root)
        return self._commit_parts([self._part(table, object_id, records, xact, updates=updates, deleted=deleted)],
                                  xact, op, description)

    @staticmethod
    def _part(table: str, object_id: str, records: list[dict[str, Any]], xact: int, *, updates: bool,
              deleted: bool = False) -> SegmentPart:
        """Stamp records with `xact` and turn them into one segment of a transaction."""
        for record in records:
            record["_xact_id"] = xact
            record["_object_delete"] = record.get("_object_delete") or deleted
        ids = [r["id"] for r in records[:200]]
        return (table, object_id, sch.to_arrow(table, records), ids, updates or deleted)

    def _write(
        self, table: str, object_id: str, data: pa.Table, ids: list[str], xact: int, updates: bool, op: str,
        description: str,
    ) -> int:
        """Write one segment of `data` (already stamped with `xact`) and commit it."""
        return self._commit_parts([(table, object_id, data, ids, updates)], xact, op, description)

    def _commit_parts(self, parts: list[SegmentPart], xact: int, op: str, description: str) -> int:
        """Write every segment of one transaction, then commit them all with one log line (caller holds the lock).

        Until that line exists no reader lists the segments; if it cannot be written they are removed and
        `WriteFailed` says nothing was written.
        """
        written = []
        try:
            for table, object_id, data, _ids, updates in parts:
                written.append(write_segment(self.root, table, object_id, data, xact, updates))
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        described = [
            {"table": table, "object_id": object_id, "count": data.num_rows, "ids": ids[:200], "segment": path.name}
            for (table, object_id, data, ids, _updates), path in zip(parts, written, strict=True)
        ]
        entry: dict[str, Any] = {"xact": xact, "time": clock.timestamp(), "op": op, "description": description}
        if len(described) == 1:
            entry.update(described[0])
        else:
            entry["parts"] = described
        try:
            append_entry(self.root, entry)
        except WriteFailed:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return xact
