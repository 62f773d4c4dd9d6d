"""History and undo over the append-only segments.

Compaction is in `compaction`. Undo does not delete anything: it writes a new transaction that puts each row touched by the undone
write back to its previous version (or tombstones it if the write created it). A row changed again
after the write cannot be undone silently; that is a `ConflictError` naming the later write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from loop_tui.errors import ConflictError, NotFoundError
from loop_tui.store import schema as sch
from loop_tui.store.segments import next_xact_id
from loop_tui.store.txlog import read_entries

if TYPE_CHECKING:
    from loop_tui.store.workspace import Workspace

ALL_TABLES = ("project_logs", "experiment", "dataset", "catalog")
# Log lines that change which files hold the rows, not the rows: not writes a user made or can undo.
_HOUSEKEEPING = {"compact", "baseline", "quarantine", "rebuild"}


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
    entries: list[HistoryEntry] = []
    for entry in reversed(read_entries(ws.root)):
        if entry.get("op") in _HOUSEKEEPING:
            continue
        for part in entry.get("parts") or [entry]:
            if table and part.get("table") != table:
                continue
            if object_id and part.get("object_id") != object_id:
                continue
            entries.append(
                HistoryEntry(
                    xact_id=int(entry["xact"]),
                    time=datetime.fromtimestamp(entry.get("time", 0), UTC),
                    table=part.get("table", ""),
                    object_id=part.get("object_id", ""),
                    op=entry.get("op", ""),
                    count=int(part.get("count", 0)),
                    description=entry.get("description", ""),
                    ids=list(part.get("ids", [])),
                )
            )
        if len(entries) >= limit:
            break
    return entries[:limit]


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
    parts = [ws._part(table, obj, records, new_xact, updates=True) for table, obj, records in plan]
    return ws._commit_parts(parts, new_xact, "undo", f"undo of write {xact_id}")
