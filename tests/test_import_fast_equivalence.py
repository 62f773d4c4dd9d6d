"""Property-style check of the JSONL fast path: random tricky span lines, written by several JSON writers,
must become exactly the rows the row-by-row path (`json.loads` + `normalize_span`) makes of them.

The fast path stores DuckDB's re-serialisation of each free-form field; it may only do so for rows where
that text is byte-for-byte Python's (`1e-07` vs `1e-7`, `\\u001f` vs `\\u001F`, a repeated key...). Real
DuckDB and pyarrow, no mocks: both paths read the same file.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from loop_tui import clock
from loop_tui.store import import_fast, import_native
from loop_tui.store.import_file import row_batches
from loop_tui.store.io import ReadProgress

TRICKY_FLOATS = [1e-7, 1.5e-5, 0.0001, 0.00012, 9.99e-5, 123.456, 1e15, 9999999999999998.0, 1e16,
                 1.2345678901234567e16, 1e21, 1e22, 1.7976931348623157e308, 5e-324, -0.0, 0.1 + 0.2, 1.0, 100.0,
                 -2.5e-10, 3.0e300, float("nan"), float("inf")]
TRICKY_TEXT = ["plain", "caf\u00e9", "\U0001F600", "a\"b", "c\\d", "x,y:z", "tab\there", "line\nbreak",
               "\x01\x1f\x7f", "\u2028", "1e-7 in text", "[1e5]", "NaN", "0.00001", "\u00e9\x0b"]
KEYS = ["a", "b", "model", "name", "type", "temperature", "x\"y", "\u00e9", "role", "content"]


def _number(rng: random.Random) -> float | int:
    roll = rng.random()
    if roll < 0.4:
        return rng.choice(TRICKY_FLOATS)
    if roll < 0.6:
        return rng.choice([0, -1, 7, 2**53 + 1, 12345678901234567890, 10**25, -(10**30)])
    return rng.choice([1, -1]) * 10 ** rng.uniform(-9, 24)


def _value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice([_number(rng), rng.choice(TRICKY_TEXT), True, False, None])
    if roll < 0.6:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(KEYS) + str(n): _value(rng, depth + 1) for n in range(rng.randrange(4))}


def _finite(value: float) -> float:
    return value if math.isfinite(value) else float("nan")


def _span(rng: random.Random, n: int) -> dict:
    row: dict = {"id": f"id-{n}", "created": rng.choice(["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.123456+02:00",
                                                           "2026-01-02 03:04:05", "2026-01-02", 1767323045.25]),
                 "span_id": rng.choice([f"sp-{n}", None, ""]), "root_span_id": rng.choice(["root", None]),
                 "span_parents": rng.choice([None, [], ["root"], ["p\"q", "\u00e9"]]),
                 "input": _value(rng), "output": _value(rng), "expected": _value(rng), "error": _value(rng),
                 "metadata": rng.choice([{"model": rng.choice(["gpt-4o", 5, None]), "temperature": _number(rng)},
                                         _value(rng), None]),
                 "span_attributes": rng.choice([{"name": "llm", "type": "llm"}, {"name": 3}, "odd", None]),
                 "scores": rng.choice([None, {}, {"Factuality": _finite(rng.choice(TRICKY_FLOATS)), "b": None}]),
                 "metrics": rng.choice([None, {"start": 1767323045.5 + n, "end": 1767323047.25 + n, "tokens": n},
                                        {"tiny": rng.choice(TRICKY_FLOATS), "big": 12345678901234567}]),
                 "tags": rng.choice([None, ["prod"], ["a\"b", "x,y"]]),
                 "is_root": rng.choice([None, True, False])}
    for key in list(row):
        if rng.random() < 0.15:
            del row[key]  # absent, not null
    row["id"] = f"id-{n}"
    row["created"] = row.get("created") or "2026-01-02T03:04:05Z"  # a missing one is "now": not comparable
    if rng.random() < 0.3:
        row.update({"_xact_id": "1000", "org_id": "o", "log_id": "g", "_pagination_key": f"p{n}"})
    if rng.random() < 0.05:
        row["facets"] = {"unknown": "key"}  # goes to _extra
    keys = list(row)
    rng.shuffle(keys) if rng.random() < 0.2 else None
    return {k: row[k] for k in keys}


def _write(rng: random.Random, row: dict, duckdb_con) -> str:
    """One line as one of several writers would put it (Python's defaults, compact, DuckDB's own text)."""
    style = rng.randrange(4)
    if style == 0:
        line = json.dumps(row)  # ensure_ascii, spaces, NaN as NaN
    elif style == 1:
        line = json.dumps(row, ensure_ascii=False, separators=(",", ":"))
    else:  # DuckDB's (yyjson's) writer: `1e-7`, `0.00001`, `10000000000000000.0`, `\u001F`: the rebuilt-line path
        line = duckdb_con.execute("SELECT json(?)::VARCHAR", [json.dumps(row)]).fetchone()[0]
    if rng.random() < 0.04:  # an object repeating a key: Python keeps the last value
        line = line.replace('"scores": {"', '"scores": {"b": 0.5, "', 1).replace('"scores":{"', '"scores":{"b":0.5,"', 1)
    if rng.random() < 0.04:
        line = line[:-1] + ', "tags": ["late"]}'  # a top-level key given twice
    return line


ENGINES = {"duckdb": import_fast.span_batches, "native": import_native.span_batches}
NATIVE_BUILT = pytest.mark.skipif(not import_native.available(), reason=import_native.UNAVAILABLE)


def _tables(path: Path, engine: str = "duckdb"):
    import pyarrow as pa

    fast = pa.concat_tables(ENGINES[engine](path, "project_logs", path.name, clock.now()))
    slow = pa.concat_tables(row_batches(path, "jsonl", "project_logs", path.name, ReadProgress()))
    return fast, slow.select(fast.column_names).cast(fast.schema)


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("native", marks=NATIVE_BUILT)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_tricky_lines_are_stored_exactly_as_the_row_by_row_path_stores_them(tmp_path: Path, seed: int,
                                                                                    engine: str, monkeypatch) -> None:
    import duckdb

    rng = random.Random(seed)
    con = duckdb.connect()
    lines = [_write(rng, _span(rng, n), con) for n in range(300)]
    path = tmp_path / "tricky.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    handed_to_python = []
    real = import_fast._python_rows
    monkeypatch.setattr(import_fast, "_python_rows", lambda raws, *a: handed_to_python.extend(raws) or real(raws, *a))
    fast, slow = _tables(path, engine)
    for name in fast.column_names:
        assert fast.column(name).to_pylist() == slow.column(name).to_pylist(), name
    # Both branches ran: DuckDB took some rows itself (the test checks its conversions, not only Python's).
    assert 0 < len(handed_to_python) < len(lines) * 0.9, len(handed_to_python)
