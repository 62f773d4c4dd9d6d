"""The workspace: one folder of Parquet segments, read through DuckDB, written append-only.

`Workspace` is the only way the rest of Loop TUI touches stored data. Reads go through DuckDB views
(`connect()`, `query`); row writes are in `rows.RowsMixin` and catalog objects in `catalog.CatalogMixin`,
each write one transaction: validated first (a bad row raises `UserError` and writes nothing), then
committed under the writer lock by one line in the transaction log (`txlog`), stamped with one monotonic
`_xact_id` that `undo` reverses. Opening, creating and upgrading a workspace are in `opening`.
"""

from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui.errors import UserError
from loop_tui.store import schema as sch
from loop_tui.store import txlog
from loop_tui.store.catalog import CatalogMixin
from loop_tui.store.failures import DamagedError
from loop_tui.store.health import Damage, damage_sentence, known_damage
from loop_tui.store.rows import RowsMixin
from loop_tui.store.segments import WriterLock, reader_lock
from loop_tui.store.views import BTQL_STATEMENT, STATEMENTS_PER_TABLE, table_of_statement, view_statements

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


def _query_mistakes() -> tuple[type[BaseException], ...]:
    import duckdb

    return (duckdb.ParserException, duckdb.BinderException, duckdb.CatalogException, duckdb.InterruptException,
            duckdb.ConstraintException)


class Workspace(RowsMixin, CatalogMixin):
    """A workspace folder. Thread-safe for reads; writes are serialised across threads and processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = WriterLock(root / ".lock")
        self._readers = reader_lock(root)
        self._reading = False  # whether this instance counts as a holder of the reader lock
        self._thread_lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._con_generation = -1
        self._con_views: list[str] = []  # the view statements the shared connection last ran
        self._damage: dict[tuple[str, str], Damage] = {}
        self._footer_checks: set[str] = set()  # tables whose views failed once: check their footers

    # ----- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> Workspace:
        """Open (and with `create`, initialise) the workspace at `path`."""
        from loop_tui.store.opening import prepare

        return cls(prepare(path, create=create))

    # ----- reading -------------------------------------------------------------------------------
    @property
    def generation(self) -> int:
        """Changes whenever anything is committed (by any process)."""
        self._hold_snapshots()  # before reading it: the files of the snapshot it names stay until we let go
        return txlog.generation(self.root)

    def _hold_snapshots(self) -> None:
        if not self._reading:
            self._reading = True
            self._readers.add_holder()
            weakref.finalize(self, self._readers.drop_holder)
        else:
            self._readers.ensure()

    def damaged(self) -> list[Damage]:
        """The damaged objects the last refresh found (each also fails the queries that reach it)."""
        return list(self._damage.values())

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
            # A page of rows (BTQL's default limit is 1,000) reads wide columns (input, output) only for the
            # rows it keeps; DuckDB's default does so only up to 50 rows.
            con.execute("SET GLOBAL late_materialization_max_rows = 1001")  # GLOBAL: cursors too
            # Segments never change once written: keep their footers between queries instead of re-reading
            # every file's metadata at each bind.
            con.execute("SET GLOBAL parquet_metadata_cache = true")
            con.execute("SET lock_configuration = true")
        return con

    def refresh(self, con: duckdb.DuckDBPyConnection, applied: list[str] | None = None, *,
                btql_views: bool = True) -> list[str]:
        """(Re)create the views on `con` so it sees everything committed so far; returns the statements.

        With `applied` (what an earlier refresh of `con` returned), only views whose file lists changed
        are recreated: creating a view reads the footer of every file it lists, so after a write to one
        experiment, re-binding the logs and dataset views too was most of the cost of the next query.
        A view that fails to bind has a damaged file: its table's files are checked, the damaged object
        is left out (see `views`), and the view is built again.
        """
        import duckdb

        self._hold_snapshots()  # before the snapshot: compaction keeps every file a reader may still use
        snap = txlog.snapshot(self.root)
        for _attempt in range(3):
            self._damage = known_damage(self.root, snap, check_footers=self._footer_checks)
            statements = view_statements(self.root, snap, self._damage, btql=btql_views)
            try:
                for n, statement in enumerate(statements):
                    if not btql_views and n % STATEMENTS_PER_TABLE == BTQL_STATEMENT:
                        continue  # the store's own queries never read BTQL's views (binding them costs ~0.1 s)
                    if applied is None or n >= len(applied) or applied[n] != statement:
                        con.execute(statement)
                return statements
            except duckdb.Error:
                table = table_of_statement(n)
                if table in self._footer_checks:
                    raise
                self._footer_checks.add(table)
                applied = None
        raise DamagedError(f"the workspace {self.root} could not be read; run `loop-tui doctor`")

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
                try:
                    return fn(self._shared_connection())
                except (duckdb.IOException, duckdb.InvalidInputException) as exc:
                    if damage_sentence(exc):
                        raise  # the query reached an object already known damaged: said below
                    # A file went missing or bad under our views: check footers and re-list the files once.
                    self._footer_checks.update(sch.TABLES)
                    self._con_generation = -1
                    self._con_views = []
                    return fn(self._shared_connection())
            except duckdb.Error as exc:
                sentence = damage_sentence(exc)
                if sentence:
                    raise DamagedError(sentence) from None
                if isinstance(exc, _query_mistakes()):  # errors of the SQL, not of the files
                    raise
                # Footers read fine, so the damage (if it is one) is inside a file: read each in full, once.
                if set(known_damage(self.root, txlog.snapshot(self.root), deep=True)) - set(self._damage):
                    self._con_generation = -1
                    try:
                        return fn(self._shared_connection())
                    except duckdb.Error as again:
                        sentence = damage_sentence(again)
                        if sentence:
                            raise DamagedError(sentence) from None
                        raise
                if isinstance(exc, duckdb.IOException):
                    detail = str(exc).splitlines()[0]
                    raise DamagedError(f"a segment of {self.root} could not be read ({detail}); "
                                       "run `loop-tui doctor` to find it") from None
                raise

    def _shared_connection(self) -> duckdb.DuckDBPyConnection:
        generation = self.generation
        if self._con is None:
            import duckdb

            self._con = duckdb.connect(":memory:")
            # DuckDB draws a progress bar on stdout for queries over 2 s: over the TUI's screen at 10M spans.
            self._con.execute("SET enable_progress_bar = false")
        if generation != self._con_generation:
            self._con_views = self.refresh(self._con, self._con_views, btql_views=False)
            self._con_generation = generation
        return self._con

    def read_rows(self, table: str, object_id: str, as_of: int | None = None) -> pa.Table:
        """The latest rows of one object (experiment, dataset, or a project's logs), oldest first; with `as_of`
        (a write's xact id), the rows as they were right after that write."""
        self._check_table(table)
        col = sch.TABLES[table][1]
        if as_of is None:
            return self.query_arrow(f"SELECT * FROM {table} WHERE {col} = ? ORDER BY created, id", [object_id])
        return self.query_arrow(
            f"SELECT * EXCLUDE (_object_delete) FROM (SELECT * FROM {table}_history WHERE {col} = ? AND _xact_id <= ? "
            "QUALIFY row_number() OVER (PARTITION BY id ORDER BY _xact_id DESC) = 1) "
            "WHERE NOT _object_delete ORDER BY created, id",
            [object_id, as_of],
        )

    # ----- history ---------------------------------------------------------------------------
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
        """Fold each object's segments into few large files (history kept). Returns how many objects changed.

        Damaged objects are left as they are (`compact_report` names them)."""
        return self.compact_report(table)[0]

    def compact_report(self, table: str | None = None, max_rows: int | None = None) -> tuple[int, list[Damage]]:
        """Like `compact` (new segments of at most `max_rows` rows), also returning the damaged objects it skipped."""
        from loop_tui.store.compact_stream import SEGMENT_ROWS
        from loop_tui.store.compaction import compact

        with self._write_lock():
            return compact(self, table, max_rows or SEGMENT_ROWS)

    # ----- internals -----------------------------------------------------------------------------
    def _write_lock(self) -> Any:
        return _CombinedLock(self._thread_lock, self._lock)

    @staticmethod
    def _check_table(table: str) -> None:
        if table not in sch.DATA_TABLES:
            raise UserError(f"unknown table {table!r}; use one of {', '.join(sch.DATA_TABLES)}")


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
