"""Adversarial, differential tests of the native JSONL span scanner (`loop_tui/store/_spanscan.c`).

Its promise: for every line, either the row it stores is exactly the row the row-by-row path
(`io.iter_rows` + `normalize_for_import` + `schema.to_arrow`) stores, or the line is "dirty" and handed to
Python. So each line below is given to the real row-by-row path on its own (a one-line file), and to the real
scanner; a line Python rejects must come back dirty, and a line the scanner calls clean must give Python's
row, float bits included (-0.0 is not 0.0). Lines are SDK-like spans, randomly mutated byte by byte, plus the
edge cases of each conversion the scanner does itself.

`LOOP_TUI_FUZZ_LINES` (mutated lines per seed) and `LOOP_TUI_FUZZ_SEEDS` (a count) make the fuzz longer, e.g.
for a run under AddressSanitizer (see the final report of the scanner's review).
"""

from __future__ import annotations

import json
import math
import os
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from loop_tui.errors import UserError
from loop_tui.store import import_native
from loop_tui.store.import_ids import ID_HASH
from loop_tui.store.io import ReadProgress

pytestmark = pytest.mark.skipif(not import_native.available(), reason="the native scanner was not built")

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
REJECTED = "rejected"  # the row-by-row path raises UserError for the line
BLANK = "blank"  # the row-by-row path skips the line


# ---------- the two paths, one line at a time ----------

def python_rows(tmp_path: Path, lines: list[bytes]) -> list[Any]:
    """What the row-by-row path makes of each line alone: a one-row table, REJECTED or BLANK."""
    import pyarrow as pa

    from loop_tui.store.import_file import row_batches

    path = tmp_path / "one.jsonl"
    out: list[Any] = []
    for line in lines:
        path.write_bytes(line + b"\n")
        try:
            tables = list(row_batches(path, "jsonl", "project_logs", path.name, ReadProgress()))
        except UserError:
            out.append(REJECTED)
            continue
        out.append(pa.concat_tables(tables) if tables else BLANK)
    return out


def scan(lines: list[bytes], newline: bytes = b"\n") -> dict[str, Any]:
    """The scanner's buffers for a chunk of these lines."""
    from loop_tui.store import _spanscan

    chunk = b"".join(line + newline for line in lines)
    return _spanscan.scan(chunk, import_native._KEYS, import_native._KEY_ROLES, import_native._META,
                          import_native._ATTRS)


def clean_flags(lines: list[bytes]) -> list[bool | None]:
    """Per line: whether the scanner calls it clean (None: it skipped the line as blank)."""
    buffers = scan(lines)
    flags = list(buffers["clean"])
    out: list[bool | None] = []
    for line in lines:
        if line.strip(b" \t\r"):
            out.append(bool(flags.pop(0)))
        else:
            out.append(None)
    assert not flags and buffers["rows"] == sum(flag is not None for flag in out)
    return out


def _exact(value: Any) -> Any:
    """A value with its floats as their exact bits (so -0.0 and 0.0 differ, NaN equals NaN)."""
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_exact(v) for v in value]
    return value


def native_rows(lines: list[bytes]) -> Any:
    """The scanner's table of lines it calls clean (so Python normalises none of them)."""
    table = import_native._batch(scan(lines), "project_logs", "f", NOW)
    return table.drop_columns([ID_HASH]) if ID_HASH in table.column_names else table


def check_lines(tmp_path: Path, lines: list[bytes]) -> dict[str, int]:
    """The promise, line by line: rejected or blank in Python -> dirty (or skipped); clean -> Python's row."""
    expected = python_rows(tmp_path, lines)
    flags = clean_flags(lines)
    counts = {"clean": 0, "dirty": 0, "rejected": 0}
    clean_lines, clean_rows = [], []
    for line, want, flag in zip(lines, expected, flags, strict=True):
        if flag is None:
            assert want is BLANK, f"the scanner skipped a line Python reads: {line!r}"
            continue
        if want is REJECTED or want is BLANK:
            counts["rejected"] += 1
            assert not flag, f"clean, but the row-by-row path refuses it: {line!r}"
            continue
        counts["clean" if flag else "dirty"] += 1
        if flag:
            clean_lines.append(line)
            clean_rows.append(want)
    if clean_lines:
        got = native_rows(clean_lines)
        for line, want, index in zip(clean_lines, clean_rows, range(len(clean_lines)), strict=True):
            want = want.select(got.column_names).cast(got.schema)
            for name in got.column_names:
                mine, theirs = got.column(name)[index].as_py(), want.column(name)[0].as_py()
                if name == "created" and json.loads(line).get("created") is None:
                    continue  # "now" in both, read at different instants
                assert _exact(mine) == _exact(theirs), f"{name}: {mine!r} != {theirs!r} for {line!r}"
    return counts


def span_line(value: str = '{"q":"hi"}', field: str = "input", **extra: str) -> bytes:
    """An SDK-like span line with `value` (JSON text) as `field` (and more fields given as JSON text)."""
    fields = {"id": '"s1"', "created": '"2026-01-02T03:04:05.123Z"', "span_id": '"s1"', "root_span_id": '"s0"',
              "span_parents": '["s0"]', "metadata": '{"model":"gpt-4o"}', "scores": '{"Factuality":0.5}',
              "span_attributes": '{"name":"llm","type":"llm"}', "output": '"answer"'} | extra
    fields[field] = value
    return ("{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}").encode()


