"""Compaction: fold each object's segments into one file, with one commit point per object.

A span object's one segment is rewritten too when it predates typed copies of the score and metric maps
(store format 2, `typed`): that is how old workspaces get BTQL's fast path.

The new segment is written first (invisible), then one log line names it and the segments it replaces:
a kill before that line leaves the old files live and the new one an uncommitted leftover; a kill after
it leaves the new file live and the old ones replaced. Readers never see both. Replaced files are
deleted only when no reader holds a snapshot that may still list them (see `segments.ReaderLock`);
otherwise a later compact, `doctor` or open removes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from loop_tui import clock
from loop_tui.store import schema as sch
from loop_tui.store import txlog
from loop_tui.store.failures import WriteFailed
from loop_tui.store.health import Damage
from loop_tui.store.segments import ReaderLock, disk_segments, next_xact_id, segment_dir, write_segment
from loop_tui.store.typed import TYPED_TABLES, needs_typed_copies

if TYPE_CHECKING:
    from loop_tui.store.workspace import Workspace

QUARANTINE = "quarantine"
ALL_TABLES = ("project_logs", "experiment", "dataset", "catalog")


def compact(ws: Workspace, table: str | None) -> tuple[int, list[Damage]]:
    """Compact (caller holds the write lock); returns how many objects changed and the damaged ones skipped."""
    ws.query("SELECT 1")  # bring the views (and what they found damaged) up to date
    damaged = dict(ws._damage)
    skipped: list[Damage] = []
    changed = 0
    for name in [table] if table else ALL_TABLES:
        col = sch.TABLES[name][1]
        for obj, files in txlog.snapshot(ws.root).files(name).items():
            if (name, obj) in damaged:
                skipped.append(damaged[(name, obj)])
                continue
            if len(files) < 2 and not (name in TYPED_TABLES and needs_typed_copies(segment_dir(ws.root, name, obj) / files[0])):
                continue  # one segment, already with typed copies of its maps (`typed`): nothing to gain
            data = ws.query_arrow(
                f"SELECT * FROM {name}_history WHERE {col} = ? ORDER BY _xact_id, id", [obj]
            ).cast(sch.TABLES[name][0])
            ids = data.column("id").to_pylist()
            updates = len(set(ids)) != len(ids) or any(data.column("_object_delete").to_pylist())
            xact = next_xact_id(ws.root)
            segment = write_segment(ws.root, name, obj, data, xact, updates)
            entry = {"xact": xact, "time": clock.timestamp(), "op": "compact", "description": f"compact {name} {obj}",
                     "table": name, "object_id": obj, "count": data.num_rows, "segment": segment.name,
                     "replaces": list(files)}
            try:
                txlog.append_entry(ws.root, entry)
            except WriteFailed:
                segment.unlink(missing_ok=True)
                raise
            changed += 1
    remove_unlisted(ws.root, txlog.snapshot(ws.root), ws._readers, release_own=True)
    return changed, skipped


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
