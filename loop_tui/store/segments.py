"""The on-disk layer: the writer lock, transaction ids and atomic, immutable Parquet segments.

Layout of a workspace folder:
    loop-workspace.json                      marker + format version
    .lock                                    fcntl lock held by the one writer at a time
    xact                                     the last transaction id handed out
    xacts.jsonl                              one line per write (what it did; for history listings)
    tables/<table>/<object_id>/seg-<xact>-<i|u>.parquet

A segment is written to a hidden temp file, fsynced, then renamed into place: the rename is the
commit, so a process killed mid-write leaves at most an invisible temp file. `-i` segments only add
new ids (readers can skip de-duplication for objects that have nothing else); `-u` segments update
or delete (tombstone) existing ids.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

MARKER = "loop-workspace.json"
FORMAT_VERSION = 1


def fsync_dir(path: Path) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a small file atomically (temp file, fsync, rename)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class WriterLock:
    """An exclusive, re-entrant (per instance) fcntl lock serialising writers across processes."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fh: Any = None
        self._depth = 0

    @contextmanager
    def hold(self, timeout_s: float = 30.0) -> Iterator[None]:
        """Hold the lock for the duration of the block, waiting up to `timeout_s` for another writer."""
        if self._depth == 0:
            fh = open(self._path, "a+b")  # noqa: SIM115 - held across the with-block on purpose
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        fh.close()
                        from loop_tui.errors import UserError

                        raise UserError(
                            f"the workspace {self._path.parent} is locked by another writer; try again"
                        ) from None
                    time.sleep(0.01)
            self._fh = fh
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
                self._fh.close()
                self._fh = None


def next_xact_id(root: Path) -> int:
    """Hand out the next transaction id (caller holds the writer lock).

    Ids are microsecond timestamps bumped past the last id, so they stay monotonic even when a
    process died after committing a segment but before recording the counter.
    """
    counter = root / "xact"
    last = int(counter.read_text() or 0) if counter.exists() else 0
    xact = max(last + 1, time.time_ns() // 1000)
    atomic_write_bytes(counter, str(xact).encode())
    return xact


def current_generation(root: Path) -> int:
    """The last committed transaction id: changes whenever anything was written."""
    counter = root / "xact"
    try:
        return int(counter.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0


def segment_dir(root: Path, table: str, object_id: str) -> Path:
    """Folder holding one object's segments."""
    return root / "tables" / table / object_id


def write_segment(root: Path, table: str, object_id: str, data: pa.Table, xact: int, updates: bool) -> Path:
    """Write one immutable segment atomically and return its path."""
    import pyarrow.parquet as pq

    folder = segment_dir(root, table, object_id)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"seg-{xact:020d}-{'u' if updates else 'i'}.parquet"
    tmp = folder / f".tmp-{xact}-{os.getpid()}.parquet.part"
    with open(tmp, "wb") as fh:
        pq.write_table(data, fh, compression="zstd", row_group_size=128 * 1024)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(folder)
    return final


def list_segments(root: Path, table: str) -> dict[str, list[Path]]:
    """object_id -> its committed segment files, oldest first."""
    base = root / "tables" / table
    out: dict[str, list[Path]] = {}
    if not base.exists():
        return out
    for folder in sorted(base.iterdir()):
        if folder.is_dir():
            files = sorted(folder.glob("seg-*.parquet"))
            if files:
                out[folder.name] = files
    return out


def append_xact_log(root: Path, entry: dict[str, Any]) -> None:
    """Record what a write did (one JSON line, appended under the writer lock)."""
    with open(root / "xacts.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_xact_log(root: Path) -> list[dict[str, Any]]:
    """All recorded writes, oldest first (a torn last line from a crash is ignored)."""
    path = root / "xacts.jsonl"
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries
