"""Import and export of rows in Braintrust's row format: JSONL, CSV and Parquet.

JSONL is the lossless, canonical form (what the Braintrust SDKs log and its API returns). CSV and
Parquet keep every field too: a value that is not a plain string is written as JSON text, and a string
that would read back as JSON is JSON-quoted, so reading the file back gives the same values. Imports
validate every row first and write nothing if any row is bad (the error names the line).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.store import schema as sch

FORMATS = ("jsonl", "csv", "parquet")
_JSON_COLUMNS_MARKER = b"loop_tui.json_columns"


def detect_format(path: Path, explicit: str | None = None) -> str:
    """The file format from `--format` or the file extension."""
    if explicit:
        return explicit
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if suffix in ("csv", "parquet"):
        return suffix
    raise UserError(f"cannot tell the format of {path.name}: use a .jsonl, .csv or .parquet file, or pass --format")


def _cell_to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
        return json.dumps(value, ensure_ascii=False)  # would read back as JSON: quote it
    return json.dumps(value, ensure_ascii=False, default=str)


def _text_to_cell(text: str) -> Any:
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def read_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    """Read every row of a file; a malformed line or cell is a `UserError` naming its line."""
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if fmt == "jsonl":
        return list(_read_jsonl(path))
    if fmt == "csv":
        return list(_read_csv(path))
    if fmt == "parquet":
        return _read_parquet(path)
    raise UserError(f"unknown format {fmt!r}; use jsonl, csv or parquet")


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(f"{path.name} line {n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(row, dict):
                raise UserError(f"{path.name} line {n}: each line must be a JSON object, got {type(row).__name__}")
            row["__line__"] = n
            yield row


def _read_csv(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise UserError(f"{path.name}: the CSV file has no header row")
        for row in reader:
            if None in row:
                raise UserError(f"{path.name} line {reader.line_num}: more cells than header columns")
            out = {k: _text_to_cell(v or "") for k, v in row.items()}
            out["__line__"] = reader.line_num
            yield out


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise UserError(f"{path.name}: not a readable Parquet file ({type(exc).__name__})") from None
    ours = (table.schema.metadata or {}).get(_JSON_COLUMNS_MARKER) == b"1"
    rows = table.to_pylist()
    for n, row in enumerate(rows, 1):
        for key, value in list(row.items()):
            if ours and isinstance(value, str) or isinstance(value, str) and value[:1] in "{[" and key in sch.SPAN_JSON_FIELDS:
                row[key] = _text_to_cell(value)
            elif isinstance(value, list) and value and isinstance(value[0], tuple):
                row[key] = dict(value)  # an Arrow MAP comes back as key/value pairs
        row["__line__"] = n
    return rows


def normalize_for_import(table: str, rows: Iterable[dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Validate all rows (all-or-nothing) and strip fields the store assigns itself."""
    normalize = sch.normalize_dataset_row if table == "dataset" else sch.normalize_span
    out = []
    for row in rows:
        line = row.pop("__line__", None)
        for field in ("_xact_id", "_object_delete", "project_id", "experiment_id", "dataset_id"):
            row.pop(field, None)
        out.append(normalize(row, f"{source} line {line}"))
    return out


def write_rows(rows: list[dict[str, Any]], fmt: str, out: Path | None) -> None:
    """Write Braintrust-format rows to `out` (or stdout for jsonl/csv)."""
    import sys

    if fmt == "parquet":
        if out is None:
            raise UserError("Parquet export needs --out FILE")
        _write_parquet(rows, out)
        return
    if out is None:
        _write_text(rows, fmt, sys.stdout)
        return
    tmp = out.with_name(f".{out.name}.part")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        _write_text(rows, fmt, fh)
    tmp.replace(out)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


def _write_text(rows: list[dict[str, Any]], fmt: str, fh: io.TextIOBase) -> None:
    if fmt == "jsonl":
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return
    columns = _columns(rows)
    writer = csv.writer(fh)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell_to_text(row.get(c)) for c in columns])


def _write_parquet(rows: list[dict[str, Any]], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = _columns(rows)
    data = {c: [None if r.get(c) is None else json.dumps(r.get(c), ensure_ascii=False, default=str) for r in rows] for c in columns}
    table = pa.table({c: pa.array(v, pa.string()) for c, v in data.items()})
    table = table.replace_schema_metadata({_JSON_COLUMNS_MARKER: b"1"})
    tmp = out.with_name(f".{out.name}.part")
    pq.write_table(table, tmp)
    tmp.replace(out)
