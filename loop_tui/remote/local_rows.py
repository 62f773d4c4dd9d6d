"""Reading the local side of a sync: which rows changed here, and which remote version each row holds.

A pulled row keeps Braintrust's `_xact_id` as `_bt_xact_id` (the store stamps its own `_xact_id`; unknown
fields live in the row's `_extra`, so the remote one survives local edits, exports and imports).
"""

from __future__ import annotations

from typing import Any

from loop_tui.store import schema as sch

REMOTE_XACT = "_bt_xact_id"
# Fields Braintrust assigns or that name the owning object: never sent back in an insert.
_NOT_SENT = {"_xact_id", REMOTE_XACT, "project_id", "experiment_id", "dataset_id", "org_id", "log_id",
             "_pagination_key", "_object_delete"}


def xact_int(value: Any) -> int:
    """A Braintrust transaction id (decimal string) as an int for comparisons; 0 when absent."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def to_local(row: dict[str, Any]) -> dict[str, Any]:
    """A remote row as the store takes it, with the remote transaction id kept."""
    return {**row, REMOTE_XACT: str(row.get("_xact_id") or "")}


def to_event(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """A stored record (latest version) as an insert event for Braintrust; a tombstone as a delete marker."""
    if record.get("_object_delete"):
        return {"id": record["id"], "_object_delete": True}
    row = sch.row_to_braintrust(table, record)
    return {k: v for k, v in row.items() if k not in _NOT_SENT}


def latest_versions(ws: Any, table: str, object_id: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The newest local version of each given row, tombstones included, with its remote transaction id."""
    if not ids:
        return {}
    col = sch.TABLES[table][1]
    rows = ws.query(
        f"SELECT *, json_extract_string(_extra, '$.{REMOTE_XACT}') AS __remote FROM {table}_history "
        f"WHERE {col} = ? AND id IN (SELECT unnest(?::VARCHAR[])) "
        "QUALIFY row_number() OVER (PARTITION BY id ORDER BY _xact_id DESC) = 1",
        [object_id, ids],
    )
    return {r["id"]: r for r in rows}


def changed_since(ws: Any, table: str, object_id: str, local_xact: int, own: list[int]) -> dict[str, dict[str, Any]]:
    """Rows written locally after `local_xact` by anything but our own pulls (`own`): their newest versions."""
    col = sch.TABLES[table][1]
    rows = ws.query(
        f"SELECT * FROM {table}_history WHERE {col} = ? AND _xact_id > ? "
        "AND NOT list_contains(?::BIGINT[], _xact_id) "
        "QUALIFY row_number() OVER (PARTITION BY id ORDER BY _xact_id DESC) = 1",
        [object_id, int(local_xact), [int(x) for x in own]],
    )
    return {r["id"]: r for r in rows}


def max_xact(ws: Any, table: str, object_id: str) -> int:
    """The newest local write id among an object's rows (0 when it has none): later local writes are bigger."""
    col = sch.TABLES[table][1]
    rows = ws.query(f"SELECT max(_xact_id) AS x FROM {table}_history WHERE {col} = ?", [object_id])
    return int(rows[0]["x"] or 0) if rows else 0


def live_ids(ws: Any, table: str, object_id: str, ids: list[str]) -> set[str]:
    """Which of `ids` exist (not deleted) locally."""
    return {i for i, r in latest_versions(ws, table, object_id, ids).items() if not r.get("_object_delete")}
