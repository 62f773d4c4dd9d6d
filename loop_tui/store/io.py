"""Import and export of rows in Braintrust's row format: JSONL, CSV and Parquet.

JSONL is the lossless, canonical form (what the Braintrust SDKs log and its API returns). CSV and
Parquet keep every field too: a value that is not a plain string is written as JSON text, and a string
that would read back as JSON is JSON-quoted, so reading the file back gives the same values. Readers
yield a row at a time (`iter_rows`), so an import never holds the file; a malformed line or cell is a
`UserError` naming its line, and `import_file` then commits nothing. Export's half is `export_rows`.
"""

from __future__ import annotations

import csv
import io
import json
import re
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
            _strict_loads(value)
        except (ValueError, RecursionError):
            return value
        return json.dumps(value, ensure_ascii=False)  # would read back as JSON: quote it
    return _export_json(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _strict_loads(text: str) -> Any:
    """JSON as RFC 8259 has it: NaN and Infinity are text, not numbers."""
    return json.loads(text, parse_constant=_reject_constant)


def _text_to_cell(text: str) -> Any:
    if text == "":
        return None
    try:
        return _strict_loads(text)
    except ValueError:
        return text


# A JSON escape of a UTF-16 surrogate: lines without one cannot decode to half a pair (the cheap test).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _half_pair_error(value: Any, name: str, line: int) -> UserError | None:
    """The sentence for a value holding a lone UTF-16 surrogate (JSON allows `"\\ud83d"` alone; UTF-8 and
    so no store can hold it), else None. A string cut inside an emoji by a JavaScript logger is the usual source."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        half = f"\\u{ord(exc.object[exc.start]):04x}"
        return UserError(f"{name} line {line}: `{half}` is half of a UTF-16 pair, not a character (a string cut "
                         "inside an emoji?); remove it or complete the pair")
    return None


def _utf8_error(raw: bytes, exc: UnicodeDecodeError, name: str, first_line: int = 1) -> UserError:
    """The sentence for bytes that are not UTF-8, naming the line and column of the first bad byte."""
    line = first_line + raw.count(b"\n", 0, exc.start)
    column = exc.start - raw.rfind(b"\n", 0, exc.start)
    return UserError(
        f"{name} line {line}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {column}); save the file as UTF-8"
    )


class ReadProgress:
    """How far a reader got: bytes of the file consumed (for a progress bar's MB/s and ETA)."""

    def __init__(self) -> None:
        self.bytes = 0


def check_readable(path: Path) -> None:
    """A `UserError` unless `path` is an existing regular file."""
    if not path.exists():
        raise UserError(f"no such file: {path}")
    if not path.is_file():
        raise UserError(f"{path} is not a regular file")


def read_rows(path: Path, fmt: str) -> list[dict[str, Any]]:
    """Read every row of a file; a malformed line or cell is a `UserError` naming its line.

    Holds the whole file: imports use `iter_rows`, which reads it a row at a time.
    """
    return list(iter_rows(path, fmt))


def iter_rows(path: Path, fmt: str, progress: ReadProgress | None = None) -> Iterator[dict[str, Any]]:
    """The file's rows one at a time (each with its `__line__`), never the whole file in memory."""
    check_readable(path)
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; use jsonl, csv or parquet")
    progress = progress or ReadProgress()
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[fmt]
    try:
        yield from reader(path, progress)
    except OSError as exc:
        raise UserError(f"cannot read {path} ({exc.strerror})") from None


def _read_jsonl(path: Path, progress: ReadProgress) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as fh:
        for n, raw in enumerate(fh, 1):
            progress.bytes += len(raw)
            row = jsonl_row(raw, path.name, n)
            if row is not None:
                yield row


def jsonl_row(raw: bytes, name: str, n: int) -> dict[str, Any] | None:
    """Line `n` of JSONL file `name` (its bytes, newline included) as a row with its `__line__`; None for a blank
    line; a `UserError` naming the line for anything else. The fast paths name a bad line with it too."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _utf8_error(raw, exc, name, n) from None
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{name} line {n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise UserError(f"{name} line {n}: not valid JSON ({exc})") from None
    except RecursionError:
        raise UserError(f"{name} line {n}: nested too deeply (more than ~1,000 levels)") from None
    if not isinstance(row, dict):
        raise UserError(f"{name} line {n}: each line must be a JSON object, got {type(row).__name__}")
    if _SURROGATE_ESCAPE.search(line) and (half := _half_pair_error(row, name, n)):
        raise half
    row["__line__"] = n
    return row


class _CountingReader(io.RawIOBase):
    """A binary file that counts the bytes read through it."""

    def __init__(self, fh: Any, progress: ReadProgress) -> None:
        self._fh, self._progress = fh, progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._fh.readinto(buffer)
        self._progress.bytes += n or 0
        return n


def _read_csv(path: Path, progress: ReadProgress) -> Iterator[dict[str, Any]]:
    # Cells can hold whole documents (LLM inputs); the csv module's default cap is 128 KiB.
    csv.field_size_limit(2**31 - 1)
    with open(path, "rb") as raw_fh:
        text = io.TextIOWrapper(io.BufferedReader(_CountingReader(raw_fh, progress), 1 << 20), encoding="utf-8",
                                newline="")
        # strict: a file that ends inside a quoted cell (cut short) is an error, not a cell holding the rest.
        reader = csv.DictReader(text, strict=True)
        row_start = 1  # the line where the row being read begins (a quoted cell may span lines)
        try:
            if not reader.fieldnames:
                raise UserError(f"{path.name}: the CSV file has no header row")
            row_start = reader.line_num + 1
            for row in reader:
                if None in row:
                    raise UserError(f"{path.name} line {reader.line_num}: more cells than header columns")
                try:
                    out = {k: _text_to_cell(v or "") for k, v in row.items()}
                except RecursionError:
                    raise UserError(f"{path.name} line {reader.line_num}: a cell is nested too deeply") from None
                if any(v and _SURROGATE_ESCAPE.search(v) for v in row.values()) and (
                        half := _half_pair_error(out, path.name, reader.line_num)):
                    raise half
                out["__line__"] = reader.line_num
                yield out
                row_start = reader.line_num + 1
        except csv.Error as exc:
            if str(exc) == "unexpected end of data":
                raise UserError(f"{path.name} line {row_start}: the file ends inside a quoted cell (is it cut short?); "
                                "close the quote or remove the row") from None
            raise UserError(f"{path.name} line {row_start}: not valid CSV ({exc})") from None  # line_num lags a line
        except UnicodeDecodeError:
            raise _first_utf8_error(path) from None


def _first_utf8_error(path: Path) -> UserError:
    """The sentence for the first byte of `path` that is not UTF-8, found a chunk at a time."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    line, offset, line_start = 1, 0, 0  # line_start: file offset of the current line's first byte
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            pending = len(decoder.getstate()[0])  # bytes of a character cut at the last chunk's end
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:  # exc.object is the pending bytes, then this chunk
                bad = offset - pending + exc.start
                before = max(0, bad - offset)
                line += chunk.count(b"\n", 0, before)
                newline = chunk.rfind(b"\n", 0, before)
                if newline >= 0:
                    line_start = offset + newline + 1
                return UserError(f"{path.name} line {line}: not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at "
                                 f"column {bad - line_start + 1}); save the file as UTF-8")
            line += chunk.count(b"\n")
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                line_start = offset + newline + 1
            offset += len(chunk)
    return UserError(f"{path.name}: not valid UTF-8 (it ends inside a character); save the file as UTF-8")


PARQUET_BATCH_ROWS = 10_000


def _read_parquet(path: Path, progress: ReadProgress) -> Iterator[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
        ours = (parquet.schema_arrow.metadata or {}).get(_JSON_COLUMNS_MARKER) == b"1"
        batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise UserError(f"{path.name}: not a readable Parquet file ({type(exc).__name__})") from None
    size = max(1, path.stat().st_size)
    total = max(1, parquet.metadata.num_rows)
    first = 1
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - a damaged page, of any of pyarrow's error types
            raise UserError(f"{path.name}: not a readable Parquet file ({type(exc).__name__})") from None
        rows = _parquet_rows(pa.Table.from_batches([batch]), path.name, first)
        for n, row in enumerate(rows, first):
            for key, value in list(row.items()):
                if ours and isinstance(value, str) or isinstance(value, str) and value[:1] in "{[" and key in sch.SPAN_JSON_FIELDS:
                    try:
                        row[key] = _text_to_cell(value)
                    except RecursionError:
                        raise UserError(f"{path.name} row {n}: `{key}` is nested too deeply") from None
                elif isinstance(value, list) and value and isinstance(value[0], tuple):
                    row[key] = dict(value)  # an Arrow MAP comes back as key/value pairs
            row["__line__"] = n
        first += len(rows)
        progress.bytes = size * (first - 1) // total
        yield from rows


def _parquet_rows(table: Any, name: str, first_row: int = 1) -> list[dict[str, Any]]:
    """The table as Python rows; a value Python cannot hold (a timestamp past year 9999) names its place."""
    try:
        return table.to_pylist()
    except (OverflowError, ValueError, ArithmeticError):
        pass
    for column in table.column_names:
        values = table.column(column)
        for n in range(len(values)):
            try:
                values[n].as_py()
            except (OverflowError, ValueError, ArithmeticError) as exc:
                raise UserError(
                    f"{name} row {first_row + n}: column `{column}` holds a value out of range ({exc}); "
                    "timestamps must fall in the years 1 to 9999"
                ) from None
    raise UserError(f"{name}: the file holds values that cannot be read")


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


def _export_json(value: Any) -> str:
    """One value as strict JSON (NaN and ±Infinity from older workspaces written as null)."""
    try:
        return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(sch.finite(value), ensure_ascii=False, default=str, allow_nan=False)


from loop_tui.store.export_rows import STDOUT, write_row_batches, write_rows  # noqa: E402 - export's half

__all__ = ["FORMATS", "STDOUT", "ReadProgress", "check_readable", "detect_format", "iter_rows", "jsonl_row",
           "normalize_for_import", "read_rows", "write_row_batches", "write_rows"]
