"""History, undo and compaction over the append-only segments.

Undo does not delete anything: it writes a new transaction that puts each row touched by the undone
write back to its previous version (or tombstones it if the write created it). A row changed again
after the write cannot be undone silently; that is a `ConflictError` naming the later write.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loop_tui.errors import ConflictError, NotFoundError
from loop_tui.store import schema as sch
from loop_tui.store.segments import list_segments, next_xact_id, read_xact_log

if TYPE_CHECKING:
    from loop_tui.store.workspace import Workspace

ALL_TABLES = ("project_logs", "experiment", "dataset", "catalog")


@dataclass(frozen=True)
class HistoryEntry:
    """One write (or, for a row's history, one version of the row)."""

    xact_id: int
    time: datetime
    table: str
    object_id: str
    op: str
    count: int
    description: str = ""
    ids: list[str] = field(default_factory=list)
    row: dict[str, Any] | None = None


def history(
    ws: Workspace, table: str | None, object_id: str | None, row_id: str | None, limit: int
) -> list[HistoryEntry]:
    """Writes newest first, filtered; with `row_id`, that row's versions newest first."""
    if row_id is not None:
        return _row_history(ws, table, row_id, limit)
    entries = []
    for entry in reversed(read_xact_log(ws.root)):
        if table and entry.get("table") != table:
            continue
        if object_id and entry.get("object_id") != object_id:
            continue
        entries.append(
            HistoryEntry(
                xact_id=int(entry["xact"]),
                time=datetime.fromtimestamp(entry.get("time", 0), UTC),
                table=entry.get("table", ""),
                object_id=entry.get("object_id", ""),
                op=entry.get("op", ""),
                count=int(entry.get("count", 0)),
                description=entry.get("description", ""),
                ids=list(entry.get("ids", [])),
            )
        )
        if len(entries) >= limit:
            break
    return entries


def _row_history(ws: Workspace, table: str | None, row_id: str, limit: int) -> list[HistoryEntry]:
    out: list[HistoryEntry] = []
    for name in [table] if table else ALL_TABLES:
        col = sch.TABLES[name][1]
        rows = ws.query(
            f"SELECT * FROM {name}_history WHERE id = ? ORDER BY _xact_id DESC LIMIT ?", [row_id, limit]
        )
        for r in rows:
            deleted = bool(r.pop("_object_delete"))
            out.append(
                HistoryEntry(
                    xact_id=int(r["_xact_id"]),
                    time=datetime.fromtimestamp(int(r["_xact_id"]) / 1e6, UTC),
                    table=name,
                    object_id=str(r.get(col)),
                    op="delete" if deleted else "write",
                    count=1,
                    row=sch.row_to_braintrust(name, r) if name != "catalog" else r,
                )
            )
    out.sort(key=lambda e: e.xact_id, reverse=True)
    return out[:limit]


def undo(ws: Workspace, xact_id: int) -> int:
    """Write a transaction reversing `xact_id` (caller holds the write lock)."""
    plan: list[tuple[str, str, list[dict[str, Any]]]] = []
    found_any = False
    for table in ALL_TABLES:
        col = sch.TABLES[table][1]
        touched = ws.query(f"SELECT id, {col} AS obj FROM {table}_history WHERE _xact_id = ?", [xact_id])
        if not touched:
            continue
        found_any = True
        by_object: dict[str, list[str]] = {}
        for t in touched:
            by_object.setdefault(t["obj"], []).append(t["id"])
        for obj, ids in by_object.items():
            newer = ws.query(
                f"SELECT id, max(_xact_id) AS x FROM {table}_history WHERE {col} = ? AND _xact_id > ? "
                "AND id IN (SELECT unnest(?::VARCHAR[])) GROUP BY id LIMIT 1",
                [obj, xact_id, ids],
            )
            if newer:
                raise ConflictError(
                    f"row {newer[0]['id']} was changed again by write {newer[0]['x']}; undo that write first"
                )
            previous = ws.query(
                f"SELECT * FROM {table}_history WHERE {col} = ? AND _xact_id < ? AND id IN (SELECT unnest(?::VARCHAR[])) "
                "QUALIFY row_number() OVER (PARTITION BY id ORDER BY _xact_id DESC) = 1",
                [obj, xact_id, ids],
            )
            prev_by_id = {p["id"]: p for p in previous}
            current = ws.query(
                f"SELECT * FROM {table}_history WHERE {col} = ? AND _xact_id = ? AND id IN (SELECT unnest(?::VARCHAR[]))",
                [obj, xact_id, ids],
            )
            records = []
            for row in current:
                prev = prev_by_id.get(row["id"])
                if prev is None or prev["_object_delete"]:
                    records.append({**row, "_object_delete": True})  # the write created (or revived) it: remove it
                else:
                    records.append({**prev, "_object_delete": False})
            plan.append((table, obj, records))
    if not found_any:
        raise NotFoundError(f"no write with id {xact_id} in this workspace")
    new_xact = next_xact_id(ws.root)
    for table, obj, records in plan:
        ws._commit(table, obj, records, updates=True, op="undo", description=f"undo of write {xact_id}", xact=new_xact)
    return new_xact


def compact(ws: Workspace, table: str | None) -> int:
    """Fold each object's segments into one (caller holds the write lock); history is kept."""
    import pyarrow.parquet as pq

    changed = 0
    for name in [table] if table else ALL_TABLES:
        col = sch.TABLES[name][1]
        for obj, files in list_segments(ws.root, name).items():
            if len(files) < 2:
                continue
            data = ws.query_arrow(
                f"SELECT * FROM {name}_history WHERE {col} = ? ORDER BY _xact_id, id", [obj]
            ).cast(sch.TABLES[name][0])
            ids = data.column("id").to_pylist()
            updates = len(set(ids)) != len(ids) or any(data.column("_object_delete").to_pylist())
            last = max(int(f.name.split("-")[1]) for f in files)
            target = files[0].parent / f"seg-{last:020d}-{'u' if updates else 'i'}.parquet"
            tmp = files[0].parent / f".compact-{os.getpid()}.parquet.part"
            pq.write_table(data, tmp, compression="zstd", row_group_size=128 * 1024)
            os.replace(tmp, target)
            for f in files:
                if f != target:
                    f.unlink(missing_ok=True)
            changed += 1
            next_xact_id(ws.root)  # bump the generation so every reader rebuilds its file lists
    return changed
