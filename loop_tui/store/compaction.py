"""Compaction: fold each object's segments into few large files, with one commit point per object.

The rewrite streams in bounded memory, into segments of at most `compact_stream.SEGMENT_ROWS` rows (see
`compact_stream`, which also says which segments are kept as they are). A span object's one segment is
rewritten too when it predates typed copies of the score and metric maps
(store format 2, `typed`): that is how old workspaces get BTQL's fast path.

The new segments are written first (invisible), then one log line names them and the segments they
replace: a kill before that line leaves the old files live and the new ones uncommitted leftovers; a kill
after it leaves the new files live and the old ones replaced. Readers never see both. Replaced files are
deleted only when no reader holds a snapshot that may still list them (see `segments.ReaderLock`);
otherwise a later compact, `doctor` or open removes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui import clock
from loop_tui.store import txlog
from loop_tui.store.compact_stream import (
    SEGMENT_ROWS,
    Plan,
    close_connection,
    duckdb_connection,
    plan,
    write_group,
)
from loop_tui.store.health import Damage
from loop_tui.store.segments import ReaderLock, disk_segments, next_xact_id, segment_dir

if TYPE_CHECKING:
    from loop_tui.store.workspace import Workspace

QUARANTINE = "quarantine"
ALL_TABLES = ("project_logs", "experiment", "dataset", "catalog")


def compact(ws: Workspace, table: str | None, max_rows: int = SEGMENT_ROWS) -> tuple[int, list[Damage]]:
    """Compact (caller holds the write lock); returns how many objects changed and the damaged ones skipped.

    Each object's segments are folded into segments of at most `max_rows` rows, streamed (`compact_stream`).
    """
    ws.query("SELECT 1")  # bring the views (and what they found damaged) up to date
    damaged = dict(ws._damage)
    skipped: list[Damage] = []
    changed = 0
    con, spill = duckdb_connection()
    try:
        for name in [table] if table else ALL_TABLES:
            for obj, files in txlog.snapshot(ws.root).files(name).items():
                if (name, obj) in damaged:
                    skipped.append(damaged[(name, obj)])
                    continue
                chosen = plan(con, ws.root, name, obj, files, max_rows)
                if chosen is not None:
                    _compact_object(con, ws.root, name, obj, chosen)
                    changed += 1
    finally:
        close_connection(con, spill)
    remove_unlisted(ws.root, txlog.snapshot(ws.root), ws._readers, release_own=True)
    return changed, skipped


def _compact_object(con: Any, root: Path, table: str, obj: str, chosen: Plan) -> None:
    """Write the new segments of one object, then commit them with ONE log line replacing the old ones."""
    written: list[Path] = []
    parts: list[dict[str, Any]] = []
    xact = 0
    try:
        for names in chosen.groups:
            xact = next_xact_id(root)  # one id per new segment: names stay unique and in commit order
            segment, count = write_group(con, root, table, obj, names, xact, chosen.updates)
            written.append(segment)
            parts.append({"table": table, "object_id": obj, "count": count, "segment": segment.name})
        parts[0]["replaces"] = [n for names in chosen.groups for n in names]
        entry: dict[str, Any] = {"xact": xact, "time": clock.timestamp(), "op": "compact",
                                 "description": f"compact {table} {obj}"}
        if len(parts) == 1:
            entry.update(parts[0])
        else:
            entry["parts"] = parts  # the first part takes the old segments out, every part adds its new one
        txlog.append_entry(root, entry)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def remove_unlisted(root: Path, snap: txlog.Snapshot, readers: ReaderLock, *, release_own: bool) -> dict[str, int]:
    """Delete segment files the snapshot does not list as live (caller holds the writer lock).

    Files no committed line ever named are leftovers of writers killed before their commit: they are moved
    into `quarantine/` rather than deleted (if the log itself lost lines, they are the only copy). Files a
    compaction replaced are deleted, but only while no reader could be using them.
    """
    counts = {"uncommitted": 0, "replaced": 0}
    replaced: list[Path] = []
    on_disk = disk_segments(root)
    if not snap.named and any(on_disk.values()):
        return counts  # a log that names nothing while segments exist is damage, not a list of leftovers
    for (table, obj), names in on_disk.items():
        live = set(snap.files(table).get(obj, ()))
        for name in names:
            if name in live:
                continue
            path = segment_dir(root, table, obj) / name
            if (table, obj, name) in snap.named:
                replaced.append(path)
            else:
                quarantine(root, path, table, obj)
                counts["uncommitted"] += 1
    if replaced:
        with readers.exclusive(release_own=release_own) as alone:
            if alone:
                for path in replaced:
                    path.unlink(missing_ok=True)
                    counts["replaced"] += 1
    return counts


def quarantine(root: Path, path: Path, table: str, obj: str) -> Path:
    """Move a segment file out of the tables into `quarantine/<table>/<object>/` and return where it went."""
    folder = root / QUARANTINE / table / obj
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    n = 1
    while target.exists():
        target = folder / f"{path.stem}.{n}{path.suffix}"
        n += 1
    path.replace(target)
    return target
