"""One import as one transaction, written batch by batch: bounded memory, all-or-nothing.

`StreamingImport` holds the writer lock from start to end. Batches of normalised rows (Arrow tables in
the table's schema, without the store's own columns) go straight into ONE segment file, written row
group by row group to a hidden temp file; nothing is visible until `commit` appends the one
transaction-log line naming it (with the project or object the import creates, if any, as parts of the
same line). A failed import removes its temp file; a killed one leaves only a temp file that the next
writer sweeps away (`segments.leftover_temp_files`). Rows sharing an id keep the last one, as
`rows.last_wins` does for an in-memory write; that pass runs in DuckDB over the written file, so it is
bounded by DuckDB's memory limit, not by the import's size.

Span segments carry typed copies of their score and metric maps (`store.typed`), with a field for every
key of the segment. They are computed as each row group is written, with the keys of the first row group;
only when a later row brings a key the first row group lacked (or ids repeat) is the file rewritten at
commit, once, with every key: the extra pass over the file cost a quarter of an import's time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui import clock
from loop_tui.errors import UserError
from loop_tui.store import schema as sch
from loop_tui.store.failures import WriteFailed
from loop_tui.store.import_ids import IdHashes
from loop_tui.store.import_target import ImportResult, Target
from loop_tui.store.segments import (
    crash_point,
    dictionary_columns,
    fsync_dir,
    next_xact_id,
    segment_compression,
    segment_dir,
    segment_name,
    write_segment,
)
from loop_tui.store.txlog import append_entry
from loop_tui.store.typed import TYPED, TYPED_TABLES, map_keys, with_typed_columns

if TYPE_CHECKING:
    import pyarrow as pa

    from loop_tui.store.workspace import Workspace

ROW_GROUP_ROWS = 128 * 1024  # as `segments.write_segment` writes them
ROW_GROUP_BYTES = 48 << 20  # ...or fewer rows when they are big: memory is bounded by bytes, not rows
# Near the end of the file (by `rows_expected`), row groups of a quarter of the size: the row group written
# after the reading ends is written while nothing else runs, and a whole one cost ~0.2 s of a 2.5 s import.
LAST_ROW_GROUPS_ROWS = ROW_GROUP_ROWS // 4
DICTIONARY_SAMPLE_ROWS = 32 * 1024  # rows of the first row group that choose the dictionary columns
DUCKDB_MEMORY = "256MB"  # the de-duplication pass spills to disk past this


class StreamingImport:
    """Write an import's batches into one uncommitted segment, then commit it with one log line.

    Use as a context manager around the whole import: it holds the writer lock, and leaving the block
    without `commit` (an error, Ctrl-C) removes everything written.
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._lock = ws._write_lock()
        self.xact = 0
        self.target: Target | None = None
        self._tmp: Path | None = None
        self._writer: Any = None
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._pending_bytes = 0
        self._pool: Any = None  # one thread writes row groups while the next batches are read
        self._in_flight: Any = None
        self.rows_written = 0
        self._first_ids: list[str] = []
        self._id_hashes = IdHashes()  # tells at commit, most often, that no id repeats
        self._map_keys: dict[str, set[str]] = {}  # every score/metric key of the rows added so far
        self._typed_keys: dict[str, set[str]] | None = None  # the fields of the written typed copies
        self._retype = False  # a row added after the first row group has a key the typed copies lack
        self._dictionary: list[str] | None = None
        self.rows_expected: int | None = None  # an estimate of the import's rows (from the file's size), if known

    def __enter__(self) -> StreamingImport:
        self._lock.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.discard()
        finally:
            self._lock.__exit__(*exc)

    def start(self, target: Target) -> None:
        """Take the transaction id and open the segment's temp file."""
        self.target = target
        self.xact = next_xact_id(self.ws.root)
        folder = segment_dir(self.ws.root, target.table, target.object_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WriteFailed(f"could not write a segment in {folder} ({exc.strerror}); nothing was written") from None
        self._tmp = folder / f".tmp-{self.xact}-{os.getpid()}.parquet.part"

    def restart(self) -> None:
        """Throw away what was written so far and start the segment again (same transaction)."""
        self._close_writer()
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
        self._pending, self._pending_rows, self._pending_bytes, self.rows_written, self._first_ids = [], 0, 0, 0, []
        self._id_hashes.forget()
        self._map_keys, self._typed_keys, self._retype, self._dictionary = {}, None, False, None

    def add(self, batch: pa.Table) -> None:
        """Append normalised rows (table schema columns, store columns may be absent)."""
        import pyarrow as pa

        assert self.target is not None, "start() first"
        if not batch.num_rows:
            return
        self._id_hashes.add(batch)
        stamped = _stamp(batch, self.target, self.xact)
        if self.target.table in TYPED_TABLES:  # every key the segment's typed copies need
            for source in TYPED:
                keys = map_keys(stamped.column(source))
                self._map_keys.setdefault(source, set()).update(keys)
                if self._typed_keys is not None and not keys <= self._typed_keys[source]:
                    self._retype = True
        if len(self._first_ids) < 200:
            self._first_ids.extend(stamped.column("id").slice(0, 200 - len(self._first_ids)).to_pylist())
        self._pending.append(stamped)
        self._pending_rows += stamped.num_rows
        self._pending_bytes += stamped.nbytes
        self.rows_written += stamped.num_rows
        if self._pending_rows >= self._row_group_rows() or self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush(pa.concat_tables(self._pending))
        crash_point("import-batch")  # tests: killed mid-import

    def _row_group_rows(self) -> int:
        """Rows that make a row group now: fewer once fewer than a whole row group's are expected to come."""
        if self.rows_expected is not None and self.rows_expected - self.rows_written < ROW_GROUP_ROWS:
            return min(ROW_GROUP_ROWS, LAST_ROW_GROUPS_ROWS)
        return ROW_GROUP_ROWS

    def _flush(self, data: pa.Table) -> None:
        """Hand one row group to the writer thread (after the previous one is written: two at most in memory)."""
        from concurrent.futures import ThreadPoolExecutor

        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        self._wait_for_writer()
        if self._typed_keys is None and self.target is not None and self.target.table in TYPED_TABLES:
            # The first row group's keys (every batch so far is in it) fix the fields of the typed copies.
            self._typed_keys = {source: set(self._map_keys.get(source, ())) for source in TYPED}
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
        self._in_flight = self._pool.submit(self._write_row_group, data)

    def _write_row_group(self, data: pa.Table) -> None:
        if self._typed_keys is not None:
            data = with_typed_columns(data, self._typed_keys)
        if self._writer is None:
            assert self._tmp is not None
            self._writer = self._open_writer(self._tmp, data)
        self._writer.write_table(data, row_group_size=ROW_GROUP_ROWS)

    def _open_writer(self, path: Path, first: pa.Table) -> Any:
        """A Parquet writer with the codecs and dictionaries `segments.write_segment` picks (snappy numbers
        decode faster than zstd for BTQL), the dictionaries chosen once from the first rows."""
        import pyarrow.parquet as pq

        if self._dictionary is None:
            self._dictionary = dictionary_columns(first.slice(0, DICTIONARY_SAMPLE_ROWS))
        return pq.ParquetWriter(path, first.schema, compression=segment_compression(first.schema),
                                use_dictionary=self._dictionary)

    def _wait_for_writer(self) -> None:
        if self._in_flight is not None:
            future, self._in_flight = self._in_flight, None
            try:
                future.result()
            except OSError as exc:
                raise WriteFailed(f"could not write a segment ({exc.strerror}); nothing was written") from None

    def _close_writer(self) -> None:
        try:
            self._wait_for_writer()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
            if self._writer is not None:
                writer, self._writer = self._writer, None
                writer.close()

    def commit(self, op: str, description: str) -> ImportResult:
        """Make the import visible: one transaction-log line naming its segment (and new catalog objects)."""
        import pyarrow as pa

        target = self.target
        if target is None or not self.rows_written:
            raise UserError("nothing to write: no rows given")
        if self._pending:
            self._flush(pa.concat_tables(self._pending))
        assert self._tmp is not None
        try:
            self._close_writer()
            with open(self._tmp, "rb") as fh:
                os.fsync(fh.fileno())
            rows, duplicates = self._keep_last_of_each_id()  # these passes write the segment again: the disk
            if not duplicates and self._retype:  # may fill up in them too
                self._add_typed_copies()
        except OSError as exc:
            raise WriteFailed(f"could not write a segment ({exc.strerror}); nothing was written") from None
        updates = not target.new_records and self._touches_existing_rows()
        folder = segment_dir(self.ws.root, target.table, target.object_id)
        final = folder / segment_name(self.xact, updates)
        written: list[Path] = []
        try:
            os.replace(self._tmp, final)
            self._tmp = None
            written.append(final)
            fsync_dir(folder)
            parts = []
            for kind, record in target.new_records:
                data = sch.to_arrow("catalog", [{**record, "_xact_id": self.xact, "_object_delete": False}])
                path = write_segment(self.ws.root, "catalog", kind, data, self.xact, False)
                written.append(path)
                parts.append({"table": "catalog", "object_id": kind, "count": 1, "ids": [record["id"]],
                              "segment": path.name})
            parts.append({"table": target.table, "object_id": target.object_id, "count": rows,
                          "ids": self._first_ids[:200], "segment": final.name})
            entry: dict[str, Any] = {"xact": self.xact, "time": clock.timestamp(), "op": op, "description": description}
            if len(parts) == 1:
                entry.update(parts[0])
            else:
                entry["parts"] = parts
            crash_point("import-before-commit")
            append_entry(self.ws.root, entry)
        except OSError as exc:
            for path in written:
                path.unlink(missing_ok=True)
            raise WriteFailed(f"could not write a segment ({exc.strerror}); nothing was written") from None
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise
        return ImportResult(self.xact, rows, duplicates, target.project_id, target.object_id, target.project_name)

    def discard(self) -> None:
        """Remove the uncommitted segment (nothing was committed, or the commit already moved it)."""
        try:
            self._close_writer()
        except Exception:  # noqa: BLE001 - the file is removed below either way
            self._writer = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None

    # ----- the passes over the written file -----------------------------------------------------
    def _duckdb(self) -> Any:
        import duckdb

        con = duckdb.connect(":memory:")
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        con.execute("SET preserve_insertion_order = true")
        return con

    def _keep_last_of_each_id(self) -> tuple[int, int]:
        """(rows kept, rows dropped): rows sharing an id keep only the last one, at its own position."""
        assert self._tmp is not None and self.target is not None
        if self._id_hashes.surely_distinct():
            return self.rows_written, 0
        con = self._duckdb()
        try:
            path = str(self._tmp)
            total, distinct = con.execute("SELECT count(*), count(DISTINCT id) FROM read_parquet(?)", [path]).fetchall()[0]
            if total == distinct:
                return total, 0
            columns = ", ".join(f'"{name}"' for name in sch.TABLES[self.target.table][0].names)
            reader = con.sql(
                f"SELECT {columns} FROM read_parquet($1, file_row_number = true) "
                "QUALIFY row_number() OVER (PARTITION BY id ORDER BY file_row_number DESC) = 1 ORDER BY file_row_number",
                params=[path]).to_arrow_reader(64 * 1024)
            self._rewrite(reader)
            self._first_ids = [r[0] for r in con.execute("SELECT id FROM read_parquet(?) LIMIT 200", [path]).fetchall()]
            return distinct, total - distinct
        finally:
            con.close()

    def _add_typed_copies(self) -> None:
        """Rewrite the segment with typed copies of every key of the file: some row after the first row
        group had a key the copies written with it lack (a reader would take its value for absent)."""
        import pyarrow.parquet as pq

        assert self._tmp is not None
        source = pq.ParquetFile(self._tmp)
        try:
            # Half a row group at a time keeps memory near the first pass's.
            self._rewrite(source.iter_batches(batch_size=ROW_GROUP_ROWS // 2))
        finally:
            source.close()

    def _rewrite(self, batches: Iterable[pa.RecordBatch]) -> None:
        """Replace the segment's temp file with `batches` (table columns; typed copies made from every key)."""
        import pyarrow as pa

        assert self._tmp is not None and self.target is not None
        schema = sch.TABLES[self.target.table][0]
        typed = self.target.table in TYPED_TABLES
        rewritten = self._tmp.with_name(".typed" + self._tmp.name)  # a leftover of a kill is swept like the temp file
        try:
            writer = None
            try:
                for batch in batches:
                    data = pa.Table.from_batches([batch]).select(schema.names).cast(schema)
                    if typed:
                        data = with_typed_columns(data, self._map_keys)
                    if writer is None:
                        writer = self._open_writer(rewritten, data)
                    writer.write_table(data, row_group_size=ROW_GROUP_ROWS)
            finally:
                if writer is not None:
                    writer.close()
            with open(rewritten, "rb") as fh:
                os.fsync(fh.fileno())
            os.replace(rewritten, self._tmp)
        except BaseException:
            rewritten.unlink(missing_ok=True)
            raise

    def _touches_existing_rows(self) -> bool:
        """Whether any imported id is already stored in the object (the segment then updates rows)."""
        assert self._tmp is not None and self.target is not None
        table, col = self.target.table, sch.TABLES[self.target.table][1]
        found = self.ws.query(
            f"SELECT 1 AS hit FROM {table}_history WHERE {col} = ? AND id IN (SELECT id FROM read_parquet(?)) LIMIT 1",
            [self.target.object_id, str(self._tmp)])
        return bool(found)


def _stamp(batch: pa.Table, target: Target, xact: int) -> pa.Table:
    """The batch in the table's full schema, with the store's columns set for this import."""
    import pyarrow as pa

    schema = sch.TABLES[target.table][0]
    object_col = sch.TABLES[target.table][1]
    constants = {"_xact_id": xact, "_object_delete": False, "project_id": target.project_id,
                 object_col: target.object_id}
    n = batch.num_rows
    columns = []
    for field in schema:
        if field.name in constants:
            columns.append(pa.repeat(pa.scalar(constants[field.name], field.type), n))
        elif field.name in batch.column_names:
            columns.append(batch.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(n, field.type))
    return pa.Table.from_arrays(columns, schema=schema)
