"""Finding, creating and upgrading a workspace folder, and sweeping what killed writers left behind.

Creating is done under the writer lock with the marker written last, so several processes opening the
same new path at once all find (or make) the same workspace. A format-1 workspace (segments listed by
folder) is upgraded in place by one `baseline` line in the transaction log adopting its segments.
"""

from __future__ import annotations

import json
from pathlib import Path

from loop_tui import clock
from loop_tui.errors import UserError
from loop_tui.store import txlog
from loop_tui.store.compaction import remove_unlisted
from loop_tui.store.failures import DamagedError
from loop_tui.store.segments import (
    FORMAT_VERSION,
    MARKER,
    WriterLock,
    atomic_write_bytes,
    disk_segments,
    leftover_temp_files,
    next_xact_id,
    reader_lock,
)
from loop_tui.store.views import empty_segments_missing, ensure_empty_segments

# What a creation killed before its marker may leave; such a folder is still "new".
_PARTIAL_INIT = {"tables", txlog.LOG_NAME, "xact"}


def _is_fresh(root: Path) -> bool:
    if not root.exists():
        return True
    names = {p.name for p in root.iterdir() if not p.name.startswith(".")}
    if not names <= _PARTIAL_INIT:
        return False
    tables = root / "tables"
    return not tables.exists() or {p.name for p in tables.iterdir()} <= {"_empty"}


def _read_format(marker: Path) -> object:
    try:
        return json.loads(marker.read_text()).get("format")
    except (json.JSONDecodeError, OSError, AttributeError):
        raise UserError(f"{marker} is damaged; restore it or point --workspace elsewhere") from None


def prepare(path: str | Path, *, create: bool = True, check_log: bool = True) -> Path:
    """Resolve `path` to a ready workspace folder (creating or upgrading it) and return it."""
    root = Path(path).expanduser().resolve()
    try:
        return _prepare(root, create=create, check_log=check_log)
    except PermissionError as exc:  # the folder, its marker or the transaction log is not ours to read
        where = Path(exc.filename) if exc.filename else root
        shown = str(where.relative_to(root)) if where.is_relative_to(root) and where != root else str(where)
        raise DamagedError(f"the workspace {root} cannot be opened: {shown} cannot be read (permission denied); "
                           "check its owner and mode") from None


def _prepare(root: Path, *, create: bool, check_log: bool) -> Path:
    if root.exists() and not root.is_dir():
        raise UserError(f"workspace path {root} is a file, not a folder; pass a folder with --workspace")
    marker = root / MARKER
    # Another process creating the workspace at the same moment may finish between the looks (its marker
    # then makes the folder "not fresh"): only a folder still without a marker after them is refused.
    if not marker.exists() and not _is_fresh(root) and not marker.exists():
        raise UserError(
            f"{root} is not a Loop TUI workspace (no {MARKER}); pass an empty or new folder with --workspace"
        )
    if not marker.exists():
        if not create:
            raise UserError(f"no workspace at {root}; create one with `loop-tui demo --workspace {root}`")
        root.mkdir(parents=True, exist_ok=True)
        _create(root)
    fmt = _read_format(marker)
    if fmt == 1:
        _upgrade(root)
    elif fmt != FORMAT_VERSION:
        raise UserError(f"workspace {root} has format {fmt}, this version reads {FORMAT_VERSION}")
    if empty_segments_missing(root):
        lock = WriterLock(root / ".lock")
        with lock.hold():
            ensure_empty_segments(root)
    if check_log:
        check_log_present(root)
    sweep(root)
    return root


def _create(root: Path) -> None:
    lock = WriterLock(root / ".lock")
    with lock.hold():
        marker = root / MARKER
        if marker.exists():
            return  # another process created it while we waited for the lock
        if not _is_fresh(root):
            raise UserError(f"{root} is not a Loop TUI workspace (no {MARKER}); pass an empty or new folder")
        ensure_empty_segments(root)
        txlog.log_path(root).touch()
        atomic_write_bytes(marker, json.dumps({"format": FORMAT_VERSION}).encode())


def _upgrade(root: Path) -> None:
    lock = WriterLock(root / ".lock")
    with lock.hold():
        marker = root / MARKER
        if _read_format(marker) != 1:
            return
        if not txlog.snapshot(root, strict=False).named:
            found = disk_segments(root)
            segments = [[table, obj, name] for (table, obj), names in sorted(found.items()) for name in names]
            for leftover in leftover_temp_files(root):
                leftover.unlink(missing_ok=True)
            txlog.append_entry(root, {"xact": next_xact_id(root), "time": clock.timestamp(), "op": "baseline",
                                      "description": "format 1 segments adopted", "segments": segments})
        atomic_write_bytes(marker, json.dumps({"format": FORMAT_VERSION}).encode())


def check_log_present(root: Path) -> None:
    """A workspace with segments but no transaction log must not read as empty."""
    if txlog.log_path(root).exists():
        return
    if any(disk_segments(root).values()):
        raise DamagedError(
            f"the transaction log {txlog.log_path(root)} is missing, so no segment is visible; "
            "run `loop-tui doctor --repair` to rebuild it from the segments"
        )
    txlog.log_path(root).touch()


def sweep(root: Path, *, wait_s: float = 0.0) -> dict[str, int]:
    """Remove what killed writers and finished compactions left, when no writer is busy; returns counts.

    Temp files and segments no committed line names are removed under the writer lock (no write can be in
    flight then); segments a compaction replaced are removed only while no reader holds a snapshot.
    """
    counts = {"temp": 0, "uncommitted": 0, "replaced": 0}
    lock = WriterLock(root / ".lock")
    try:
        if not lock.try_acquire(wait_s):
            return counts
    except OSError:
        return counts  # a read-only workspace: nothing we could remove anyway
    try:
        try:
            snap = txlog.snapshot(root)
        except DamagedError:
            return counts  # without a whole log we cannot tell committed files from leftovers
        if not txlog.log_path(root).exists():
            return counts
        for leftover in leftover_temp_files(root):
            leftover.unlink(missing_ok=True)
            counts["temp"] += 1
        counts.update(remove_unlisted(root, snap, reader_lock(root), release_own=False))
    finally:
        lock.release()
    return counts
