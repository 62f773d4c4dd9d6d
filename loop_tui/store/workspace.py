"""The workspace: one folder of Parquet segments, read through DuckDB, written append-only.

`Workspace` is the only way the rest of Loop TUI touches stored data. Reads go through DuckDB views
(`connect()`); writes go through `insert_rows` / `update_rows` / `delete_rows` / `save_object`, each one
transaction: validated first (a bad row raises `UserError` and writes nothing), then committed as
immutable segments under the writer lock, stamped with one monotonic `_xact_id` that `undo` reverses.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui.errors import ConflictError, NotFoundError, UserError
from loop_tui.store import schema as sch
from loop_tui.store.batch import ColumnBatch
from loop_tui.store.catalog import CatalogMixin
from loop_tui.store.segments import (
    FORMAT_VERSION,
    MARKER,
    WriterLock,
    append_xact_log,
    atomic_write_bytes,
    current_generation,
    next_xact_id,
    write_segment,
)
from loop_tui.store.views import ensure_empty_segments, view_statements

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


class Workspace(CatalogMixin):
    """A workspace folder. Thread-safe for reads; writes are serialised across threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = WriterLock(root / ".lock")
        self._thread_lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._con_generation = -1
        self._con_views: list[str] = []  # the view statements the shared connection last ran

    # ----- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Workspace:
        """Open (and with `create`, initialise) the workspace at `path`."""
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise UserError(f"workspace path {root} is a file, not a folder; pass a folder with --workspace")
        marker = root / MARKER
        if not marker.exists():
            if root.exists() and any(p for p in root.iterdir() if not p.name.startswith(".")):
                raise UserError(
                    f"{root} is not a Loop TUI workspace (no {MARKER}); pass an empty or new folder with --workspace"
                )
            if not create:
                raise UserError(f"no workspace at {root}; create one with `loop-tui demo --workspace {root}`")
            root.mkdir(parents=True, exist_ok=True)
            ensure_empty_segments(root)
            atomic_write_bytes(marker, json.dumps({"format": FORMAT_VERSION}).encode())
        else:
            try:
                fmt = json.loads(marker.read_text()).get("format")
            except (json.JSONDecodeError, OSError):
                raise UserError(f"{marker} is damaged; restore it or point --workspace elsewhere") from None
            if fmt != FORMAT_VERSION:
                raise UserError(f"workspace {root} has format {fmt}, this version reads {FORMAT_VERSION}")
            ensure_empty_segments(root)
        return cls(root)

    # ----- reading -------------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """Changes whenever anything is committed (by any process)."""
        return current_generation(self.root)

    def connect(self, *, sandboxed: bool = False) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection with the workspace views.

        `sandboxed` locks the connection down for user queries (BTQL): no file or network access
        outside the workspace tables, and the configuration cannot be changed back.
        """
        import duckdb

        con = duckdb.connect(":memory:")
        self.refresh(con)
        if sandboxed:
            tables = str(self.root / "tables") + "/"
            con.execute(f"SET allowed_directories = ['{tables.replace(chr(39), chr(39) * 2)}']")
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET enable_progress_bar = false")  # never draw on the user's terminal
            con.execute("SET TimeZone = 'UTC'")  # time buckets are UTC; tz_offset shifts them explicitly
            con.execute("SET lock_configuration = true")
        return con

    def refresh(self, con: duckdb.DuckDBPyConnection, applied: list[str] | None = None) -> list[str]:
        """(Re)create the views on `con` so it sees everything committed so far; returns the statements.

        With `applied` (what an earlier refresh of `con` returned), only views whose file lists changed
        are recreated: creating a view reads the footer of every file it lists, so after a write to one
        experiment, re-binding the logs and dataset views too was most of the cost of the next query.
        """
        statements = view_statements(self.root)
        for n, statement in enumerate(statements):
            if applied is None or n >= len(applied) or applied[n] != statement:
                con.execute(statement)
        return statements

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run a read query on the store's own up-to-date connection; rows as dicts."""

        def run(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            cur = con.execute(sql, params or [])
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

        return self._with_connection(run)

    def query_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Like `query`, returning a pyarrow Table."""
        return self._with_connection(lambda con: con.sql(sql, params=params or None).to_arrow_table())

    def _with_connection(self, fn: Any) -> Any:
        import duckdb

        with self._thread_lock:
            try:
                return fn(self._shared_connection())
            except duckdb.IOException:
                # Another process compacted segments away under our views: re-list the files once.
                self._con_generation = -1
                self._con_views = []
                return fn(self._shared_connection())

    def _shared_connection(self) -> duckdb.DuckDBPyConnection:
        generation = self.generation
        if self._con is None:
            import duckdb

            self._con = duckdb.connect(":memory:")
        if generation != self._con_generation:
            self._con_views = self.refresh(self._con, self._con_views)
            self._con_generation = generation
        return self._con

    def read_rows(self, table: str, object_id: str) -> pa.Table:
        """The latest rows of one object (experiment, dataset, or a project's logs), oldest first."""
        self._check_table(table)
        col = sch.TABLES[table][1]
        return self.query_arrow(f"SELECT * FROM {table} WHERE {col} = ? ORDER BY created, id", [object_id])

    # ----- rows ----------------------------------------------------------------------------------
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
        records = self._normalize(table, upserts)
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
                current = self.current_rows(table, object_id, delete_ids)
                missing = [i for i in delete_ids if i not in current]
                if missing:
                    raise NotFoundError(f"no row with id {missing[0]!r} to delete")
                tombstones = self._normalize(table, [current[i] for i in delete_ids])
            for tombstone in tombstones:
                tombstone["_object_delete"] = True
            updates = bool(tombstones) or bool(self._existing_ids(table, object_id, [r["id"] for r in records]))
            return self._commit_rows(table, object_id, project_id, records + tombstones, updates, "edit", description)

    def undo(self, xact_id: int) -> int:
        """Restore what the write `xact_id` changed, as a new write. Returns the new xact id."""
        from loop_tui.store.history import undo

        with self._write_lock():
            return undo(self, int(xact_id))

    def history(
        self, table: str | None = None, object_id: str | None = None, row_id: str | None = None, limit: int = 100
    ) -> list[Any]:
        """What each write did, newest first; with `row_id`, every version of that row."""
        from loop_tui.store.history import history

        return history(self, table, object_id, row_id, limit)

    def compact(self, table: str | None = None) -> int:
        """Fold each object's segments into one file (history kept). Returns how many objects changed."""
        from loop_tui.store.history import compact

        with self._write_lock():
            return compact(self, table)

    # ----- internals -----------------------------------------------------------------------------
    def _write_lock(self) -> Any:
        return _CombinedLock(self._thread_lock, self._lock)

    @staticmethod
    def _check_table(table: str) -> None:
        if table not in sch.DATA_TABLES:
            raise UserError(f"unknown table {table!r}; use one of {', '.join(sch.DATA_TABLES)}")

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
        xact: int | None = None,
    ) -> int:
        """Write one segment (caller holds the write lock) and log it.

        `deleted` marks every record a tombstone; a caller mixing rows and tombstones (an edit, an undo)
        sets `_object_delete` on each record itself. `xact` lets several segments share one transaction.
        """
        xact = xact or next_xact_id(self.root)
        for record in records:
            record["_xact_id"] = xact
            record["_object_delete"] = record.get("_object_delete") or deleted
        ids = [r["id"] for r in records[:200]]
        return self._write(table, object_id, sch.to_arrow(table, records), ids, xact, updates or deleted, op, description)

    def _write(
        self, table: str, object_id: str, data: pa.Table, ids: list[str], xact: int, updates: bool, op: str,
        description: str,
    ) -> int:
        """Write one segment of `data` (already stamped with `xact`) and record the write in the log."""
        write_segment(self.root, table, object_id, data, xact, updates)
        append_xact_log(
            self.root,
            {
                "xact": xact,
                "time": time.time(),
                "table": table,
                "object_id": object_id,
                "op": op,
                "count": data.num_rows,
                "ids": ids[:200],
                "description": description,
            },
        )
        return xact


class _CombinedLock:
    """Hold the in-process lock, then the cross-process file lock."""

    def __init__(self, thread_lock: threading.RLock, file_lock: WriterLock) -> None:
        self._thread_lock = thread_lock
        self._file_lock = file_lock
        self._cm: Any = None

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            self._cm = self._file_lock.hold()
            self._cm.__enter__()
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            self._cm.__exit__(*exc)
        finally:
            self._thread_lock.release()
