"""Export of Braintrust-format rows to JSONL, CSV or Parquet, a batch at a time (bounded memory).

Rows come as batches from a factory that can be called again: CSV and Parquet need every column before
the first row (a header, a schema), so they take one pass for the columns and one for the rows; JSONL
takes one. A file is written to a temp file with an unpredictable name, created exclusively and never
through a symlink, then renamed over the target; a target that exists and is not a regular file (a
symlink, a device, a folder) is refused rather than replaced.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError

STDOUT = "-"
Batches = Callable[[], Iterator[list[dict[str, Any]]]]  # each call reads the rows again, batch by batch


def write_rows(rows: list[dict[str, Any]], fmt: str, out: Path | None) -> None:
    """Write rows held in memory (see `write_row_batches`)."""
    write_row_batches(lambda: iter([rows]), fmt, out)


def write_row_batches(batches: Batches, fmt: str, out: Path | None) -> int:
    """Write every batch to the file `out`, or to stdout when `out` is None or `-`; returns the rows written."""
    written = [0]

    def counted() -> Iterator[list[dict[str, Any]]]:
        written[0] = 0
        for batch in batches():
            written[0] += len(batch)
            yield batch

    if out is None or str(out) == STDOUT:
        if fmt == "parquet":
            if sys.stdout.isatty():
                raise UserError("Parquet is binary: redirect stdout to a file, or pass --out FILE")
            _parquet_to_stdout(batches, counted)
        else:
            # Text from data reaches whoever reads stdout: JSONL escapes every control character (the same
            # JSON value), and CSV on a terminal shows them as symbols (into a pipe, the bytes as stored).
            _write_text(counted, fmt, sys.stdout, columns=_columns(batches) if fmt == "csv" else [],
                        to_stdout=True, on_terminal=sys.stdout.isatty())
            sys.stdout.flush()
        return written[0]
    _check_target(out)
    if fmt == "parquet":
        _write_via_temp(out, lambda fh: _write_parquet(counted, _columns(batches), fh))
    else:
        columns = _columns(batches) if fmt == "csv" else []
        _write_via_temp(out, lambda fh: _write_text_binary(counted, fmt, fh, columns))
    return written[0]


def _parquet_to_stdout(batches: Batches, counted: Batches) -> None:
    """Parquet needs a seekable file to finish: written to a temp file, then copied out in chunks."""
    import shutil
    import tempfile

    with tempfile.TemporaryFile() as tmp:
        _write_parquet(counted, _columns(batches), tmp)
        tmp.seek(0)
        shutil.copyfileobj(tmp, sys.stdout.buffer, 1 << 20)
    sys.stdout.buffer.flush()


def _check_target(out: Path) -> None:
    import stat

    try:
        st = os.lstat(out)
    except FileNotFoundError:
        if not out.parent.is_dir():
            raise UserError(f"cannot write {out}: the folder {out.parent} does not exist") from None
        return
    if not stat.S_ISREG(st.st_mode):
        kind = ("a symlink" if stat.S_ISLNK(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode)
                else "a device or special file")
        raise UserError(f"--out {out} is {kind}; export writes only regular files (use --out - to write to stdout)")


def _write_via_temp(out: Path, write: Any) -> None:
    import tempfile

    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)  # O_EXCL|O_NOFOLLOW
    except OSError as exc:
        raise UserError(f"cannot write {out} ({exc.strerror})") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
            from loop_tui.store.segments import current_umask

            os.fchmod(fh.fileno(), 0o666 & ~current_umask())  # as a plain open() would have made it, not mkstemp's 0600
        os.replace(tmp, out)
    except OSError as exc:  # the disk failed (full, I/O error), not the input: exit 1, not 2
        from loop_tui.store.failures import WriteFailed

        tmp.unlink(missing_ok=True)
        raise WriteFailed(f"cannot write {out} ({exc.strerror or exc}); nothing was written") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _columns(batches: Batches) -> list[str]:
    """Every key of every row, in the order first seen (one pass over the rows)."""
    seen: dict[str, None] = {}
    for batch in batches():
        for row in batch:
            for key in row:
                seen.setdefault(key, None)
    return list(seen)


def _write_text_binary(batches: Batches, fmt: str, fh: Any, columns: list[str]) -> None:
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=True)
    _write_text(batches, fmt, text, columns)
    text.flush()
    text.detach()


def _write_text(batches: Batches, fmt: str, fh: Any, columns: list[str], *, to_stdout: bool = False,
                on_terminal: bool = False) -> None:
    from loop_tui.safe_text import json_controls_escaped, visible
    from loop_tui.store.io import _cell_to_text, _export_json

    if fmt == "jsonl":
        for batch in batches():
            text = "".join(_export_json(row) + "\n" for row in batch)
            fh.write(json_controls_escaped(text) if to_stdout else text)
        return
    cell = (lambda value: visible(_cell_to_text(value))) if on_terminal else _cell_to_text
    writer = csv.writer(fh)
    writer.writerow([cell(c) for c in columns])
    for batch in batches():
        writer.writerows([cell(row.get(c)) for c in columns] for row in batch)


def _write_parquet(batches: Batches, columns: list[str], out: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from loop_tui.store.io import _JSON_COLUMNS_MARKER, _export_json

    schema = pa.schema([(c, pa.string()) for c in columns], metadata={_JSON_COLUMNS_MARKER: b"1"})
    with pq.ParquetWriter(out, schema) as writer:
        for batch in batches():
            data = {c: [None if r.get(c) is None else _export_json(r.get(c)) for r in batch] for c in columns}
            writer.write_table(pa.table(data, schema=schema))



EXPORT_BATCH_ROWS = 10_000
EXPORT_MEMORY = "256MB"  # DuckDB's sort spills to a temp folder past this


def braintrust_row_batches(ws: Any, table: str, object_id: str) -> Iterator[list[dict[str, Any]]]:
    """The latest rows of one object in Braintrust's format, oldest first, EXPORT_BATCH_ROWS at a time.

    A connection of its own streams the sorted rows from DuckDB (which spills a big sort to disk), so the
    export never holds more than a batch.
    """
    import shutil
    import tempfile

    import duckdb

    from loop_tui.store import schema as sch

    col = sch.TABLES[table][1]
    spill = tempfile.mkdtemp(prefix="loop-tui-export-")
    con = ws.connect()
    try:
        con.execute(f"SET memory_limit = '{EXPORT_MEMORY}'")
        con.execute("SET temp_directory = ?", [spill])
        con.execute("SET enable_progress_bar = false")
        try:
            reader = con.sql(f"SELECT * FROM {table} WHERE {col} = $id ORDER BY created, id",
                             params={"id": object_id}).to_arrow_reader(EXPORT_BATCH_ROWS)
            for batch in reader:
                yield [sch.row_to_braintrust(table, r) for r in batch.to_pylist()]
        except duckdb.Error as exc:
            raise _damage_or(exc, ws.root, table, object_id) from None
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)


def _damage_or(exc: Exception, root: Path, table: str, object_id: str) -> Exception:
    """The sentence naming a damaged segment of the object, when that is why reading it failed (as
    `Workspace.query` says it); otherwise the error itself."""
    from loop_tui.store import txlog
    from loop_tui.store.failures import DamagedError
    from loop_tui.store.health import damage_sentence, known_damage

    sentence = damage_sentence(exc)
    if sentence:
        return DamagedError(sentence)
    damage = known_damage(root, txlog.snapshot(root), deep=True).get((table, object_id))
    return DamagedError(damage.message(root)) if damage is not None else exc
