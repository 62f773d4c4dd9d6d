"""Typed copies of the `scores` and `metrics` maps: one STRUCT column each, a DOUBLE field per key.

A MAP column stores every row's keys next to its values, so reading one score means decoding all the
keys of every row (6–8× slower than a Parquet column at 200k spans). Each span segment therefore also
holds `_scores_t` and `_metrics_t`: a field for every key that occurs in the segment, null where the row
does not have the key or its value is null. The maps stay the source of truth (they alone tell a null
score from an absent one); the typed columns are a read-only copy for BTQL, which reads `scores.X` from
them when the key has a field (see `btql.schema.typed_fields`).

Field names are the keys encoded so that DuckDB's case-insensitive names cannot merge two keys that differ
only in case (`Factuality` -> `~46;actuality`), and every typed struct has the field `~` (always null): it
marks a segment written with typed columns, so a struct is never empty. Segments written before typed
columns existed (store format 2) have none; the views build the struct for them from the map (`views`).
"""

from __future__ import annotations

import string
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

TYPED = {"scores": "_scores_t", "metrics": "_metrics_t"}
TYPED_TABLES = ("project_logs", "experiment")
MARKER_FIELD = "~"
TYPED_MARKER = b"loop_tui.typed_copies"  # in the Parquet metadata of every segment written with typed copies
MAX_TYPED_KEYS = 256  # a segment with more distinct keys keeps only its map (its views then build the struct)
_PLAIN = frozenset(string.ascii_lowercase + string.digits + "_")


def field_name(key: str) -> str:
    """The struct field holding `key`: lowercase letters, digits and `_` kept, anything else `~<hex>;`."""
    return "".join(c if c in _PLAIN else f"~{ord(c):x};" for c in key)


def key_of_field(name: str) -> str:
    """Inverse of `field_name`."""
    out, i = [], 0
    while i < len(name):
        if name[i] == "~":
            end = name.index(";", i)
            out.append(chr(int(name[i + 1:end], 16)))
            i = end + 1
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def map_keys(column: pa.ChunkedArray | pa.Array) -> set[str]:
    """The distinct keys of a MAP column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return {k for chunk in chunks for k in pc.unique(_flat_entries(chunk)[0]).to_pylist() if k is not None}


def _flat_entries(chunk: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(keys, values, row of each entry) of a MAP array, slices included (`MapArray.keys` ignores a slice's
    offset, and pyarrow's list kernels do not take MAP arrays: they see it as a list of key-value structs)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    entries = chunk.cast(pa.list_(pa.struct([("key", pa.string()), ("value", pa.float64())])))
    flat = pc.list_flatten(entries)
    return pc.struct_field(flat, [0]), pc.struct_field(flat, [1]), pc.list_parent_indices(entries)


def _typed_struct(column: pa.ChunkedArray, keys: set[str] | None = None) -> pa.ChunkedArray | None:
    import pyarrow as pa

    keys = map_keys(column) if keys is None else keys
    if len(keys) > MAX_TYPED_KEYS:
        return None
    ordered = sorted(keys)
    names = [field_name(k) for k in ordered] + [MARKER_FIELD]
    struct_type = pa.struct([(name, pa.float64()) for name in names[:-1]] + [(MARKER_FIELD, pa.bool_())])
    chunks = []
    for chunk in column.chunks:
        values = _key_columns(chunk, ordered)
        values.append(pa.nulls(len(chunk), pa.bool_()))
        chunks.append(pa.StructArray.from_arrays(values, names=names))
    return pa.chunked_array(chunks, type=struct_type)


def _key_columns(chunk: pa.Array, ordered: list[str]) -> list[pa.Array]:
    """One float64 array per key of `ordered`: the key's value in each row of the MAP array `chunk` (null where
    absent or null; the first one where a row repeats a key, as `map_lookup(..., "first")`).

    All keys in one scatter over the map's entries: looking each key up in every row cost ~8x as much,
    a third of a streamed import's typed pass."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n, width = len(chunk), len(ordered)
    if not width:
        return []
    keys, value, parents = _flat_entries(chunk)
    codes = pc.index_in(keys, value_set=pa.array(ordered, pa.string()))
    known = codes.is_valid().to_numpy(zero_copy_only=False)
    key_index = codes.fill_null(0).to_numpy()[known]
    rows = parents.to_numpy()[known]
    present = np.zeros((width, n), dtype=bool)
    present[key_index, rows] = True
    if np.count_nonzero(present) < len(rows):
        # A row repeating a key: keep the first, exactly as a per-key lookup does (rare; never from JSON).
        return [pc.map_lookup(chunk, pa.scalar(k, pa.string()), "first").cast(pa.float64()) for k in ordered]
    grid = np.zeros((width, n))
    grid[key_index, rows] = value.fill_null(0.0).to_numpy()[known]
    present[key_index, rows] = value.is_valid().to_numpy(zero_copy_only=False)[known]
    return [pa.array(grid[j], mask=~present[j]) for j in range(width)]


def with_typed_columns(data: pa.Table, keys: dict[str, set[str]] | None = None) -> pa.Table:
    """`data` (span rows) with fresh `_scores_t`/`_metrics_t` columns computed from its maps; with `keys`
    (map column -> every key of the whole segment), a batch of a segment written in parts gets the same
    fields as every other batch of it."""
    import pyarrow as pa

    for source, typed in TYPED.items():
        if typed in data.column_names:
            data = data.drop_columns([typed])
        if source not in data.column_names or not pa.types.is_map(data.schema.field(source).type):
            continue
        struct = _typed_struct(data.column(source), None if keys is None else keys.get(source, set()))
        if struct is not None:
            data = data.append_column(typed, struct)
    return data.replace_schema_metadata({**(data.schema.metadata or {}), TYPED_MARKER: b"1"})


class _Footer:
    """What the views need from one segment's footer."""

    __slots__ = ("typed", "names", "signature", "written_typed", "untyped_signature", "typed_present")

    def __init__(self, typed: dict[str, list[str]], names: frozenset[str], signature: str,
                 written_typed: bool = False, untyped_signature: str = "", typed_present: tuple[str, ...] = ()) -> None:
        self.typed, self.names, self.signature = typed, names, signature
        self.written_typed = written_typed  # by a store that writes typed copies (even if it kept none)
        # The schema without the typed columns, and which typed columns the file has (in file order).
        self.untyped_signature, self.typed_present = untyped_signature, typed_present


_footers: dict[tuple[str, int, int], _Footer] = {}
_footers_lock = threading.Lock()
_UNREADABLE = _Footer({}, frozenset(), "")


def _footer(path: Path) -> _Footer:
    """The segment's typed fields, column names and schema (cached by path, size and time: segments never change)."""
    import os

    try:
        st = os.stat(path)
    except OSError:
        return _UNREADABLE
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _footers_lock:
        hit = _footers.get(key)
    if hit is not None:
        return hit
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception:  # noqa: BLE001 - a damaged footer: the view's own read reports it (see `health`)
        return _UNREADABLE
    found: dict[str, list[str]] = {}
    for typed in TYPED.values():
        index = schema.get_field_index(typed)
        if index >= 0 and pa.types.is_struct(schema.field(index).type):
            struct = schema.field(index).type
            found[typed] = [struct.field(i).name for i in range(struct.num_fields)]
    untyped = pa.schema([f for f in schema.remove_metadata() if f.name not in _TYPED_COLUMNS])
    info = _Footer(found, frozenset(schema.names), schema.remove_metadata().to_string(show_field_metadata=False),
                   TYPED_MARKER in (schema.metadata or {}), signature_of(untyped),
                   tuple(n for n in schema.names if n in _TYPED_COLUMNS))
    with _footers_lock:
        if len(_footers) > 100_000:
            _footers.clear()
        _footers[key] = info
    return info


_TYPED_COLUMNS = frozenset(TYPED.values())


def signature_of(schema: pa.Schema) -> str:
    """A schema's column names and types as DuckDB reads them, in order, as one comparable string (the names
    Parquet writers give list items and map entries differ, and DuckDB ignores them)."""
    return ", ".join(f"{f.name}: {_shape(f.type)}" for f in schema)


def _shape(kind: pa.DataType) -> str:
    import pyarrow as pa

    if pa.types.is_map(kind):
        return f"map<{_shape(kind.key_type)}, {_shape(kind.item_type)}>"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return f"list<{_shape(kind.value_type)}>"
    if pa.types.is_struct(kind):
        return "struct<" + ", ".join(f"{kind.field(i).name}: {_shape(kind.field(i).type)}"
                                     for i in range(kind.num_fields)) + ">"
    return str(kind)


def typed_columns_if_untyped_schema_is(paths: list[Path], schema: pa.Schema) -> list[str] | None:
    """The typed columns the segments have, if every one of `paths` has exactly `schema` besides them (the
    same typed columns too, in the same places); else None.

    Such segments can be read without `union_by_name`, which made DuckDB open every file's footer to bind a
    view: ~0.15 s per view at 200 segments, for each of a table's views on each new connection.
    """
    infos = [_footer(p) for p in paths]
    if not infos or not infos[0].signature:
        return None
    wanted = signature_of(schema)
    first = infos[0]
    if any(i.untyped_signature != wanted or i.typed_present != first.typed_present for i in infos):
        return None
    return list(first.typed_present)


def full_signature(path: Path) -> str:
    """A segment's whole schema (typed columns included) as one comparable string; "" if unreadable."""
    return _footer(path).signature


def segment_typed_fields(path: Path) -> dict[str, list[str]]:
    """{typed column: its field names} of one segment; a segment of store format 2 gives {}."""
    return _footer(path).typed


def needs_typed_copies(path: Path) -> bool:
    """Whether a segment predates typed copies (store format 2): compaction rewrites it with them."""
    info = _footer(path)
    return bool(info.signature) and not info.written_typed


def same_full_schema(paths: list[Path], required: list[str]) -> bool:
    """Whether the segments share one schema that has every `required` column (no union by name needed)."""
    infos = [_footer(p) for p in paths]
    if not infos or not infos[0].signature:
        return False
    first = infos[0]
    return all(i.signature == first.signature for i in infos) and first.names.issuperset(required)


def struct_from_map_sql(source: str, fields: list[str]) -> str:
    """SQL building a typed struct with `fields` from the map column `source` (for format-2 segments)."""
    parts = []
    for name in fields:
        quoted = '"' + name.replace('"', '""') + '"'
        if name == MARKER_FIELD:
            parts.append(f"{quoted} := CAST(NULL AS BOOLEAN)")
        else:
            key = key_of_field(name).replace("'", "''")
            parts.append(f"{quoted} := CAST(\"{source}\"['{key}'] AS DOUBLE)")
    return f"struct_pack({', '.join(parts)})"


def fully_typed(path: Path) -> bool:
    """Whether a segment has both typed columns (written by this store format, with few enough keys)."""
    return len(segment_typed_fields(path)) == len(TYPED)


def typed_fields_of(paths: list[Path]) -> dict[str, list[str]]:
    """{typed column: the union of its fields over `paths`, first-seen order}."""
    union: dict[str, dict[str, None]] = {}
    for path in paths:
        for typed, names in segment_typed_fields(path).items():
            union.setdefault(typed, {}).update(dict.fromkeys(names))
    return {typed: list(names) for typed, names in union.items()}
