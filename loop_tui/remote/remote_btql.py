"""BTQL that runs on Braintrust: the query text goes to `/btql` as it is, pages come back as Arrow tables.

The result has the shape of a local run (`btql.executor.Result`: an Arrow table whose columns carry a
`btql_type`, the next page's cursor), so the CLI and the grid show it the same way. A query Braintrust
rejects (400) comes back as a `BtqlError` (kind, code, message, and the line and column when Braintrust's
message gives them); transport failures stay `RemoteError`s.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from loop_tui.btql.errors import BtqlError
from loop_tui.remote.client import BraintrustClient
from loop_tui.remote.errors import RemoteError

_POSITION = re.compile(r"line (\d+),? col(?:umn)? (\d+)", re.IGNORECASE)


def run_remote(client: BraintrustClient, query: str, cursor: str | None = None) -> Any:
    """One page of `query` evaluated by Braintrust, as a `Result`."""
    from loop_tui.btql.executor import Result

    try:
        reply = client.btql(query, cursor)
    except RemoteError as err:
        if err.kind == "bad_request":
            raise query_error(err.message) from None
        raise
    return Result(rows_to_arrow(reply["data"]), reply.get("cursor") or None)


def query_error(message: str) -> BtqlError:
    """A rejected query as a `BtqlError`, placed where Braintrust's message says."""
    text = re.sub(r"^Braintrust rejected the BTQL query \(400: ?", "", message).rstrip(")")
    kind = "parse" if re.search(r"pars|syntax|expected|unexpected", text, re.IGNORECASE) else "bind"
    found = _POSITION.search(text)
    line, col = (int(found.group(1)), int(found.group(2))) if found else (1, 1)
    if found:  # the place is kept as the error's line and column, not said twice
        text = (text[: found.start()] + text[found.end():]).strip().removesuffix(" at").strip()
    return BtqlError(kind, "remote_" + kind, f"Braintrust: {text}", line, col)


def rows_to_arrow(rows: list[dict[str, Any]]) -> Any:
    """Rows of JSON values as an Arrow table: plain columns typed, anything nested or mixed as JSON text."""
    import pyarrow as pa

    names: dict[str, None] = {}
    for row in rows:
        names.update(dict.fromkeys(row))
    fields, arrays = [], []
    for name in names:
        values = [row.get(name) for row in rows]
        btql_type, array = _column(values, pa)
        fields.append(pa.field(name, array.type, metadata={b"btql_type": btql_type.encode()}))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _column(values: list[Any], pa: Any) -> tuple[str, Any]:
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return "bool", pa.array(values, pa.bool_())
    if kinds == {int}:
        return "int", pa.array(values, pa.int64())
    if kinds and kinds <= {int, float}:
        return "num", pa.array([None if v is None else float(v) for v in values], pa.float64())
    if kinds <= {str}:
        return "str", pa.array(values, pa.string())
    text = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
    return "json", pa.array(text, pa.string())


def run_with_settings(query: str, cursor: str | None = None) -> Any:
    """`run_remote` with the connection from the saved settings and the environment (the CLI's `btql --remote`)."""
    from loop_tui.remote.connection import load_connection

    with BraintrustClient(load_connection()) as client:
        return run_remote(client, query, cursor)


def run_on_braintrust(query: str, settings: Any, cursor: str | None = None, cancel: Any = None) -> Any:
    """`run_remote` with the connection from `settings` and the environment (the app's pages and Loop's tools).

    `cancel` (anything with `is_set()`) cuts short a wait between retries (a 429's `Retry-After`, a backoff)
    with the `BtqlError` a cancelled local query raises; a request already sent ends within the timeout.
    """
    from loop_tui.remote.connection import Connection

    sleep = None if cancel is None else _sleep_unless(cancel)
    with BraintrustClient(Connection.resolve(settings), sleep=sleep) as client:
        return run_remote(client, query, cursor)


def _sleep_unless(cancel: Any) -> Any:
    def sleep(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not cancel.is_set() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))  # polled: the token offers no wait of its own
        if cancel.is_set():
            raise BtqlError("runtime", "cancelled", "The query was cancelled.")

    return sleep
