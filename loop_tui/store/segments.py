"""The on-disk layer: the writer and reader locks, transaction ids and immutable Parquet segments.

Layout of a workspace folder:
    loop-workspace.json                      marker + format version
    .lock                                    fcntl lock held by the one writer at a time
    .readers                                 fcntl lock shared by every open reader (see `ReaderLock`)
    xact                                     the last transaction id handed out
    xacts.jsonl                              the transaction log: one line per committed write (see `txlog`)
    tables/<table>/<object_id>/seg-<xact>-<i|u>.parquet
    quarantine/                              damaged segments moved aside by `loop-tui doctor --repair`

A segment is written to a hidden temp file, fsynced and renamed into place, but it is visible only once
the transaction log names it: that log line is the commit (see `txlog`). `-i` segments only add new ids
(readers can skip de-duplication for objects that have nothing else); `-u` segments update or delete
(tombstone) existing ids.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from loop_tui.store.failures import WriteFailed

MARKER = "loop-workspace.json"
FORMAT_VERSION = 2  # 2: the transaction log lists the live segments; 1 (listed by folder) is migrated on open
LEFTOVER_PREFIXES = (".tmp-", ".compact-")
CRASH_ENV = "LOOP_TUI_CRASH_AT"  # tests: SIGKILL this process at the named point of a write


def crash_point(name: str) -> None:
    """Die here, as `kill -9` would, when the crash tests ask for it (`LOOP_TUI_CRASH_AT=name`)."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_umask() -> int:
    """The process's umask, read without changing it (`os.umask` sets it, briefly 0 for every other thread)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)  # no /proc (not Linux): the only way there is to read it
    os.umask(umask)
    return umask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a small file atomically (temp file, fsync, rename).

    The temp file has an unpredictable name and is created exclusively, never through a symlink (mkstemp):
    the folder may be one someone else can write to (e.g. `export --layout bt-sync --out DIR`).
    """
    import tempfile

    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), 0o666 & ~current_umask())  # as a plain open() makes it, not mkstemp's 0600
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _flock(fh: Any, mode: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.flock(fh.fileno(), mode | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


class WriterLock:
    """An exclusive, re-entrant (per instance) fcntl lock serialising writers across processes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fh: Any = None
        self._depth = 0

    @property
    def held(self) -> bool:
        """Whether this instance holds the lock now."""
        return self._depth > 0

    @contextmanager
    def hold(self, timeout_s: float = 30.0) -> Iterator[None]:
        """Hold the lock for the duration of the block, waiting up to `timeout_s` for another writer."""
        if not self.try_acquire(timeout_s):
            from loop_tui.errors import UserError

            raise UserError(f"the workspace {self._path.parent} is locked by another writer; try again")
        try:
            yield
        finally:
            self.release()

    def try_acquire(self, timeout_s: float = 0.0) -> bool:
        """Take the lock (re-entrantly) if it frees up within `timeout_s`; False if it did not."""
        if self._depth == 0:
            fh = open(self._path, "a+b")  # noqa: SIM115 - held until release()
            if not _flock(fh, fcntl.LOCK_EX, timeout_s):
                fh.close()
                return False
            self._fh = fh
        self._depth += 1
        return True

    def release(self) -> None:
        """Give back one level of the lock."""
        self._depth -= 1
        if self._depth == 0:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


class ReaderLock:
    """A shared fcntl lock held while any open `Workspace` of this process may use files of a snapshot.

    Compaction deletes the segments it replaced only when it can take this lock exclusively, i.e. when no
    reader anywhere could still be reading them; otherwise they wait for a later compact, doctor or open.
    One per workspace per process (`reader_lock`): each `Workspace` adds a holder, dropped when it is
    garbage-collected, and the flock is held while there is a holder.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fh: Any = None
        self._holders = 0
        self._guard = threading.Lock()

    def add_holder(self) -> None:
        """One more open workspace reads through this lock."""
        with self._guard:
            self._holders += 1
        self.ensure()

    def drop_holder(self) -> None:
        """An open workspace is gone; the last one gives the flock back."""
        with self._guard:
            self._holders -= 1
            if self._holders <= 0:
                self._close()

    def ensure(self) -> None:
        """Hold the flock shared while there are holders (waits out a compaction deleting files)."""
        if self._fh is not None:
            return
        with self._guard:
            if self._fh is not None or self._holders <= 0:
                return
            try:
                fh = open(self._path, "a+b")  # noqa: SIM115 - held while there are holders
            except OSError:
                return  # a workspace we cannot write to: nobody can compact it either
            if _flock(fh, fcntl.LOCK_SH, 30.0):
                self._fh = fh
            else:
                fh.close()

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing drops the flock
            self._fh = None

    @contextmanager
    def exclusive(self, *, release_own: bool) -> Iterator[bool]:
        """Yield True while no reader holds the lock (never waits).

        With `release_own` this process's own share is dropped first (a compaction in this process: its
        readers take the share again before their next query); without it, a share held here counts.
        """
        if self._fh is not None and not release_own:
            yield False
            return
        with self._guard:
            self._close()
        try:
            fh = open(self._path, "a+b")  # noqa: SIM115 - closed below
        except OSError:
            yield False
            return
        try:
            yield _flock(fh, fcntl.LOCK_EX, 0.0)
        finally:
            fh.close()


_reader_locks: dict[str, ReaderLock] = {}
_reader_locks_guard = threading.Lock()


def reader_lock(root: Path) -> ReaderLock:
    """This process's one reader lock on a workspace: every snapshot it builds stays protected while held."""
    with _reader_locks_guard:
        lock = _reader_locks.get(str(root))
        if lock is None:
            lock = _reader_locks[str(root)] = ReaderLock(root / ".readers")
        return lock


def next_xact_id(root: Path) -> int:
    """Hand out the next transaction id (caller holds the writer lock).

    Ids are microsecond timestamps bumped past the last id, so they stay monotonic even when a
    process died after taking an id but before committing.
    """
    counter = root / "xact"
    try:
        last = int(counter.read_text() or 0) if counter.exists() else 0
    except ValueError:
        last = 0  # a damaged counter: the clock still keeps ids ahead of every committed one
    xact = max(last + 1, time.time_ns() // 1000)
    try:
        atomic_write_bytes(counter, str(xact).encode())
    except OSError as exc:
        raise WriteFailed(f"could not take a transaction id in {root} ({exc.strerror}); nothing was written") from None
    return xact


def segment_dir(root: Path, table: str, object_id: str) -> Path:
    """Folder holding one object's segments."""
    return root / "tables" / table / object_id


def segment_name(xact: int, updates: bool) -> str:
    """The file name of the segment written by transaction `xact`."""
    return f"seg-{xact:020d}-{'u' if updates else 'i'}.parquet"


# Long JSON text compresses far better with zstd; everything else (ids, times, flags, numbers) is read by
# filters and aggregates, where snappy decodes ~40% faster (p95 of a metric over 189k spans: 14.7 -> 10.9 ms).
_ZSTD_COLUMNS = frozenset({"input", "output", "expected", "metadata", "span_attributes", "origin", "context", "_extra",
                           "data"})


def _leaf_paths(name: str, kind: pa.DataType) -> list[str]:
    if pa.types.is_struct(kind):
        return [p for i in range(kind.num_fields) for p in _leaf_paths(f"{name}.{kind.field(i).name}", kind.field(i).type)]
    if pa.types.is_map(kind):
        return _leaf_paths(f"{name}.key_value.key", kind.key_type) + _leaf_paths(f"{name}.key_value.value", kind.item_type)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _leaf_paths(f"{name}.list.element", kind.value_type)
    return [name]


def segment_compression(schema: pa.Schema) -> dict[str, str]:
    """Codec per Parquet leaf column: zstd for long JSON text, snappy for the rest."""
    return {path: "zstd" if field.name in _ZSTD_COLUMNS else "snappy"
            for field in schema for path in _leaf_paths(field.name, field.type)}


def dictionary_columns(data: pa.Table) -> list[str]:
    """Leaf columns worth a dictionary: few distinct values (names, models, flags, most scores).

    Parquet writers try a dictionary for every column and fall back to plain values once it grows; the
    dictionary pages of unique values (ids, times, durations) before the fallback made those columns
    bigger and ~30% slower to read.
    """
    import pyarrow.compute as pc

    limit = max(1, data.num_rows // 10)
    chosen: list[str] = []
    for field in data.schema:
        column = data.column(field.name)
        if pa.types.is_struct(field.type):
            for i in range(field.type.num_fields):
                if pc.count_distinct(pc.struct_field(column, [i])).as_py() <= limit:
                    chosen.append(f"{field.name}.{field.type.field(i).name}")
        elif pa.types.is_map(field.type):
            chosen.append(f"{field.name}.key_value.key")  # score and metric names
        elif pa.types.is_list(field.type):
            continue
        elif _few_distinct(column, limit):
            chosen.append(field.name)
    return chosen


def _few_distinct(column: pa.ChunkedArray, limit: int) -> bool:
    """Whether `column` has at most `limit` distinct values. A prefix of twice that many rows with more than
    `limit` already says no (unique ids, times, JSON text), without hashing the whole column."""
    import pyarrow.compute as pc

    prefix = 2 * limit
    if len(column) > prefix and pc.count_distinct(column.slice(0, prefix)).as_py() > limit:
        return False
    return pc.count_distinct(column).as_py() <= limit


def write_segment(root: Path, table: str, object_id: str, data: pa.Table, xact: int, updates: bool) -> Path:
    """Write one immutable segment (not yet committed: the log must name it) and return its path.

    Span segments also get the typed copies of their score and metric maps (see `typed`).
    """
    import pyarrow.parquet as pq

    from loop_tui.store.typed import TYPED_TABLES, with_typed_columns

    if table in TYPED_TABLES:
        data = with_typed_columns(data)

    folder = segment_dir(root, table, object_id)
    final = folder / segment_name(xact, updates)
    with publishing_segment(final, f".tmp-{xact}", "nothing was written") as tmp:
        pq.write_table(data, tmp, compression=segment_compression(data.schema), row_group_size=128 * 1024,
                       use_dictionary=dictionary_columns(data))
    return final


@contextmanager
def publishing_segment(final: Path, temp_prefix: str, nothing_done: str) -> Iterator[Path]:
    """A temporary file to write a segment to inside the block; on leaving, it is synced to disk and
    renamed to `final` at once (so `final` is never seen half-written), and its folder synced. On any
    failure neither file is left behind; a disk error becomes one `WriteFailed` sentence ending with
    `nothing_done` (what the failed operation did not do)."""
    folder = final.parent
    tmp = folder / f"{temp_prefix}-{os.getpid()}.parquet.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        fsync_dir(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        raise WriteFailed(f"could not write a segment in {folder} ({exc.strerror}); {nothing_done}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        raise


def disk_segments(root: Path) -> dict[tuple[str, str], list[str]]:
    """(table, object id) -> the segment files in its folder (committed or not), by name."""
    out: dict[tuple[str, str], list[str]] = {}
    base = root / "tables"
    try:
        tables = [t for t in os.scandir(base) if t.is_dir() and not t.name.startswith("_")]
    except OSError:
        return out
    for table in tables:
        try:
            folders = [f for f in os.scandir(table.path) if f.is_dir()]
        except OSError:
            continue
        for folder in folders:
            try:
                names = sorted(e.name for e in os.scandir(folder.path) if e.name.startswith("seg-"))
            except OSError:
                continue
            out[(table.name, folder.name)] = names
    return out


def leftover_temp_files(root: Path) -> list[Path]:
    """Temp files a killed writer left (only meaningful while holding the writer lock)."""
    found: list[Path] = []
    base = root / "tables"
    for dirpath, _dirs, files in os.walk(base):
        found.extend(Path(dirpath) / f for f in files if f.startswith(LEFTOVER_PREFIXES) or f.endswith(".part"))
    found.extend(p for p in root.glob(".*.tmp-*") if p.is_file())
    return found


def read_xact_log(root: Path) -> list[dict[str, Any]]:
    """All committed lines of the transaction log, oldest first (see `txlog.read_entries`)."""
    from loop_tui.store.txlog import read_entries

    return read_entries(root)
