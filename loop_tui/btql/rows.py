"""Turning a result table into plain JSON-able rows (JSON text columns decoded, times as ISO-8601 Z)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

_JSON_SCHEMA_TYPES = {"str": "string", "int": "integer", "num": "number", "bool": "boolean", "datetime": "string",
                      "map": "object", "array": "array", "json": None, "interval": "string"}


def _plain(value: Any, btql_type: str) -> Any:
    if value is None:
        return None
    if btql_type == "json" and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list) and value and isinstance(value[0], tuple) and len(value[0]) == 2:
        return {k: _plain(v, "") for k, v in value}  # a MAP comes out of Arrow as (key, value) pairs
    if isinstance(value, list):
        return [_plain(v, "") for v in value]
    if hasattr(value, "total_seconds"):
        return value.total_seconds()
    return value


def column_types(table: Any) -> dict[str, str]:
    """{column: btql type} from the field metadata the executor sets."""
    out = {}
    for f in table.schema:
        meta = f.metadata or {}
        out[f.name] = (meta.get(b"btql_type") or b"").decode()
    return out


def table_rows(table: Any) -> list[dict[str, Any]]:
    """Rows as JSON-able dicts."""
    types = column_types(table)
    return [{k: _plain(v, types.get(k, "")) for k, v in row.items()} for row in table.to_pylist()]


def json_schema(table: Any) -> dict[str, Any]:
    """A JSON Schema of the rows, as Braintrust's API returns it."""
    props = {}
    for name, t in column_types(table).items():
        js = _JSON_SCHEMA_TYPES.get(t)
        props[name] = {"type": js} if js else {}
        if t == "datetime":
            props[name]["format"] = "date-time"
    return {"type": "array", "items": {"type": "object", "properties": props}}
