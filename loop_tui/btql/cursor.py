"""Opaque keyset cursors: base64 JSON of the last row's sort-key values and id, tied to the query."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from loop_tui.btql.errors import BtqlError

_SQL_TYPES = {"datetime": "TIMESTAMPTZ", "int": "BIGINT", "num": "DOUBLE", "bool": "BOOLEAN"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def _restore(value: Any) -> Any:
    if isinstance(value, dict) and "$dt" in value:
        return datetime.fromisoformat(value["$dt"])
    return value


def encode_cursor(fp: str, values: list[Any] | None = None, offset: int | None = None) -> str:
    """A cursor continuing after a row with these sort-key `values` (or at a trace `offset`)."""
    body: dict[str, Any] = {"q": fp}
    if values is not None:
        body["v"] = [_plain(v) for v in values]
    if offset is not None:
        body["offset"] = offset
    return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fp: str, q: Any = None) -> dict[str, Any]:
    """The payload of a cursor made for the query with fingerprint `fp`; anything else is a bind error."""
    span = getattr(q, "clause_spans", {}).get("cursor") if q is not None else None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(body, dict):
            raise ValueError
    except ValueError:
        raise BtqlError.at("bind", "bad_cursor", "This cursor is not one Loop TUI returned.", span,
                           hint="Use the cursor from the previous page of the same query.") from None
    if body.get("q") != fp:
        raise BtqlError.at("bind", "bad_cursor", "This cursor belongs to a different query.", span,
                           hint="Cursors only work with the query that produced them (same filter and sort).")
    if "v" in body:
        body["v"] = [_restore(v) for v in body["v"]]
    return body


def keyset_condition(payload: dict[str, Any], dirs: list[str], types: list[str], params: Any) -> str:
    """Rows strictly after the cursor row in (keys…, id) order, with NULLS LAST asc / NULLS FIRST desc."""
    values = payload.get("v")
    if not isinstance(values, list) or len(values) != len(dirs):
        raise BtqlError("bind", "bad_cursor", "This cursor belongs to a different query.")
    cond = "false"
    for i in reversed(range(len(dirs))):
        col = f'"__k{i}"' if i < len(dirs) - 1 else '"__kid"'
        v = values[i]
        if v is None:
            after = "false" if dirs[i] == "asc" else f"{col} IS NOT NULL"
            equal = f"{col} IS NULL"
        else:
            p = params.add(v, _SQL_TYPES.get(types[i], "VARCHAR"))
            after = f"({col} > {p} OR {col} IS NULL)" if dirs[i] == "asc" else f"{col} < {p}"
            equal = f"{col} = {p}"
        cond = f"({after} OR ({equal} AND {cond}))"
    return cond
