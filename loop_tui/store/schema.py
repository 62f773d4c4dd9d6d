"""Arrow schemas of the workspace tables and the conversion of Braintrust-format rows into them.

Representation (chosen by measurement, see benchmarks/store_bench.py): `scores` and `metrics` are
`MAP<VARCHAR, DOUBLE>` (typed numbers: ~4x faster than `json_extract` on text at 1M spans); free-form
JSON fields are JSON text columns; `metadata.model` and `span_attributes.name/type` are also shredded
into hidden columns (`_meta_model`, `_span_name`, `_span_type`) because logs pages and BTQL group and
filter by them constantly. Any top-level field we do not model is kept in `_extra` so a round trip
through import and export loses nothing.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from loop_tui import clock
from loop_tui.errors import UserError

TIMESTAMP = pa.timestamp("us", tz="UTC")
JSON_TEXT = pa.string()
NUM_MAP = pa.map_(pa.string(), pa.float64())
STR_LIST = pa.list_(pa.string())

SPAN_JSON_FIELDS = ("input", "output", "expected", "error", "metadata", "span_attributes", "origin", "context")
DATASET_JSON_FIELDS = ("input", "expected", "metadata", "origin")

SPAN_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("_xact_id", pa.int64()),
        ("_object_delete", pa.bool_()),
        ("created", TIMESTAMP),
        ("project_id", pa.string()),
        ("experiment_id", pa.string()),
        ("span_id", pa.string()),
        ("root_span_id", pa.string()),
        ("span_parents", STR_LIST),
        ("is_root", pa.bool_()),
        ("input", JSON_TEXT),
        ("output", JSON_TEXT),
        ("expected", JSON_TEXT),
        ("error", JSON_TEXT),
        ("scores", NUM_MAP),
        ("metadata", JSON_TEXT),
        ("metrics", NUM_MAP),
        ("tags", STR_LIST),
        ("span_attributes", JSON_TEXT),
        ("origin", JSON_TEXT),
        ("context", JSON_TEXT),
        ("_meta_model", pa.string()),
        ("_span_name", pa.string()),
        ("_span_type", pa.string()),
        ("_extra", JSON_TEXT),
    ]
)

DATASET_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("_xact_id", pa.int64()),
        ("_object_delete", pa.bool_()),
        ("created", TIMESTAMP),
        ("project_id", pa.string()),
        ("dataset_id", pa.string()),
        ("input", JSON_TEXT),
        ("expected", JSON_TEXT),
        ("metadata", JSON_TEXT),
        ("tags", STR_LIST),
        ("origin", JSON_TEXT),
        ("span_id", pa.string()),
        ("root_span_id", pa.string()),
        ("is_root", pa.bool_()),
        ("_extra", JSON_TEXT),
    ]
)

CATALOG_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("_xact_id", pa.int64()),
        ("_object_delete", pa.bool_()),
        ("created", TIMESTAMP),
        ("kind", pa.string()),
        ("project_id", pa.string()),
        ("name", pa.string()),
        ("data", JSON_TEXT),
    ]
)

# table name -> (schema, column holding the owning object's id)
TABLES: dict[str, tuple[pa.Schema, str]] = {
    "project_logs": (SPAN_SCHEMA, "project_id"),
    "experiment": (SPAN_SCHEMA, "experiment_id"),
    "dataset": (DATASET_SCHEMA, "dataset_id"),
    "catalog": (CATALOG_SCHEMA, "kind"),
}
DATA_TABLES = ("project_logs", "experiment", "dataset")
OBJECT_KINDS = ("project", "experiment", "dataset", "prompt", "scorer", "playground", "conversation")

# Fields the store sets itself; an imported row's own values for these are replaced.
_STORE_FIELDS = {"_xact_id", "_object_delete", "project_id", "experiment_id", "dataset_id"}
# Braintrust bookkeeping fields that do not belong to a row's content and are dropped on import.
_DROPPED_FIELDS = {"_pagination_key", "org_id", "log_id", "_meta_model", "_span_name", "_span_type", "_extra"}


# Fields that are columns (or deliberately dropped); anything else goes to `_extra`. Sets built
# once: `Schema.names` makes a new list per call, which dominated normalising at eval speeds.
_SPAN_COLUMNS = frozenset(SPAN_SCHEMA.names) | _DROPPED_FIELDS
_DATASET_COLUMNS = frozenset(DATASET_SCHEMA.names) | _DROPPED_FIELDS


def new_id() -> str:
    """A fresh row or object id (UUID4 string, as the Braintrust SDKs make them)."""
    return str(uuid.uuid4())


def to_json_text(value: Any) -> str | None:
    """Serialise a JSON-able value; None (JSON null or absent) stays None (SQL NULL).

    NaN and ±Infinity are not JSON: they are stored as null (as JavaScript's JSON.stringify writes them), so
    every export is strict JSON.
    """
    if value is None:
        return None
    try:
        return _encode_json(value)  # the common case, without strict_json's extra call (hot in eval runs)
    except ValueError:
        return strict_json(value)


def strict_json(value: Any) -> str:
    """Compact strict JSON text of `value`, non-finite numbers written as null."""
    try:
        return _encode_json(value)
    except ValueError as exc:
        if "Out of range float" not in str(exc):
            raise
        return _encode_json(finite(value))


def finite(value: Any) -> Any:
    """`value` with every NaN or ±Infinity (at any depth) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def from_json_text(text: str | None) -> Any:
    """Inverse of `to_json_text`."""
    return None if text is None else json.loads(text)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


# One encoder for every value: `json.dumps` with non-default options builds a new encoder per call,
# which was a third of the cost of normalising a span (an eval run writes five spans a row).
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default, allow_nan=False).encode


