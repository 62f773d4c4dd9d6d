"""Running the BTQL page's query where its source says: the local copy (DuckDB over the workspace) or
Braintrust (the text sent to `/btql` as written), one page at a time, as Arrow the grid can show."""

from __future__ import annotations

import json
import os
from typing import Any

REMOTE_LABEL = "remote: Braintrust"
LOCAL_LABEL = "local"


def braintrust_missing(settings: Any) -> str | None:
    """None when a Braintrust key is set; else the sentence saying why queries stay on the local copy."""
    from loop_tui.remote.connection import Connection

    env_name = Connection.resolve(settings).api_key_env
    if os.environ.get(env_name, "").strip():
        return None
    return (f"Braintrust is not connected, so queries run on the local copy: start loop-tui with ${env_name} "
            "set (and BRAINTRUST_API_URL for a self-hosted data plane) to run them on Braintrust.")


def run_page(query: str, *, workspace: Any, project_id: str | None, cursor: str | None, cancel: Any,
             remote_settings: Any = None) -> Any:
    """One page of results (`btql.executor.Result`): on Braintrust when `remote_settings` is given, else
    locally. Raises `BtqlError` for a query error (either side) and `RemoteError` when Braintrust is unreachable
    or refuses the key."""
    if remote_settings is not None:
        from loop_tui.remote.remote_btql import run_on_braintrust

        return run_on_braintrust(query, remote_settings, cursor, cancel)
    from loop_tui.btql import run

    return run(query, workspace, project_id, cursor=cursor, cancel=cancel)


def display_arrow(table: Any) -> Any:
    """Nested columns (maps, lists, structs) as JSON text, so the grid shows them readably."""
    import pyarrow as pa

    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        t = column.type
        if pa.types.is_map(t):
            columns[name] = pa.array(
                [None if v is None else json.dumps(dict(v), default=str) for v in column.to_pylist()], pa.string()
            )
        elif pa.types.is_list(t) or pa.types.is_struct(t) or pa.types.is_large_list(t):
            columns[name] = pa.array(
                [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()], pa.string()
            )
        elif pa.types.is_decimal(t):
            columns[name] = column.cast(pa.float64())
        else:
            columns[name] = column
    return pa.table(columns)