# ---------- mutation fuzz ----------

FUZZ_LINES = int(os.environ.get("LOOP_TUI_FUZZ_LINES", "600"))
FUZZ_SEEDS = int(os.environ.get("LOOP_TUI_FUZZ_SEEDS", "0"))  # extra seeds beyond the fixed ones
# Bytes the mutations draw from: JSON's punctuation and number/escape letters, high bytes (UTF-8 lead and
# continuation bytes, invalid ones), control bytes and whitespace (JSON's and others).
ALPHABET = (b'{}[]":,\\/ u0123456789eE+-.ntfalsrTZ' + bytes(range(0x80, 0x100)) + bytes(range(0x00, 0x20))
            + b"\r\x0b\x0c\t\x7f").replace(b"\n", b"")
NUMBERS = ["0", "-0", "1", "-1", "0.5", "1.0", "1.50", "0.0001", "0.00001", "1e-05", "1e-5", "1E-05", "1.5e+16",
           "1e16", "1e+16", "12345678901234567", "0.1", "123456789012345.6", "1e308", "1e-320", "2.5e-300", "-0.0"]
TEXTS = ["plain", "caf\u00e9", "\U0001F600", 'a"b', "c\\d", "tab\t", "nl\n", "\x00\x1f\x7f", "\u2028", "\ud83d",
         "1e-7", "\u00e9\x0b", ""]


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.4:
        return rng.choice([json.loads(rng.choice(NUMBERS)), rng.choice(TEXTS), True, False, None])
    if roll < 0.65:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["a", "b", "model", "name", "type", "\u00e9"]) + str(n): _value(rng, depth + 1)
            for n in range(rng.randrange(4))}


def _sdk_span(rng: random.Random, n: int) -> dict[str, Any]:
    """A span as the SDKs log them, with now and then a field of another type or absent."""
    row: dict[str, Any] = {
        "id": f"s{n}", "span_id": rng.choice([f"s{n}", "", None]), "root_span_id": rng.choice(["s0", None]),
        "span_parents": rng.choice([None, [], ["s0"], ["p\"q", "\u00e9"]]),
        "created": rng.choice(["2026-01-02T03:04:05.123Z", "2026-01-02T03:04:05+02:00", "2024-02-29",
                               "2026-01-02 03:04", "2026-01-02T03:04:05.1234567Z", 1767323045.25]),
        "input": _value(rng), "output": _value(rng), "expected": _value(rng), "error": _value(rng),
        "metadata": rng.choice([{"model": rng.choice(["gpt-4o", 5, None])}, _value(rng), None]),
        "span_attributes": rng.choice([{"name": "llm", "type": "llm"}, {"name": 3}, "odd", None]),
        "scores": rng.choice([None, {}, {"Factuality": 0.5, "b": None}, {"x": json.loads(rng.choice(NUMBERS))}]),
        "metrics": rng.choice([None, {"start": 1767323045.5 + n, "end": 1767323047.25 + n, "tokens": n}]),
        "tags": rng.choice([None, ["prod"], ["a\"b", "x,y"]]),
        "is_root": rng.choice([None, True, False]),
        "_xact_id": "1000", "org_id": "o", "log_id": "g", "_pagination_key": f"p{n}",
    }
    for key in list(row):
        if key != "id" and rng.random() < 0.15:
            del row[key]
    return row


def _written(rng: random.Random, row: dict[str, Any]) -> bytes:
    style = rng.randrange(3)
    if style == 0:
        text = json.dumps(row)  # Python's defaults: ASCII escapes, spaces
    elif style == 1:
        text = json.dumps(row, ensure_ascii=False, separators=(",", ":"))  # the SDKs'
    else:
        text = json.dumps(row, ensure_ascii=False, indent=None, separators=(" , ", " : "))
    return text.encode("utf-8", "surrogatepass")


def _mutated(rng: random.Random, line: bytes) -> bytes:
    data = bytearray(line)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        at = rng.randrange(len(data) + 1)
        edit = rng.randrange(3)
        if edit == 0 or not data:
            data[at:at] = bytes([rng.choice(ALPHABET)])
        elif edit == 1:
            del data[min(at, len(data) - 1)]
        else:
            data[min(at, len(data) - 1)] = rng.choice(ALPHABET)
    return bytes(data)


def _fuzz_lines(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    lines = []
    for n in range(count):
        line = _written(rng, _sdk_span(rng, n))
        lines.append(line if rng.random() < 0.3 else _mutated(rng, line))
    return lines


@pytest.mark.parametrize("seed", [1, 2, *range(100, 100 + FUZZ_SEEDS)])
def test_randomly_mutated_span_lines_are_dirty_or_exactly_the_row_by_row_rows(tmp_path: Path, seed: int) -> None:
    counts = check_lines(tmp_path, _fuzz_lines(seed, FUZZ_LINES))
    # Not vacuous: the scanner took many lines itself, and Python refused many mutated ones.
    assert counts["clean"] > FUZZ_LINES // 10 and counts["rejected"] > FUZZ_LINES // 5, counts