def parse_created(value: Any, where: str) -> datetime:
    """Accept an ISO-8601 string, a datetime or epoch seconds; return an aware UTC datetime."""
    if value is None:
        return clock.now()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, ValueError, OSError):
            raise UserError(
                f"{where}: `created` {value!r} is out of range: epoch seconds must fall in the years 1 to 9999"
            ) from None
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise UserError(f"{where}: `created` is not an ISO-8601 timestamp: {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise UserError(f"{where}: `created` must be an ISO-8601 string, got {type(value).__name__}")


def _num_map(value: Any, field: str, where: str) -> tuple[tuple[str, float | None], ...] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise UserError(f"{where}: `{field}` must be an object of name -> number, got {type(value).__name__}")
    items: list[tuple[str, float | None]] = []
    for key, num in value.items():
        if num is None:
            items.append((str(key), None))
            continue
        if isinstance(num, bool) or not isinstance(num, (int, float)):
            raise UserError(f"{where}: `{field}.{key}` must be a number or null, got {num!r}")
        if isinstance(num, float) and not math.isfinite(num):
            items.append((str(key), None))  # NaN and ±Infinity are not JSON: stored as null, as in every field
            continue
        try:
            items.append((str(key), float(num)))
        except OverflowError:
            raise UserError(f"{where}: `{field}.{key}` is too large for a number (over 1.8e308)") from None
    return tuple(items)  # tuples: the collector stops tracking them (see store.batch)


def _str_list(value: Any, field: str, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{where}: `{field}` must be a list of strings")
    return tuple(value)


def _check_json(value: Any, field: str, where: str) -> str | None:
    try:
        return to_json_text(value)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{where}: `{field}` is not JSON-serialisable ({exc})") from None
    except RecursionError:
        raise UserError(f"{where}: `{field}` is nested too deeply to store") from None


def _id_field(row: dict[str, Any], key: str, where: str) -> str | None:
    """A row's id-like field as text: a string, or a number written as one (CSV and hand-made files)."""
    value = row.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise UserError(f"{where}: `{key}` must be a string, got {_json_kind(value)}")


def _flag_field(row: dict[str, Any], key: str, where: str) -> bool | None:
    """A true/false field; "no" or 0 are not guessed at (a wrong guess would file a child span as a root)."""
    value = row.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise UserError(f"{where}: `{key}` must be true or false, got {_json_kind(value)}")


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "true/false"}
    return next((name for kind, name in kinds.items() if isinstance(value, kind)), "a number")


def _dict_field(row: dict[str, Any], key: str) -> dict[str, Any]:
    value = row.get(key)
    return value if isinstance(value, dict) else {}


def normalize_span(row: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate one Braintrust span row and turn it into the columns of SPAN_SCHEMA (minus store fields)."""
    if not isinstance(row, dict):
        raise UserError(f"{where}: a row must be a JSON object, got {type(row).__name__}")
    row_id = _id_field(row, "id", where) or new_id()
    span_id = _id_field(row, "span_id", where) or row_id
    root_span_id = _id_field(row, "root_span_id", where) or span_id
    parents = _str_list(row.get("span_parents"), "span_parents", where)
    is_root = _flag_field(row, "is_root", where)
    if is_root is None:
        is_root = not parents  # BTQL.md §15: derived when the SDK did not send it
    metadata = _dict_field(row, "metadata")
    attrs = _dict_field(row, "span_attributes")
    model = metadata.get("model")
    extra = {k: v for k, v in row.items() if k not in _SPAN_COLUMNS}
    out = {
        "id": row_id,
        "created": parse_created(row.get("created"), where),
        "span_id": span_id,
        "root_span_id": root_span_id,
        "span_parents": parents,
        "is_root": is_root,
        "scores": _num_map(row.get("scores"), "scores", where),
        "metrics": _num_map(row.get("metrics"), "metrics", where),
        "tags": _str_list(row.get("tags"), "tags", where),
        "_meta_model": model if isinstance(model, str) else None,
        "_span_name": attrs.get("name") if isinstance(attrs.get("name"), str) else None,
        "_span_type": attrs.get("type") if isinstance(attrs.get("type"), str) else None,
        "_extra": _check_json(extra or None, "extra fields", where),
    }
    for field in SPAN_JSON_FIELDS:
        out[field] = _check_json(row.get(field), field, where)
    return out


def normalize_dataset_row(row: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate one Braintrust dataset record and turn it into the columns of DATASET_SCHEMA."""
    if not isinstance(row, dict):
        raise UserError(f"{where}: a row must be a JSON object, got {type(row).__name__}")
    row_id = _id_field(row, "id", where) or new_id()
    span_id = _id_field(row, "span_id", where) or row_id
    root_span_id = _id_field(row, "root_span_id", where) or span_id
    is_root = _flag_field(row, "is_root", where)
    extra = {k: v for k, v in row.items() if k not in _DATASET_COLUMNS}
    # Braintrust's dataset insert API accepts `output` as a legacy alias of `expected`.
    if "expected" not in row and "output" in row:
        row = {**row, "expected": row["output"]}
        extra.pop("output", None)
    out = {
        "id": row_id,
        "created": parse_created(row.get("created"), where),
        "tags": _str_list(row.get("tags"), "tags", where),
        "span_id": span_id,
        "root_span_id": root_span_id,
        "is_root": True if is_root is None else is_root,
        "_extra": _check_json(extra or None, "extra fields", where),
    }
    for field in DATASET_JSON_FIELDS:
        out[field] = _check_json(row.get(field), field, where)
    return out


def to_arrow(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Build an Arrow table in `table`'s schema from normalised column dicts (missing columns null)."""
    schema = TABLES[table][0]
    columns = {name: [r.get(name) for r in rows] for name in schema.names}
    try:
        return pa.Table.from_pydict(columns, schema=schema)
    except UnicodeEncodeError as exc:  # readers name the line; this covers every other writer
        half = f"\\u{ord(exc.object[exc.start]):04x}"
        raise UserError(f"a text holds `{half}`, half of a UTF-16 pair and not a character, so it cannot be "
                        "stored; nothing was written") from None


def row_to_braintrust(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """Turn one stored record (as read back from Arrow) into a Braintrust-format row."""
    json_fields = SPAN_JSON_FIELDS if table != "dataset" else DATASET_JSON_FIELDS
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in {"_object_delete", "_meta_model", "_span_name", "_span_type", "_extra"}:
            continue
        if key in json_fields:
            value = from_json_text(value)
        elif key in {"scores", "metrics"} and value is not None:
            value = dict(value)
        elif key == "created" and isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
        elif key == "_xact_id" and value is not None:
            value = str(value)
        if value is None and key in {"experiment_id", "dataset_id"}:
            continue
        out[key] = value
    extra = from_json_text(record.get("_extra"))
    if isinstance(extra, dict):
        out.update(extra)
    return out
