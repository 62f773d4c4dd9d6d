"""Compaction of one object in bounded memory: which segments to fold, and the streamed rewrite.

An object's segments are read by DuckDB (in commit order, no sort) and written row group by row group
into new segments of at most `SEGMENT_ROWS` rows, with the codecs, dictionaries, row-group size and typed
score/metric copies every other writer gives a segment. Memory is one row group (bounded in rows and
bytes) plus DuckDB's scan, whatever the object's size.

Segments are folded whole: an old segment's rows all land in one new segment, and no transaction is
split across two. `doctor --repair` relies on that when it rebuilds a lost log: it keeps a segment unless
another holds every transaction it holds (what a compaction replaced).

A leading run of segments that are already large (at least half of `SEGMENT_ROWS`), typed and flagged
right is kept as it is, so compacting again rewrites only what was written since.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui.store import schema as sch
from loop_tui.store.segments import (
    crash_point,
    dictionary_columns,
    publishing_segment,
    segment_compression,
    segment_dir,
    segment_name,
)
from loop_tui.store.typed import (
    MARKER_FIELD,
    TYPED,
    TYPED_TABLES,
    key_of_field,
    needs_typed_copies,
    segment_typed_fields,
    with_typed_columns,
)

if TYPE_CHECKING:
    import pyarrow as pa

SEGMENT_ROWS = 2_000_000
"""Rows of a compacted segment at most (a segment written with more is folded whole, never split)."""
ROW_GROUP_ROWS = 128 * 1024  # as `segments.write_segment` and imports write them
ROW_GROUP_BYTES = 48 << 20  # ...or fewer rows when they are big: memory is bounded by bytes, not rows
FETCH_ROWS = 16 * 1024  # rows per batch from DuckDB (row groups are made of several)
DICTIONARY_SAMPLE_ROWS = 32 * 1024  # rows of a segment's first row group that choose its dictionary columns
DUCKDB_MEMORY = "256MB"  # DuckDB's scan and the update check spill to disk past this


@dataclass
class Plan:
    """How one object is compacted: `groups` of its segments (by name) each become one new segment."""

    kept: list[str]
    groups: list[list[str]] = field(default_factory=list)
    updates: bool = False  # the object has several versions of a row or a delete: new segments are `-u`


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def _needs_rewrite(table: str, path: Path, updates: bool) -> bool:
    """Whether one segment alone gains from a rewrite: typed copies missing, or its `-u` flag no longer true."""
    if table in TYPED_TABLES and needs_typed_copies(path):
        return True
    return path.name.endswith("-u.parquet") and not updates


def plan(con: Any, root: Path, table: str, obj: str, files: tuple[str, ...], max_rows: int = SEGMENT_ROWS) -> Plan | None:
    """Which of an object's segments to fold into which new ones; None when nothing would change."""
    folder = segment_dir(root, table, obj)
    paths = [folder / name for name in files]
    updates = any(n.endswith("-u.parquet") for n in files) and _has_updates(con, paths)
    rows = [_rows(p) for p in paths]
    start = 0
    while (start < len(paths) and rows[start] >= max_rows // 2 and not _needs_rewrite(table, paths[start], updates)
           and (updates or not files[start].endswith("-u.parquet"))):
        start += 1
    groups: list[list[str]] = []
    total = 0
    for name, count in zip(files[start:], rows[start:], strict=True):
        if groups and total + count <= max_rows:
            groups[-1].append(name)
            total += count
        else:
            groups.append([name])
            total = count
    if all(len(g) == 1 and not _needs_rewrite(table, folder / g[0], updates) for g in groups):
        return None
    return Plan(list(files[:start]), groups, updates)


def _has_updates(con: Any, paths: list[Path]) -> bool:
    """Whether the segments hold a row id twice or a delete marker (only asked when some segment is `-u`)."""
    found = con.execute(
        "SELECT EXISTS (SELECT 1 FROM read_parquet($1, union_by_name = true) WHERE _object_delete) "
        "OR EXISTS (SELECT id FROM read_parquet($1, union_by_name = true) GROUP BY id HAVING count(*) > 1)",
        [[str(p) for p in paths]]).fetchall()
    return bool(found[0][0])


def duckdb_connection() -> tuple[Any, Path]:
    """A private DuckDB connection with bounded memory, and the folder it spills to (caller removes it)."""
    import duckdb

    spill = Path(tempfile.mkdtemp(prefix="loop-tui-compact-"))
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = true")  # rows stay in commit order, as the segments were listed
    con.execute("SET enable_progress_bar = false")
    return con, spill


def close_connection(con: Any, spill: Path) -> None:
    """Close a connection from `duckdb_connection` and remove what it spilled."""
    con.close()
    shutil.rmtree(spill, ignore_errors=True)


def _typed_keys(con: Any, paths: list[Path]) -> dict[str, set[str]]:
    """Every score and metric key of the segments: from their footers when all have typed copies, else read."""
    fields = [segment_typed_fields(p) for p in paths]
    if all(len(f) == len(TYPED) for f in fields):
        return {source: {key_of_field(n) for f in fields for n in f[typed] if n != MARKER_FIELD}
                for source, typed in TYPED.items()}
    keys: dict[str, set[str]] = {}
    for source in TYPED:
        found = con.execute(f"SELECT DISTINCT unnest(map_keys({source})) FROM read_parquet($1, union_by_name = true)",
                            [[str(p) for p in paths]]).fetchall()
        keys[source] = {row[0] for row in found if row[0] is not None}
    return keys


def _row_groups(con: Any, table: str, paths: list[Path]) -> Iterator[pa.Table]:
    """The segments' rows in the table's schema, in order, as tables of about one row group each."""
    import pyarrow as pa

    schema = sch.TABLES[table][0]
    columns = ", ".join(f'"{name}"' for name in schema.names)
    reader = con.sql(f"SELECT {columns} FROM read_parquet($1, union_by_name = true)",
                     params=[[str(p) for p in paths]]).to_arrow_reader(FETCH_ROWS)
    pending: list[pa.RecordBatch] = []
    rows = size = 0
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
        if rows >= ROW_GROUP_ROWS or size >= ROW_GROUP_BYTES:
            data = pa.Table.from_batches(pending).cast(schema)
            pending, rows, size = [], 0, 0  # DuckDB's batches are not held while the row group is written
            yield data
    if pending:
        yield pa.Table.from_batches(pending).cast(schema)


def write_group(con: Any, root: Path, table: str, obj: str, names: list[str], xact: int, updates: bool) -> tuple[Path, int]:
    """Write one new segment holding every row of the segments `names` (not yet committed: the log must
    name it); returns its path and row count."""
    import pyarrow.parquet as pq

    folder = segment_dir(root, table, obj)
    paths = [folder / name for name in names]
    keys = _typed_keys(con, paths) if table in TYPED_TABLES else None
    final = folder / segment_name(xact, updates)
    count = 0
    with publishing_segment(final, f".compact-{xact}", "nothing was compacted") as tmp:
        writer = None
        try:
            for data in _row_groups(con, table, paths):
                if keys is not None:
                    data = with_typed_columns(data, keys)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, data.schema, compression=segment_compression(data.schema),
                                              use_dictionary=dictionary_columns(data.slice(0, DICTIONARY_SAMPLE_ROWS)))
                writer.write_table(data, row_group_size=ROW_GROUP_ROWS)
                count += data.num_rows
                crash_point("compact-row-group")  # tests: killed mid-rewrite
        finally:
            if writer is not None:
                writer.close()
    return final, count
