"""The DuckDB path of a JSONL span import: DuckDB parses and normalises the file into Arrow batches.

Imports use the native scanner (`import_native`) where it was built; this path is the one for installs
without a C compiler, and `_finish` (the rows left to Python, the score and metric maps) serves both.

Python's `json.loads` plus `schema.normalize_span` cost ~100 µs a span (34 s for 189k SDK spans); DuckDB
reads the same file in parallel C++ in a tenth of that. It must store exactly what the row-by-row path
(`io.iter_rows` + `schema.normalize_span`) would, so the SQL below marks each row `clean` only when
every field has a shape whose conversion it reproduces exactly (string ids, ISO-8601 `created`, lists of
strings, numbers in `scores`/`metrics`, no key the schema lacks or given twice, no NaN, free-form JSON whose
text DuckDB writes as Python does: no number Python writes in another form, no control character, nothing
nested deep enough or numbered long enough for Python's limits). Any other row comes back with its raw
text and is normalised in Python by the very code of the slow path, so a batch is exact either way
(`tests/test_import_fast_equivalence.py` compares both paths on random tricky lines).

Not covered: an object repeating a key *inside* a free-form field (`"input": {"a": 1, "a": 2}`) is stored
as DuckDB writes it (both keys) where Python keeps the last; telling it needs a parse of every object.

Errors are not worded here: when DuckDB cannot read the file (a lone surrogate escape, a control character
in a string, ...), or a row fails in Python, the caller raises `RowByRow` and the import starts over on the
row-by-row path, which names the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui.errors import UserError
from loop_tui.store import schema as sch
from loop_tui.store.import_ids import ID_HASH

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 8 * 1024  # rows per Arrow batch from DuckDB (~8 MB of SDK spans)
DUCKDB_MEMORY = "256MB"
SPAN_TABLES = ("project_logs", "experiment")


class RowByRow(Exception):  # noqa: N818 - a signal, not an error shown to anyone
    """The fast path cannot take this file (or it has an error to name): use the row-by-row path."""


_FIELDS = ("id", "created", "span_id", "root_span_id", "span_parents", "is_root", *sch.SPAN_JSON_FIELDS,
           "scores", "metrics", "tags")
# Every top-level key the row-by-row path maps to a column or drops; any other key goes to `_extra`.
KNOWN_SPAN_KEYS = sorted(sch._SPAN_COLUMNS | {"dataset_id"})
_ISO = (r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
        r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$")


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# DuckDB hands JSON-typed fields back re-serialised by its own writer: minified, strings in double quotes with
# `"` and `\` escaped. So a field's shape can be checked on its text by one regular expression (linear, no
# parse): these match exactly the texts `normalize_span` takes as a list of strings or a map of numbers.
_STRING = r'"(?:[^"\\]|\\.)*"'
# At most 16 digits a side, no exponent: the numbers whose double DuckDB and Python's float() agree on
# without doubt (longer ones, and exponents, go to Python).
_NUMBER_OR_NULL = r"(?:-?[0-9]{1,16}(?:\.[0-9]{1,16})?|null)"
_STRING_LIST = rf"\[(?:{_STRING}(?:,{_STRING})*)?\]"
_NUMBER_MAP = rf"\{{(?:{_STRING}:{_NUMBER_OR_NULL}(?:,{_STRING}:{_NUMBER_OR_NULL})*)?\}}"


def _shape_ok(expr: str, pattern: str) -> str:
    return f"({expr} IS NULL OR regexp_full_match({expr}::VARCHAR, {_sql_text(pattern)}))"


def _reconstructed(patterns: list[list[str]], slot: dict[str, int]) -> str:
    """SQL: the raw line is, byte for byte, one of the file's common key orders with DuckDB's minified text of
    each value. That proves the line has exactly those keys (none the schema lacks, none twice) without
    parsing it again; lines written any other way (spaces, other escapes, other keys) are tested by a parse."""
    known = "[" + ", ".join(_sql_text(k) for k in KNOWN_SPAN_KEYS) + "]"
    parsed = (f"(list_has_all({known}, json_keys(j)) AND "
              "len(json_keys(j)) = len(list_distinct(json_keys(j))))")  # a key given twice: Python keeps the last
    rebuilt = []
    for keys in patterns:
        # One concat of every piece (a chain of `||` copies the growing text once per piece: 6x the cost).
        pieces = ", ".join(f"{_sql_text(('{' if n == 0 else ',') + json.dumps(k) + ':')}, v[{slot[k]}]"
                           for n, k in enumerate(keys))
        rebuilt.append(f"j = concat({pieces}, '}}')")
    if not rebuilt:
        return parsed
    return f"CASE WHEN {' OR '.join(rebuilt)} THEN true ELSE {parsed} END"  # a CASE: the parse runs for the rest only


def key_orders(path: Path, limit_bytes: int = 256 << 10, most: int = 8) -> list[list[str]]:
    """The distinct top-level key orders of the first lines of a JSONL file whose keys are all known (the
    first 256 KB: parsing 1 MB of lines in Python was ~0.04 s before DuckDB could start)."""
    known = set(KNOWN_SPAN_KEYS)
    found: dict[tuple[str, ...], None] = {}
    with open(path, "rb") as fh:
        lines = fh.read(limit_bytes).split(b"\n")[:-1]  # the last piece may be cut
    for line in lines:
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(row, dict) and row and known.issuperset(row):
            found.setdefault(tuple(row))
            if len(found) >= most:
                break
    return [list(keys) for keys in found]


# Numbers whose text Python writes differently from DuckDB (`1e-07` / `1e-7`, `1e+16` / `10000000000000000.0`,
# `1e-05` / `0.00001`): any exponent, 16 or more digits before a point, four zeros after `0.`, where a number
# follows `:`, `,`, `[` or a space (text in strings may match too: such a row only goes to Python). Every other
# number is, in both, the shortest text that reads back as the same double (or the integer's digits).
_PYTHON_FORMATS_NUMBER_OTHERWISE = r"(?:^|[\s:,\[])-?(?:[0-9]+(?:\.[0-9]*)?[eE]|[0-9]{16,}\.|0\.0000)"


def clean_checks(patterns: list[list[str]], slot: dict[str, int]) -> list[str]:
    """SQL conditions that together make a row clean: one the SELECT below converts exactly as Python would."""
    # Each field's JSON type from its text's first character (no parse): `"` string, `t`/`f` boolean,
    # `[` array, `{` object; a missing key or a JSON null is SQL NULL here (coalesced to `n`).
    first = {"id": '"', "span_id": '"n', "root_span_id": '"n', "created": '"n', "is_root": "tfn"}
    typed = " AND ".join(f"({field} IS NULL OR {' OR '.join(f'starts_with({field}, {_sql_text(c)})' for c in chars if c != 'n')})"
                         if "n" in chars else f"starts_with({field}, {_sql_text(chars)})" for field, chars in first.items())
    return [
        "starts_with(j, '{')",  # an object: the raw line is valid JSON, trimmed by DuckDB
        typed,
        "_id <> ''",
        _reconstructed(patterns, slot),  # any other key goes to `_extra`: Python's to build
        # The texts DuckDB writes only for the free-form fields are stored (ids, lists and map keys are decoded
        # strings, map values numbers; other fields must have their JSON type): the searches below look at
        # them alone (`_free`; the whole line, with its ids and metrics, is three times as long). Surrogate
        # escapes need no test: DuckDB refuses a lone one (the file then goes row by row), and a pair is
        # the same character in both.
        "NOT contains(_free, 'NaN') AND NOT contains(_free, 'Infinity')",  # Python reads them, stores null
        "NOT contains(_free, '\\u00')",  # a control character: DuckDB writes `\u001F`, Python `\u001f`
        f"NOT regexp_matches(_free, {_sql_text(_PYTHON_FORMATS_NUMBER_OTHERWISE)})",
        # Python refuses more than ~1,000 levels of nesting and integers of more than 4,300 digits; only
        # lines long enough to hold either are searched (a CASE evaluates its branch for those rows only).
        # (`strlen` counts bytes without decoding the text, as `length` does: counting brackets with
        # `length` and `translate` cost a third of the DuckDB pass, with `strlen` and `replace` a twentieth.)
        "CASE WHEN strlen(j) < 1000 THEN true ELSE strlen(j) - strlen(replace(replace(j, '[', ''), '{', '')) < 500 END",
        "CASE WHEN strlen(j) < 4300 THEN true ELSE NOT regexp_matches(j, '[0-9]{1000}') END",
        f"(created IS NULL OR (regexp_matches(created ->> '$', {_sql_text(_ISO)}) AND _created IS NOT NULL))",
        _shape_ok("span_parents", _STRING_LIST), _shape_ok("tags", _STRING_LIST),
        _shape_ok("scores", _NUMBER_MAP), _shape_ok("metrics", _NUMBER_MAP),
    ]


def span_query(path: Path, patterns: list[list[str]] | None = None) -> str:
    """The SELECT that reads a JSONL file of Braintrust spans into SPAN_SCHEMA's content columns.

    DuckDB reads each line once (`read_ndjson_objects`: the raw text, for the checks that need the whole
    line) and takes every field out of it with one multi-path `json_extract` (one parse; a field's JSON text
    as DuckDB writes it, SQL NULL when the key is absent, `null` when it is null). `patterns` are the key
    orders most lines have (`key_orders`): only the speed depends on them.
    """
    patterns = patterns or []
    extra_keys = sorted({k for keys in patterns for k in keys} - set(_FIELDS))
    keys = [*_FIELDS, *extra_keys]
    paths = [f"$.{k}" for k in keys] + ["$.metadata.model", "$.span_attributes.name", "$.span_attributes.type"]
    slot = {k: i + 1 for i, k in enumerate(keys)}  # SQL lists count from 1
    # JSON `null` is SQL NULL in the columns below, as the row-by-row path takes a null as absent; the raw
    # texts (`v`) keep it for the line's reconstruction.
    names = [*_FIELDS, "_model_json", "_name_json", "_type_json"]
    at = [slot[f] for f in _FIELDS] + [len(keys) + 1, len(keys) + 2, len(keys) + 3]
    fields = ", ".join(f"nullif(v[{i}], 'null') AS {name}" for i, name in zip(at, names, strict=True))
    file = _sql_text(str(path))
    clean = " AND ".join(clean_checks(patterns, slot))
    # Plain columns are not guarded by `clean`: `_finish` replaces every row that is not clean.
    json_columns = ", ".join(f"{f}::VARCHAR AS {f}" for f in sch.SPAN_JSON_FIELDS)

    def text(value: str) -> str:  # a string value's text (`metadata.model` and `span_attributes.name/type`)
        return f"CASE WHEN left({value}, 1) = '\"' THEN {value} ->> '$' END"

    return f"""
