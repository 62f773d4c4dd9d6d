"""The transaction log `xacts.jsonl`: the one commit point of every write, and the list of live segments.

A write first puts its segment files in place (invisible: no reader lists a file the log does not name),
then appends ONE line naming them. That append is the commit: a process killed before it leaves only
unreferenced files (removed by the next cleanup), one killed after it has committed everything. A
compaction is one line too: it names its new segment and the segments it `replaces`, so readers see either
the old files or the new one, never both. Only lines ending in a newline count, so a torn last line (a
kill or a full disk mid-append) is no commit, and the next writer cuts it off before appending.

Line shapes (all carry `xact`, `time`, `op`, `description`):
    one segment     {"table", "object_id", "count", "ids", "segment"}
    several         {"parts": [{"table", "object_id", "count", "ids", "segment"}, ...]}   (an undo)
    compaction      {"table", "object_id", "count", "segment", "replaces": [...]}
    quarantine      {"table", "object_id", "replaces": [...]}                              (doctor --repair)
    adoption        {"op": "baseline", "segments": [[table, object_id, name], ...]}         (format 1 -> 2)
Lines written by format 1 carry no `segment`; they are history only.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loop_tui.store.failures import DamagedError, WriteFailed

LOG_NAME = "xacts.jsonl"
_V2_KEYS = ("segment", "parts", "replaces", "segments")


@dataclass(frozen=True)
class Snapshot:
    """The committed state at one point of the log: which segment files are live."""

    live: dict[str, dict[str, tuple[str, ...]]]  # table -> object id -> segment file names, oldest first
    named: frozenset[tuple[str, str, str]]  # every (table, object, file) any committed line named
    size: int  # bytes of the log this snapshot covers

    def files(self, table: str) -> dict[str, tuple[str, ...]]:
        """object id -> its live segment file names."""
        return self.live.get(table, {})


@dataclass
class _Replay:
    """Incremental replay state of one log file (cached per workspace root)."""

    inode: int = -1
    offset: int = 0
    line_no: int = 0
    seen_v2: bool = False
    damaged_line: int = 0
    live: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    named: set[tuple[str, str, str]] = field(default_factory=set)
    snapshot: Snapshot | None = None

    def apply(self, entry: dict[str, Any]) -> None:
        if any(k in entry for k in _V2_KEYS):
            self.seen_v2 = True
        for table, obj, name in entry.get("segments") or ():
            self._add(str(table), str(obj), str(name))
        for part in entry.get("parts") or [entry]:
            table, obj = str(part.get("table", "")), str(part.get("object_id", ""))
            gone = set(part.get("replaces") or ())
            if gone and table in self.live and obj in self.live[table]:
                kept = [n for n in self.live[table][obj] if n not in gone]
                if kept:
                    self.live[table][obj] = kept
                else:
                    del self.live[table][obj]
            if part.get("segment"):
                self._add(table, obj, str(part["segment"]))

    def _add(self, table: str, obj: str, name: str) -> None:
        files = self.live.setdefault(table, {}).setdefault(obj, [])
        if name not in files:
            files.append(name)
        self.named.add((table, obj, name))


_cache: dict[str, _Replay] = {}
_cache_lock = threading.Lock()


def log_path(root: Path) -> Path:
    """Where the transaction log of a workspace is."""
    return root / LOG_NAME


def generation(root: Path) -> int:
    """A number that changes whenever a write commits (the log only grows; a rebuilt log is a new file)."""
    try:
        st = os.stat(log_path(root))
    except FileNotFoundError:
        return 0
    return (st.st_ino % 1_000_003) * (1 << 40) + st.st_size


def snapshot(root: Path, *, strict: bool = True) -> Snapshot:
    """The committed state now (replaying only what was appended since the last call)."""
    path = log_path(root)
    key = str(root)
    with _cache_lock:
        state = _cache.get(key)
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            _cache.pop(key, None)
            return Snapshot({}, frozenset(), 0)
        with fh:
            st = os.fstat(fh.fileno())
            if state is None or state.inode != st.st_ino or st.st_size < state.offset:
                state = _Replay(inode=st.st_ino)
                _cache[key] = state
            if st.st_size > state.offset:
                fh.seek(state.offset)
                chunk = fh.read(st.st_size - state.offset)
                end = chunk.rfind(b"\n") + 1  # only complete lines are commits
                for line in chunk[:end].splitlines():
                    state.line_no += 1
                    try:
                        entry = json.loads(line)
                        if not isinstance(entry, dict):
                            raise ValueError("not an object")
                    except ValueError:
                        # Format 1 appended without cutting torn lines off: those are history-only noise.
                        if state.seen_v2 and not state.damaged_line:
                            state.damaged_line = state.line_no
                        continue
                    state.apply(entry)
                if end:
                    state.offset += end
                    state.snapshot = None
        if state.damaged_line and strict:
            raise DamagedError(
                f"the transaction log {path} is damaged at line {state.damaged_line}; "
                "run `loop-tui doctor --repair` to rebuild it from the segments"
            )
        if state.snapshot is None:
            live = {t: {o: tuple(files) for o, files in objs.items()} for t, objs in state.live.items()}
            state.snapshot = Snapshot(live, frozenset(state.named), state.offset)
        return state.snapshot


def damaged_line(root: Path) -> int:
    """The first damaged line of the log (0 when it is whole)."""
    snapshot(root, strict=False)
    with _cache_lock:
        state = _cache.get(str(root))
        return state.damaged_line if state else 0


def forget(root: Path) -> None:
    """Drop the cached replay (after the log file was replaced)."""
    with _cache_lock:
        _cache.pop(str(root), None)


def read_entries(root: Path) -> list[dict[str, Any]]:
    """Every committed line, oldest first (for history listings; damaged lines are skipped)."""
    path = log_path(root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    entries = []
    for line in data[: data.rfind(b"\n") + 1].splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


def append_entry(root: Path, entry: dict[str, Any]) -> None:
    """Commit one write: append its line and fsync (caller holds the writer lock).

    On failure the log is cut back to where it was, so the write did not happen, and `WriteFailed` says so.
    """
    from loop_tui.store.segments import crash_point

    data = (json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    path = log_path(root)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WriteFailed(f"could not open the transaction log {path} ({exc.strerror}); nothing was written") from None
    try:
        start = _cut_torn_tail(fd)
        crash_point("before-commit")
        try:
            written = 0
            while written < len(data):
                written += os.pwrite(fd, data[written:], start + written)
            os.fsync(fd)
        except OSError as exc:
            try:
                os.ftruncate(fd, start)
                os.fsync(fd)
            except OSError:
                pass  # a torn line without its newline is no commit either
            raise WriteFailed(
                f"could not record the write in the transaction log ({exc.strerror}); nothing was written"
            ) from None
        crash_point("after-commit")
    finally:
        os.close(fd)


def _cut_torn_tail(fd: int) -> int:
    """Cut a last line that has no newline (a crash mid-append) and return the log's length."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    pos = size
    while pos > 0:
        start = max(0, pos - 65536)
        chunk = os.pread(fd, pos - start, start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            pos = start + newline + 1
            break
        pos = start
    os.ftruncate(fd, pos)
    return pos
