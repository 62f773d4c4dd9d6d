"""Import a JSONL, CSV or Parquet file of Braintrust rows as one transaction, in bounded memory.

The file is read in batches (DuckDB for JSONL spans, see `import_fast`; otherwise `io.iter_rows`, a row
at a time, normalised by `schema.normalize_*` a batch at a time), each batch is validated and appended to
one uncommitted segment (`import_stream.StreamingImport`), and the whole import is committed at the end
with one transaction-log line, or not at all: a bad row anywhere (named by its line) or a kill leaves
nothing visible, not even the project or object the import would have created.

Three stages run at once on a JSONL span file: the native scanner (`import_native`, two threads) or, where it
was not built, DuckDB (`import_fast`, its own threads) parses and checks the next batches (pulled by a
read-ahead thread that also finishes them), the main thread stamps and gathers the batches
into row groups, and the sink's writer thread writes the previous row group as Parquet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui import clock
from loop_tui.errors import UserError
from loop_tui.read_ahead import prefetch
from loop_tui.store import import_native
from loop_tui.store import schema as sch
from loop_tui.store.import_fast import RowByRow, span_batches
from loop_tui.store.import_stream import StreamingImport
from loop_tui.store.import_target import ImportResult, resolve_target
from loop_tui.store.io import ReadProgress, check_readable, iter_rows, normalize_for_import

if TYPE_CHECKING:
    from datetime import datetime

    import pyarrow as pa

    from loop_tui.store.workspace import Workspace

BATCH_ROWS = 5_000  # rows normalised in Python at a time
# DuckDB's batches (parsed, checked and finished) read ahead on a thread while the previous ones are stamped
# and handed to the writer: pulled from the main thread, DuckDB's reader stalled while Python worked. One
# waiting batch (~7 MB) is enough to keep it going; peak memory is near the 500 MB target at 2M spans.
PREFETCH_BATCHES = 1
OnProgress = Callable[[int, int], None]  # (rows read, bytes of the file read)


def row_batches(path: Path, fmt: str, table: str, source: str, progress: ReadProgress) -> Iterator[pa.Table]:
    """Batches of normalised rows read a row at a time (every format; errors name their line)."""
    rows: list[dict[str, Any]] = []
    for row in iter_rows(path, fmt, progress):
        rows.append(row)
        if len(rows) >= BATCH_ROWS:
            yield sch.to_arrow(table, normalize_for_import(table, rows, source))
            rows = []
    if rows:
        yield sch.to_arrow(table, normalize_for_import(table, rows, source))


def _bytes_per_line(path: Path) -> float:
    """The mean length of the file's first lines (DuckDB does not say how far it read; rows times this does)."""
    with open(path, "rb") as fh:
        head = fh.read(4 << 20)
    return len(head) / max(1, head.count(b"\n")) if head else 1.0


def fast_span_batches(path: Path, table: str, source: str, now: datetime) -> Iterator[pa.Table]:
    """A JSONL span file's normalised batches from the native scanner, or from DuckDB's pass where the scanner
    was not built (no C compiler at install). Raises `RowByRow` for a file the row-by-row path must take."""
    if import_native.available():
        return import_native.span_batches(path, table, source, now)
    return span_batches(path, table, source, now)


def _fast_batches(path: Path, table: str, source: str, progress: ReadProgress, per_line: float) -> Iterator[pa.Table]:
    """The native scanner's batches, or DuckDB's where it was not built (read ahead on a thread), with the bytes
    read estimated from the rows read."""
    size = path.stat().st_size
    rows = 0
    for batch in prefetch(fast_span_batches(path, table, source, clock.now()), depth=PREFETCH_BATCHES):
        rows += batch.num_rows
        progress.bytes = min(size, int(rows * per_line))
        yield batch
    progress.bytes = size


def import_file(
    ws: Workspace,
    path: Path,
    fmt: str,
    table: str,
    *,
    project: str,
    name: str | None,
    description: dict[str, Any],
    op_description: str,
    on_progress: OnProgress | None = None,
) -> ImportResult:
    """Read, validate and write `path` into the project's logs or the named dataset or experiment."""
    check_readable(path)
    source = path.name
    with StreamingImport(ws) as sink:
        progress = ReadProgress()
        fast: _StartedNow | None = None
        if fmt == "jsonl":
            per_line = _bytes_per_line(path)
            sink.rows_expected = int(path.stat().st_size / per_line)
            # DuckDB starts on the file while the target is resolved: the workspace's first query creates its
            # views (~0.1-0.2 s that ran before DuckDB started, on one core).
            fast = _StartedNow(_fast_batches(path, table, source, progress, per_line))
        try:
            target = resolve_target(ws, table, project, name, description)
            sink.start(target)

            def pour(batches: Iterable[pa.Table], progress: ReadProgress) -> None:
                for batch in batches:
                    sink.add(batch)
                    if on_progress is not None:
                        on_progress(sink.rows_written, progress.bytes)

            if fast is not None:
                _load_batch_modules()  # while DuckDB reads the first lines (this thread would wait for them)
                try:
                    pour(fast, progress)
                except RowByRow:
                    sink.restart()  # the row-by-row path names the bad line, or takes what DuckDB could not
                    progress = ReadProgress()
                    pour(row_batches(path, fmt, table, source, progress), progress)
            else:
                pour(row_batches(path, fmt, table, source, progress), progress)
        finally:
            if fast is not None:
                fast.close()
        if not sink.rows_written:
            raise UserError(f"{source} has no rows to import")
        return sink.commit("import", op_description)


def _load_batch_modules() -> None:
    """Import what finishing, stamping and writing the batches need: imported by the threads that first need
    them, after DuckDB's first batch, they delayed it (~0.05-0.1 s) while this thread waited for it."""
    import numpy.ma  # noqa: F401 - pyarrow imports it at its first pa.array() of a numpy array (typed copies)
    import pyarrow.compute  # noqa: F401
    import pyarrow.parquet  # noqa: F401


class _StartedNow(Iterable["pa.Table"]):
    """Batches whose first one is being fetched from now on, on a thread, while the caller does other work
    (a generator, `prefetch`'s included, starts only at the first `next`)."""

    def __init__(self, batches: Iterator[pa.Table]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._batches = batches
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-start")
        self._first = self._pool.submit(next, batches, None)

    def __iter__(self) -> Iterator[pa.Table]:
        first = self._first.result()  # re-raises what fetching it raised (`RowByRow`)
        self._pool.shutdown()
        if first is None:
            return
        yield first
        yield from self._batches

    def close(self) -> None:
        """Stop reading: after the first batch is fetched (a generator cannot be closed while it runs)."""
        import contextlib

        with contextlib.suppress(Exception):
            self._first.result()
        self._pool.shutdown()
        close = getattr(self._batches, "close", None)
        if close is not None:
            close()