WITH lines AS (
    SELECT json::VARCHAR AS j, json_extract(json, {"[" + ", ".join(_sql_text(p) for p in paths) + "]"})::VARCHAR[] AS v
    FROM read_ndjson_objects({file})
), fields AS (
    SELECT j, v, {fields} FROM lines
), parsed AS (
    SELECT *, json_keys(scores) AS _score_keys, json_keys(metrics) AS _metric_keys,
           id ->> '$' AS _id, TRY_CAST(created ->> '$' AS TIMESTAMPTZ) AS _created,
           nullif(span_id ->> '$', '') AS _own_span_id,
           concat_ws(' ', {', '.join(sch.SPAN_JSON_FIELDS)}) AS _free
    FROM fields
), checked AS (
    SELECT *, coalesce(({clean}), false) AS clean, coalesce(_own_span_id, _id) AS _span_id FROM parsed
)
SELECT
    clean,
    CASE WHEN NOT clean THEN j END AS _raw,
    _id AS id,
    coalesce(_created, $now::TIMESTAMPTZ) AS created,
    _span_id AS span_id,
    coalesce(nullif(root_span_id ->> '$', ''), _span_id) AS root_span_id,
    CASE WHEN clean THEN json_transform(span_parents, '["VARCHAR"]') END AS span_parents,
    CASE WHEN NOT clean THEN NULL
         WHEN is_root IS NULL THEN coalesce(json_array_length(span_parents), 0) = 0
         ELSE json_transform(is_root, '"BOOLEAN"') END AS is_root,
    {json_columns},
    -- The maps as key and value lists, made MAP columns by `_with_maps`: DuckDB's json_transform to a MAP
    -- cost ~6x as much (and gives NULL for an object repeating a key).
    CASE WHEN clean THEN _score_keys END AS _score_keys,
    CASE WHEN clean THEN CAST(json_extract(scores, '$.*') AS DOUBLE[]) END AS _score_values,
    CASE WHEN clean THEN _metric_keys END AS _metric_keys,
    CASE WHEN clean THEN CAST(json_extract(metrics, '$.*') AS DOUBLE[]) END AS _metric_values,
    CASE WHEN clean THEN json_transform(tags, '["VARCHAR"]') END AS tags,
    {text("_model_json")} AS _meta_model,
    {text("_name_json")} AS _span_name,
    {text("_type_json")} AS _span_type,
    NULL::VARCHAR AS _extra,  -- a clean row has no field beyond the schema's
    hash(_id) AS {ID_HASH}  -- for `import_ids`: whether ids repeat, known without reading the segment back
FROM checked
"""


def span_batches(path: Path, table: str, source: str, now: datetime) -> Iterator[pa.Table]:
    """Normalised span batches of a JSONL file (content columns of SPAN_SCHEMA), at most BATCH_ROWS each.

    Raises `RowByRow` when the file needs the row-by-row path (DuckDB cannot read it, or a row is bad).
    """
    import duckdb

    check_fast_path(path, table)
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        try:
            reader = con.sql(span_query(path, key_orders(path)), params={"now": now}).to_arrow_reader(BATCH_ROWS)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except OSError as exc:  # DuckDB's error (a line it cannot parse, out of memory) once the batches
                    raise RowByRow(str(exc)) from None  # stream comes through pyarrow's reader as an OSError
                yield _finish(batch, table, source)
        except duckdb.Error as exc:
            raise RowByRow(str(exc)) from None
    finally:
        con.close()


def check_fast_path(path: Path, table: str) -> None:
    """Raise `RowByRow` unless a fast path (this one or the native scanner) may read `path` into `table`: a
    span table, and no byte-order mark (DuckDB skips one; the row-by-row path names it as line 1's error)."""
    if table not in SPAN_TABLES:
        raise RowByRow(table)
    with open(path, "rb") as fh:
        if fh.read(3) == b"\xef\xbb\xbf":
            raise RowByRow("a byte-order mark")


def _python_rows(raws: Sequence[str | bytes], table: str, source: str,
                 lines: list[int] | None = None) -> list[dict[str, Any]]:
    """The rows a fast path left to Python (their lines as DuckDB's text, or the scanner's bytes), read and
    normalised by the row-by-row path's own code (`io.jsonl_row`, `io.normalize_for_import`).

    With the lines' numbers (the scanner's), a bad line is named here as the row-by-row path names it (the
    first bad line: the lines before it were read, by the scanner or here); without them (DuckDB's), anything
    that path would refuse raises `RowByRow`, for it to name from the file's start.
    """
    from loop_tui.store.io import jsonl_row, normalize_for_import

    numbers = lines if lines is not None else [0] * len(raws)
    try:
        rows = []
        for raw, line in zip(raws, numbers, strict=True):
            row = jsonl_row(raw if isinstance(raw, bytes) else raw.encode(), source, line)
            if row is None:  # blank to Python (a line of form feeds...), a line to the fast path: start over
                raise RowByRow("a line only Python reads as blank")
            rows.append(row)
        return normalize_for_import(table, rows, source)
    except UserError:
        if lines is not None:
            raise
        raise RowByRow("a line the row-by-row path refuses") from None


def _finish(batch: pa.RecordBatch, table: str, source: str, lines: Any = None) -> pa.Table:
    """The batch as a table of content columns, rows the fast path left to Python normalised in Python (`lines`:
    each row's line in the file, when known, so that a bad one is named without reading the file again)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    data = _with_maps(pa.Table.from_batches([batch]))
    clean = data.column("clean")
    if pc.all(clean).as_py():
        return data.drop_columns(["clean", "_raw"])

    dirty = pc.invert(clean)
    positions = pc.indices_nonzero(dirty)
    dirty_lines = None if lines is None else [int(lines[i]) for i in positions.to_pylist()]
    records = _python_rows(pc.filter(data.column("_raw"), dirty).to_pylist(), table, source, dirty_lines)
    content = data.drop_columns(["clean", "_raw", ID_HASH])  # Python's ids may differ from the hashed ones
    fixed = sch.to_arrow(table, records).select(content.column_names)
    order = pa.concat_arrays([pc.indices_nonzero(clean), positions])
    merged = pa.concat_tables([content.filter(clean), fixed.cast(content.schema)])
    return merged.take(pc.sort_indices(order))


_MAP_PARTS = {"scores": ("_score_keys", "_score_values"), "metrics": ("_metric_keys", "_metric_values")}


def _with_maps(data: pa.Table) -> pa.Table:
    """`data` with the MAP columns `scores` and `metrics` built from their key and value lists (in place of them)."""
    import pyarrow as pa

    for name, (keys_col, values_col) in _MAP_PARTS.items():
        keys = data.column(keys_col).combine_chunks()
        values = data.column(values_col).combine_chunks()
        if not keys.offsets.equals(values.offsets):  # one value per key, always; if not, Python decides
            raise RowByRow(f"{name}: keys and values out of step")
        if not _repeats_a_key(keys):
            maps = pa.MapArray.from_arrays(keys.offsets, keys.values, values.values.cast(pa.float64()),
                                           mask=keys.is_null())
        else:  # an object repeating a key (rare): Python's dict keeps the first position and the last value
            maps = pa.array([None if k is None else tuple(dict(zip(k, v, strict=True)).items())
                             for k, v in zip(keys.to_pylist(), values.to_pylist(), strict=True)], sch.NUM_MAP)
        at = data.column_names.index(keys_col)
        data = data.drop_columns([keys_col, values_col]).add_column(at, name, maps)
    return data


def _repeats_a_key(keys: pa.ListArray) -> bool:
    """Whether some row's key list names a key twice: each (row, key) pair counted in one bincount (a hash of
    every pair cost a tenth of the import)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    flat = pc.list_flatten(keys)
    if not len(flat):
        return False
    codes = pc.dictionary_encode(flat)
    width = len(codes.dictionary)
    rows = pc.list_parent_indices(keys).to_numpy()
    pairs = rows.astype(np.int64) * width + codes.indices.cast(pa.int64()).to_numpy()
    if len(keys) * width > 64 << 20:  # very many distinct keys: a count table that big is not worth it
        return pc.count_distinct(pa.array(pairs)).as_py() < len(pairs)
    return bool(np.bincount(pairs, minlength=1).max() > 1)
