"""BTQL text on the fake: Braintrust evaluates BTQL natively, so the fake evaluates it with Loop TUI's own
engine over a workspace holding the fake's current rows (rebuilt when the data changes)."""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from tests.fake_braintrust.state import FakeState

_cache: dict[int, tuple[int, Any]] = {}
_lock = threading.Lock()


def _workspace(state: FakeState) -> Any:
    """A workspace mirroring `state` (same project, experiment and dataset ids and names)."""
    from loop_tui.store import Workspace

    with _lock:
        cached = _cache.get(id(state))
        if cached and cached[0] == state.last_xact:
            return cached[1]
        ws = Workspace.open(Path(tempfile.mkdtemp(prefix="fake-bt-btql-")) / "ws")
        with state.lock:
            for project in state.projects.values():
                ws.save_object("project", "", project["name"], {}, id=project["id"])
            for kind, table in (("experiment", state.experiments), ("dataset", state.datasets)):
                for obj in table.values():
                    ws.save_object(kind, obj["project_id"], obj["name"], {}, id=obj["id"])
            for (kind, object_id), _ in list(state.rows.items()):
                rows = list(state.live_rows(kind, object_id).values())
                if rows:
                    project_id = object_id if kind == "project_logs" else rows[0].get("project_id")
                    ws.insert_rows(kind, object_id, rows, project_id=project_id)
        _cache[id(state)] = (state.last_xact, ws)
        return ws


def run_text_query(state: FakeState, query: str, cursor: str | None) -> tuple[int, Any]:
    """(status, body) of `POST /btql` with a text query: `{data, cursor, schema}` or 400 `{error}`."""
    from loop_tui.btql import BtqlError
    from loop_tui.btql import run as run_query
    from loop_tui.btql.rows import json_schema, table_rows

    try:
        result = run_query(query, _workspace(state), cursor=cursor)
    except BtqlError as err:
        return 400, {"error": f"{err.message} at line {err.line}, column {err.col}"}
    return 200, {"data": table_rows(result.table), "cursor": result.cursor, "schema": json_schema(result.table)}
