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

pytestmark = pytest.mark.skipif(not import_native.available(), reason=import_native.UNAVAILABLE)

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


def scan_alone(line: bytes) -> bool | None:
    """Whether the scanner calls this line clean when it is the whole chunk, without a line end, in a buffer of
    exactly its size (numpy's, from malloc: under AddressSanitizer a read one byte past the line is caught)."""
    import numpy as np

    from loop_tui.store import _spanscan

    exact = np.frombuffer(line, np.uint8).copy() if line else np.empty(0, np.uint8)
    buffers = _spanscan.scan(exact, import_native._KEYS, import_native._KEY_ROLES, import_native._META,
                             import_native._ATTRS)
    return bool(buffers["clean"][0]) if buffers["rows"] else None


def clean_flags(lines: list[bytes]) -> list[bool | None]:
    """Per line: whether the scanner calls it clean (None: it skipped the line as blank). The same when the line
    is scanned among the others, and alone without its line end."""
    buffers = scan(lines)
    flags = list(buffers["clean"])
    out: list[bool | None] = []
    for line in lines:
        if line.strip(b" \t\r"):
            out.append(bool(flags.pop(0)))
        else:
            out.append(None)
        assert scan_alone(line) == out[-1], line
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
    import pyarrow as pa

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
                mine, theirs = got.column(name)[index], want.column(name)[0]
                if pa.types.is_timestamp(mine.type):  # as microseconds: a UTC time may fall in the year 10000
                    mine, theirs = mine.cast(pa.int64()), theirs.cast(pa.int64())
                mine, theirs = mine.as_py(), theirs.as_py()
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
           "1e16", "1e+16", "12345678901234567", "0.1", "123456789012345.6", "1e308", "1e-320", "2.5e-300", "-0.0",
           "0.30000000000000004", "1767323045.123456", "2.5e-310", "1e+400", "9007199254740993.0"]
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
    for key in ("comments", "audit_data", "\u00e9x"):  # fields the schema lacks: `_extra`
        if rng.random() < 0.2:
            row[key] = _value(rng)
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


# ---------- targeted cases: each conversion the scanner does itself, at its edges ----------

def _number_texts() -> list[str]:
    return ["0", "-0", "7", "-7", "1.0", "-1.0", "1.50", "0.0", "-0.0", "0.5", "0.0001", "0.00001", "0.00012",
            "1e-05", "1e-5", "1E-05", "1e-04", "1.5e+16", "1.5e16", "1e16", "1e+16", "1e+15", "1.0e+20", "1e+300",
            "1e+301", "1e-300", "1e-301", "1e-320", "1e308", "1.7976931348623157e+308", "1e-005", "-0e0", "-0.0e+00",
            "1234567890123456", "12345678901234567", "123456789012345.0", "1234567890123456.0", "1000000000000000.0",
            "9999999999999998.0", "10000000000000000.0", "0.1", "0.30000000000000004", "123456789012345.6",
            "1.23456789012345", "1.234567890123456", "9.99999999999999e+22", "100", "-100.25", "01", "1.", ".5",
            "-", "+1", "1e", "1e+", "NaN", "Infinity", "-Infinity", "1" * 300, "1" * 300 + ".5", "0." + "0" * 300 + "1",
            "1" * 4300, "-" + "1" * 4300, "1" * 4301, "-" + "1" * 4301, "2e-310", "4.9e-324", "9007199254740993"]


NUMBER_LINES = [span_line(n) for n in _number_texts()] + \
    [span_line("[" + n + "]", "output") for n in _number_texts()] + \
    [span_line('{"a":' + n + ',"b":null}', "scores") for n in _number_texts()] + \
    [span_line('{"tokens":' + n + "}", "metrics") for n in _number_texts()] + \
    [span_line('{"model":"m","t":' + n + "}", "metadata") for n in _number_texts()]


def test_numbers_in_every_layout_are_dirty_or_stored_as_python_stores_them(tmp_path: Path) -> None:
    counts = check_lines(tmp_path, NUMBER_LINES)
    assert counts["clean"] > len(NUMBER_LINES) // 3, counts


def test_an_integer_minus_zero_in_scores_is_stored_as_python_stores_it(tmp_path: Path) -> None:
    """json.loads makes `-0` the int 0, whose float is 0.0; strtod("-0") is -0.0 (a different float)."""
    lines = [span_line('{"a":-0}', "scores"), span_line('{"tokens":-0,"t":-0.0}', "metrics")]
    check_lines(tmp_path, lines)
    assert clean_flags(lines) == [True, True]  # ordinary numbers: the scanner's own


STRINGS = ['"plain"', r'"a\/b"', r'"\u00e9"', r'"\u00E9"', r'"\ud83d\ude00"', r'"\uD83D\uDE00"', r'"\ud83d"',
           r'"\ude00"', r'"\ud83d\u0041"', r'"\ud83d\ud83d\ude00"', r'"x\ud83d"', r'"\u0000"', r'"\u001f"',
           r'"\u001F"', r'"\u007f"', r'"\b\f\n\r\t\"\\"', r'"\x"', r'"\u12"', r'"\u12g4"', '"\x7f"', '"\u2028\u2029"',
           '"caf\u00e9"', '"\U0001F600"', '"tab\there"', '"nul\x00"', '"\x1f"', r'"\"', '"unterminated']
BAD_UTF8 = [b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",
            b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xff", b"\xfe", b"\x80",
            b"\xbf", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3\x28", b"\xe2\x28\xa1"]
GOOD_UTF8 = [b"\xc2\x80", b"\xdf\xbf", b"\xe0\xa0\x80", b"\xed\x9f\xbf", b"\xee\x80\x80", b"\xef\xbf\xbf",
             b"\xf0\x90\x80\x80", b"\xf4\x8f\xbf\xbf"]


def _string_lines() -> list[bytes]:
    lines = []
    for text in STRINGS:
        for field, template in [("input", "{}"), ("input", '{{"k":{}}}'), ("id", "{}"), ("span_id", "{}"),
                                ("tags", "[{}]"), ("span_parents", "[{}]"), ("metadata", '{{"model":{}}}'),
                                ("span_attributes", '{{"name":{},"type":{}}}'), ("scores", '{{{}:1}}'),
                                ("input", '{{{}:1}}')]:
            lines.append(span_line(template.replace("{}", text).replace("{{", "{").replace("}}", "}"), field))
    for raw in BAD_UTF8 + GOOD_UTF8:
        for template in [b'"a%sb"', b'"%s"', b'{"%s":1}', b'{"k":"x%s"}']:
            lines.append(span_line("0").replace(b'"input":0', b'"input":' + template.replace(b"%s", raw)))
        lines.append(span_line().replace(b'"s1"', b'"s' + raw + b'"', 1))  # in the id
        lines.append(span_line().replace(b'"model"', b'"mo' + raw + b'del"'))  # in a key
        lines.append(span_line().replace(b'"q":"hi"}', b'"q":"hi"}' + raw))  # after the object
        lines.append(span_line() + raw)  # the line ends inside a character
    return lines


def test_strings_with_every_escape_and_every_kind_of_bad_utf8_are_dirty_or_exact(tmp_path: Path) -> None:
    lines = _string_lines()
    counts = check_lines(tmp_path, lines)
    assert counts["clean"] > len(lines) // 4 and counts["rejected"] > len(lines) // 4, counts


def _nested(levels: int, opener: str, closer: str, inner: str = "1") -> str:
    return opener * levels + inner + closer * levels


def test_deep_nesting_and_big_objects_are_dirty_or_exact(tmp_path: Path) -> None:
    lines = []
    for levels in (1, 199, 200, 201, 1000, 5000):
        lines.append(span_line(_nested(levels, "[", "]")))
        lines.append(span_line(_nested(levels, '{"a":', "}")))
        lines.append(span_line('{"model":"m","deep":' + _nested(levels, "[", "]") + "}", "metadata"))
        lines.append(span_line(_nested(levels, "[", "]", '{"name":"n"}'), "span_attributes"))
    for keys in (255, 256, 257, 1000):
        body = ",".join(f'"k{i}":{i}' for i in range(keys))
        lines.append(span_line("{" + body + "}"))
        lines.append(span_line('{"model":"m",' + body + "}", "metadata"))
        lines.append(span_line("[{" + body + "},{" + body + "}]"))
        lines.append(span_line("{" + body + ',"k0":0}'))  # the repeat comes after the scanner stops counting
    counts = check_lines(tmp_path, lines)
    assert counts["clean"] > len(lines) // 4, counts


REPEATS = [
    span_line('"s2"', "id") + b"",  # not a repeat: control
    span_line().replace(b'"id":"s1",', b'"id":"s1","id":"s9",'),
    span_line().replace(b'"id":"s1",', b'"id":"s1","\\u0069d":"s9",'),
    span_line().replace(b'"id":"s1",', b'"\\u0069d":"s1",'),
    span_line('{"a":1,"a":2}'),
    span_line('{"a":1,"\\u0061":2}'),
    span_line('{"x":{"a":1,"a":2}}'),
    span_line('[{"a":1},{"a":2}]'),
    span_line('{"a":{"a":1},"b":{"a":2}}'),
    span_line('{"model":"a","model":"b"}', "metadata"),
    span_line('{"model":"a","mod\\u0065l":"b"}', "metadata"),
    span_line('{"mod\\u0065l":"b"}', "metadata"),
    span_line('{"model":{"model":"x"}}', "metadata"),
    span_line('[{"model":"x"}]', "metadata"),
    span_line('{"model":5}', "metadata"),
    span_line('{"name":"a","n\\u0061me":"b","type":"t"}', "span_attributes"),
    span_line('{"a":1,"a":2}', "scores"),
    span_line('{"a":1,"b":2,"a":null}', "metrics"),
    span_line().replace(b'"metadata":{"model":"gpt-4o"}', b'"metadata":{"model":"gpt-4o"},"metadata":{"model":"x"}'),
]


def test_repeated_and_escaped_keys_at_every_depth_are_dirty_or_exact(tmp_path: Path) -> None:
    counts = check_lines(tmp_path, REPEATS)
    assert counts["clean"] >= 8, counts


CREATED = ["2026-01-02", "2026-01-02T03:04", "2026-01-02 03:04", "2026-01-02T03:04:05", "2026-01-02T03:04:05Z",
           "2026-01-02T03:04Z", "2026-01-02T03:04:05+05:30", "2026-01-02T03:04:05-23:59", "2026-01-02T03:04:05+24:00",
           "2026-01-02T03:04:05+00:00", "2026-01-02T03:04:05-00:00", "2026-01-02T03:04:05+0530", "2026-01-02T03:04:05+05",
           *(f"2026-01-02T03:04:05.{'1234567'[:k]}Z" for k in range(1, 8)), "2026-01-02T03:04:05.Z",
           "2026-01-02T03:04:05.123456+01:00", "2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29", "2026-04-31",
           "2026-12-31T23:59:59.999999Z", "2026-13-01", "2026-00-10", "2026-01-00", "2026-01-02T24:00", "2026-01-02T23:60",
           "2026-01-02T23:59:60", "0999-01-01", "1000-01-01", "1000-01-01T00:00+01:00", "9999-12-31",
           "9999-12-31T23:59:59-01:00", "0001-01-01", "2026-01-02 ", " 2026-01-02", "2026-01-02T03:04:05Z ",
           "2026-01-02t03:04", "2026-01-02T03:04:05z", "2026-01-02X03:04", "2026-1-2", "20260102", "2026-01-02T0304",
           "2026-W01-1", "2026-002", "2026-01-02T03:04:05,123Z", "\\u0032026-01-02", "2026\\u002d01-02", ""]


def test_created_in_every_form_is_dirty_or_the_same_instant(tmp_path: Path) -> None:
    lines = [span_line(json.dumps(text).replace("\\\\u", "\\u"), "created") for text in CREATED]
    lines += [span_line(v, "created") for v in ("null", "1767323045", "1767323045.25", "true", "[]", "{}")]
    counts = check_lines(tmp_path, lines)
    assert counts["clean"] > len(lines) // 3, counts


def test_ids_flags_and_lists_of_every_type_are_dirty_or_exact(tmp_path: Path) -> None:
    lines = [span_line(v, field) for field in ("id", "span_id", "root_span_id")
             for v in ('""', "null", "5", "1.5", "true", "[]", '"x"', '"\\u0000"')]
    lines += [span_line(v, "is_root") for v in ("true", "false", "null", "1", '"true"', "tru", "falsey")]
    lines += [span_line(v, field) for field in ("span_parents", "tags")
              for v in ("null", "[]", '["a"]', '["a",null]', '["a",1]', '[["a"]]', '"a"', "{}", '[ "a" , "b" ]', '["a",]')]
    lines += [span_line(v, field) for field in ("scores", "metrics")
              for v in ("null", "{}", '{"a":null}', '{"a":"1"}', '{"a":true}', '{"a":[1]}', '{"a":{}}', "[]", '"x"',
                        '{"a":1e400}', '{"a":-1e400}', '{"a":NaN}', '{"a":Infinity}', '{ "a" : 1 , "b" : 2 }')]
    lines += [span_line().replace(b'"id":"s1",', b""), b'{"id":"s1"}', b"{}", b'{"id":"s1"} {}', b"[]", b'"x"',
              b"null", b'{"id":"s1","facets":{"x":1}}', b'{"id":"s1","dataset_id":"d","_xact_id":"1"}',
              b'{"id":"s1","span_id":"","root_span_id":""}', b'{"id":"s1","span_parents":[]}']
    counts = check_lines(tmp_path, lines)
    assert counts["clean"] > len(lines) // 3, counts


def test_empty_texts_first_in_their_columns_are_stored(tmp_path: Path) -> None:
    """An empty key or item written first to a column (whose buffer is not yet allocated): UndefinedBehavior-
    Sanitizer caught the scanner copying 0 bytes to a NULL buffer (run this file under it, see the docstring)."""
    for line in [span_line('{"":1}', "scores"), span_line('{"":null}', "metrics"), span_line('[""]', "tags"),
                 span_line('["",""]', "span_parents"), span_line('""', "output"), span_line('{"name":"","type":""}',
                                                                                       "span_attributes")]:
        check_lines(tmp_path, [line])
        assert clean_flags([line]) == [True]


def test_whitespace_of_every_kind_around_and_inside_a_line_is_dirty_or_exact(tmp_path: Path) -> None:
    base = span_line()
    lines = [b"", b" ", b"\t", b"\r", b" \t\r ", b"\x0b", b"\x0c", b"\xc2\xa0", b"\xe2\x80\xa8", b"\x00",
             base + b"\r", b"  " + base + b"  \r", b"\t" + base, b"\x0c" + base, base + b"\x0b", b"\xef\xbb\xbf" + base,
             base.replace(b",", b" ,\t", 3), base.replace(b'":', b'"\r:\r'), base.replace(b'":', b'"\x0c:')]
    counts = check_lines(tmp_path, lines)
    assert counts["clean"] >= 5, counts


# ---------- whole files: chunks, line ends, the fallback to the row-by-row path ----------

def _same_tables(path: Path) -> None:
    """The scanner's batches of the file hold exactly the row-by-row path's rows."""
    import pyarrow as pa

    from loop_tui.store.import_file import row_batches

    fast = pa.concat_tables(batch.drop_columns([ID_HASH]) if ID_HASH in batch.column_names else batch
                            for batch in import_native.span_batches(path, "project_logs", path.name, NOW))
    slow = pa.concat_tables(row_batches(path, "jsonl", "project_logs", path.name, ReadProgress()))
    slow = slow.select(fast.column_names).cast(fast.schema)
    assert fast.num_rows == slow.num_rows
    for name in fast.column_names:
        column = fast.column(name)
        if pa.types.is_timestamp(column.type):
            column, other = column.cast(pa.int64()), slow.column(name).cast(pa.int64())
        else:
            other = slow.column(name)
        assert _exact(column.to_pylist()) == _exact(other.to_pylist()), name


def test_a_line_of_invalid_utf8_is_named_by_the_import_not_a_decoding_traceback(tmp_path: Path, capsys) -> None:
    """The scanner hands such a line to Python as dirty; reading its raw text back must not blow up in pyarrow's
    decoder: Python names the line, as the row-by-row path does."""
    from loop_tui.cli.main import main
    from loop_tui.store import Workspace

    src = tmp_path / "bad.jsonl"
    src.write_bytes(span_line() + b"\n" + span_line().replace(b'"answer"', b'"ans\xff"') + b"\n")
    with pytest.raises(UserError) as raised:
        list(import_native.span_batches(src, "project_logs", src.name, NOW))
    assert str(raised.value) == _row_by_row_error(src)
    Workspace.open(tmp_path / "ws")
    assert main(["import", "logs", str(src), "--project", "p", "--workspace", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl line 2" in err and len(err.strip().splitlines()) == 1, err


def _row_by_row_error(path: Path) -> str:
    """The sentence the row-by-row path says of `path`."""
    from loop_tui.store.import_file import row_batches

    with pytest.raises(UserError) as raised:
        list(row_batches(path, "jsonl", "project_logs", path.name, ReadProgress()))
    return str(raised.value)


def _mixed_file_lines(count: int) -> list[bytes]:
    """SDK spans written by several writers, all of them lines the row-by-row path takes, some dirty."""
    rng = random.Random(7)
    lines = []
    for n in range(count):
        row = _sdk_span(rng, n)
        row["created"] = "2026-01-02T03:04:05.123Z"
        row["input"] = rng.choice([row.get("input"), {"deep": [[["x"]]], "n": 1.5}, "caf\u00e9 \U0001F600"])
        text = json.dumps(row, ensure_ascii=False).replace("\ud83d", "")  # no lone surrogate: every line valid
        lines.append(json.dumps(json.loads(text), ensure_ascii=rng.random() < 0.5).encode())
    return lines


@pytest.mark.parametrize("chunk_bytes", [1, 97, 4096, 8 << 20])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
def test_a_file_cut_into_chunks_anywhere_gives_the_row_by_row_rows(tmp_path: Path, monkeypatch, chunk_bytes: int,
                                                                   ending: bytes) -> None:
    """Chunks end inside lines (the next read completes them), blank and whitespace-only lines come between,
    the last line has no line end: the same rows, in the same order, as the row-by-row path."""
    monkeypatch.setattr(import_native, "CHUNK_BYTES", chunk_bytes)
    lines = _mixed_file_lines(60)
    for at, filler in [(5, b""), (9, b"   "), (20, b"\t\r"), (30, b""), (31, b" ")]:
        lines.insert(at, filler)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(ending.join(lines))  # no line end after the last
    _same_tables(path)
    flags = clean_flags([line for line in lines if line.strip()])
    assert 0 < sum(flags) < len(flags)  # both the scanner's rows and Python's in one batch


@pytest.mark.parametrize("chunk_bytes", [1, 97, 1000])
def test_a_piece_of_the_file_is_not_overwritten_while_the_scans_may_still_read_it(monkeypatch,
                                                                                  chunk_bytes: int) -> None:
    """The pieces are views of a few reused buffers; `span_batches` keeps up to THREADS + 1 of them in the scans'
    hands. Lines longer than a read took a buffer per read, so a pending piece was written over by the next
    line's bytes (the scan then read another line's text: a row lost, or RowByRow on a valid file)."""
    import io

    monkeypatch.setattr(import_native, "CHUNK_BYTES", chunk_bytes)
    data = b"\n".join(_mixed_file_lines(40)) + b"\n"
    expected = [bytes(piece) for piece in import_native._line_chunks(io.BytesIO(data))]
    assert b"".join(expected) == data
    held: list[tuple[int, memoryview]] = []
    for index, piece in enumerate(import_native._line_chunks(io.BytesIO(data))):
        held = [*held, (index, piece)][-(import_native.THREADS + 1):]
        for at, view in held:
            assert bytes(view) == expected[at], f"piece {at} changed when piece {index} was read"


def test_lines_longer_than_a_read_among_short_ones_give_the_row_by_row_rows(tmp_path: Path, monkeypatch) -> None:
    """Lines 2-5 reads long (as 16-40 MB lines are to 8 MB reads) between short ones, scanned on the threads."""
    monkeypatch.setattr(import_native, "CHUNK_BYTES", 4 << 10)
    rng = random.Random(3)
    sizes = [rng.choice([200, 200, 200, 8_000, 20_000]) for _ in range(300)]
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"s{n}", "created": "2026-01-02T03:04:05Z", "input": "x" * size})
                              for n, size in enumerate(sizes)) + "\n")
    _same_tables(path)


def test_a_line_of_20_mb_is_scanned_whole(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(import_native, "CHUNK_BYTES", 1 << 20)
    big = "x\u00e9\"\\\n" * (4 << 20)
    lines = [span_line(), json.dumps({"id": "big", "created": "2026-01-02", "input": big, "output": [big[:1000]] * 5},
                                     ensure_ascii=False).encode(), span_line('"after"')]
    assert len(lines[1]) > 20 << 20
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    _same_tables(path)
    assert clean_flags(lines) == [True, True, True]


def test_a_line_python_refuses_is_named_as_the_row_by_row_path_names_it(tmp_path: Path) -> None:
    # Named from the scanner's line numbers, without reading the file again from its start (a bad line near the
    # end of a 2 GB file cost minutes row by row, the progress bar back at zero). Blank lines count.
    for bad in [b'{"id":"x","tags":"urgent"}', b'{"id":"x"', b"[1]", b'{"id":"x","input":"\\ud83d"}',
                b'{"id":"x","created":"yesterday"}', b'{"id": true}', b'{"id":"x","a":1,"a":2,"b":',
                b'{"id":"x","input":' + b"[" * 2000 + b"]" * 2000 + b"}"]:
        path = tmp_path / "bad.jsonl"
        path.write_bytes(span_line() + b"\n\n" + span_line() + b"\n" + bad + b"\n" + span_line() + b"\n")
        with pytest.raises(UserError) as raised:
            list(import_native.span_batches(path, "project_logs", path.name, NOW))
        assert str(raised.value) == _row_by_row_error(path), bad
        assert "bad.jsonl line 4" in str(raised.value), bad


def test_a_line_only_python_reads_as_blank_sends_the_file_row_by_row(tmp_path: Path) -> None:
    from loop_tui.store.import_fast import RowByRow

    path = tmp_path / "feed.jsonl"
    path.write_bytes(span_line() + b"\n\x0c\n" + span_line() + b"\n")  # str.strip() takes the form feed
    with pytest.raises(RowByRow):
        list(import_native.span_batches(path, "project_logs", path.name, NOW))


def test_a_bad_line_in_a_later_piece_is_named_with_its_line_in_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(import_native, "CHUNK_BYTES", 4096)
    lines = [span_line() for _ in range(400)]
    lines[333] = b'{"id":"cut","input":'
    path = tmp_path / "late.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(UserError) as raised:
        list(import_native.span_batches(path, "project_logs", path.name, NOW))
    assert str(raised.value) == _row_by_row_error(path)
    assert "late.jsonl line 334:" in str(raised.value)


def test_a_lone_surrogate_is_named_with_its_line_as_the_row_by_row_path_names_it(tmp_path: Path, capsys) -> None:
    """The line is dirty and Python reads it, but its text cannot be stored: the batch's error would not know
    the line, so the import starts over row by row, whose reader names it."""
    from loop_tui.cli.main import main
    from loop_tui.store import Workspace

    src = tmp_path / "half.jsonl"
    src.write_bytes(span_line() + b"\n" + span_line('"x\\ud83d"') + b"\n")
    Workspace.open(tmp_path / "ws")
    assert main(["import", "logs", str(src), "--project", "p", "--workspace", str(tmp_path / "ws")]) == 2
    err = capsys.readouterr().err
    assert "half.jsonl line 2: `\\ud83d` is half of a UTF-16 pair" in err and len(err.strip().splitlines()) == 1, err


OOM_SCRIPT = r"""
import resource
from loop_tui.store import _spanscan, import_native as n

big = b'{"id":"big","input":"' + b"x" * (4 << 20) + b'","output":[' + b",".join([b'{"k":"y"}'] * 100000) + b']}\n'
chunk = big + b'{"id":"a","tags":["t"],"scores":{"s":1}}\n' + big + b'{"id":"b"}\n'
args = (n._KEYS, n._KEY_ROLES, n._META, n._ATTRS)
want = _spanscan.scan(chunk, *args)
_, hard = resource.getrlimit(resource.RLIMIT_AS)
base = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
outcomes = []
for extra in range(0, 64 << 20, 1 << 20):
    resource.setrlimit(resource.RLIMIT_AS, (base + extra, hard))
    try:
        got = _spanscan.scan(chunk, *args)
    except MemoryError:
        outcomes.append("MemoryError")
    else:
        outcomes.append("same" if got == want else "DIFFERENT")
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
print(" ".join(outcomes))
"""


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux's address-space limit")
def test_running_out_of_memory_anywhere_in_a_scan_raises_memoryerror_and_the_next_scan_is_whole() -> None:
    """Allocations fail at each point of a scan in turn (an address-space limit raised a MiB at a time): each
    scan either raises MemoryError or returns every row, and the process goes on (no half-built buffers)."""
    import subprocess
    import sys

    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("AddressSanitizer reserves terabytes of address space: no limit works under it")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", OOM_SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    outcomes = done.stdout.split()
    assert "DIFFERENT" not in outcomes and "MemoryError" in outcomes and outcomes[-1] == "same", outcomes


def _number_text(rng: random.Random) -> str:
    """A number as JSON's grammar allows it, digits biased to 0 and 9 (where rounding and layouts change)."""
    def digits(count: int) -> str:
        return "".join(rng.choice("0000999912345678") for _ in range(count))

    text = rng.choice(["", "-"]) + rng.choice(["0", rng.choice("123456789") + digits(rng.choice([0, 1, 2, 5, 14, 15,
                                                                                              16, 17, 20]))])
    if rng.random() < 0.6:
        text += "." + digits(rng.choice([1, 1, 2, 3, 5, 14, 15, 16, 17]))
    if rng.random() < 0.4:
        text += rng.choice("eE") + rng.choice(["", "+", "-"]) + rng.choice(["", "0", "00"]) + str(rng.randrange(330))
    return text


def test_random_number_texts_are_dirty_or_written_and_read_as_python_does() -> None:
    """Every layout of a number the grammar allows, in a free-form field and in scores: a clean row holds
    exactly `normalize_span`'s JSON text and float (thousands of numbers: a direct check, no file each)."""
    from loop_tui.store import schema as sch

    rng = random.Random(5)
    texts = [_number_text(rng) for _ in range(20000)]
    lines = [b'{"id":"x","input":%s,"scores":{"a":%s}}' % (t.encode(), t.encode()) for t in texts]
    flags = list(scan(lines)["clean"])
    clean = [(text, line) for text, line, flag in zip(texts, lines, flags, strict=True) if flag]
    got = native_rows([line for _, line in clean])
    inputs, scores = got.column("input").to_pylist(), got.column("scores").to_pylist()
    for (text, line), stored, score in zip(clean, inputs, scores, strict=True):
        want = sch.normalize_span(json.loads(line), "x")
        assert stored == want["input"], text
        assert _exact(score) == _exact(list(want["scores"])), text
    assert len(clean) > len(texts) // 4, len(clean)
