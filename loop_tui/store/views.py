"""DuckDB views over a workspace's committed segments: latest version of each row, and full history.

Each data table gets two views: `<table>` (latest version of every row, tombstoned rows removed) and
`<table>_history` (every version, with `_object_delete`). The files come from one snapshot of the
transaction log, so a view never lists a segment that is not committed or one a compaction replaced.
De-duplication is a window over (object, id), which is the costly part at a million rows, so it is
applied only to objects that have update segments (`-u`); objects written purely by inserts (logs,
experiment runs, imports) are read straight. A damaged object's files are left out and replaced by one
row whose evaluation raises its damage sentence: a query filtered to other objects never reaches it (the
filter on a constant folds it away), one that reads the damaged object fails naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from loop_tui.store.health import Damage
from loop_tui.store.schema import TABLES
from loop_tui.store.segments import segment_dir
from loop_tui.store.txlog import Snapshot

if TYPE_CHECKING:
    import pyarrow as pa


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_list(paths: list[Path]) -> str:
    return "[" + ", ".join(_sql_str(str(p)) for p in paths) + "]"


def empty_segment_path(root: Path, table: str) -> Path:
    """A zero-row segment with the table's schema, so views exist (typed) before any write."""
    return root / "tables" / "_empty" / f"{table}.parquet"


def empty_segments_missing(root: Path) -> bool:
    """Whether any zero-row schema segment needs writing."""
    return any(not empty_segment_path(root, table).exists() for table in TABLES)


def ensure_empty_segments(root: Path) -> None:
    """Write the zero-row schema segments once, atomically (caller holds the writer lock)."""
    import pyarrow.parquet as pq

    from loop_tui.store.segments import fsync_dir

    folder = root / "tables" / "_empty"
    folder.mkdir(parents=True, exist_ok=True)
    for table, (schema, _) in TABLES.items():
        path = empty_segment_path(root, table)
        if path.exists():
            continue
        tmp = folder / f".tmp-{table}.parquet.part"
        pq.write_table(schema.empty_table(), tmp)
        tmp.replace(path)
    fsync_dir(folder)


def _exclude(columns: list[str]) -> str:
    return f" EXCLUDE ({', '.join(columns)})" if columns else ""


def _read(paths: list[Path], exclude: list[str], *, hide_typed: bool = False, schema: pa.Schema | None = None) -> str:
    """All rows of `paths`, without `exclude` (and with `hide_typed`, without the typed columns some have).

    When every segment has exactly the table's `schema` (plus the same typed columns), they are read as one
    schema, without the zero-row schema file and `union_by_name`: the same columns, bound ~30x faster.
    """
    written = [p for p in paths if p.parent.name != "_empty"]
    if schema is not None and written:
        from loop_tui.store.typed import typed_columns_if_untyped_schema_is

        typed = typed_columns_if_untyped_schema_is(written, schema)
        if typed is not None and (hide_typed or not typed):
            return f"SELECT *{_exclude([*exclude, *typed])} FROM read_parquet({_file_list(written)})"
    if hide_typed:
        from loop_tui.store.typed import typed_fields_of

        exclude = [*exclude, *typed_fields_of([p for p in paths if p.parent.name != "_empty"])]
    return f"SELECT *{_exclude(exclude)} FROM read_parquet({_file_list(paths)}, union_by_name = true)"


def _typed_read(paths: list[Path], fields: dict[str, list[str]], required: list[str], exclude: list[str], *,
                grouped: bool = False) -> str:
    """All columns of `paths`, typed columns included: built from the maps for segments without them.

    With `grouped`, segments of differing schemas are read one schema at a time and united by name
    (`_by_schema`) rather than with `union_by_name`, which opens every file's footer when the view is made.
    """
    from loop_tui.store.typed import (
        TYPED,
        fully_typed,
        same_full_schema,
        struct_from_map_sql,
        typed_fields_of,
    )

    typed = [p for p in paths if p.parent.name == "_empty" or fully_typed(p)]
    others = [p for p in paths if p.parent.name != "_empty" and not fully_typed(p)]
    if not others:
        written = [p for p in typed if p.parent.name != "_empty"]
        if same_full_schema(written, required):
            # One schema with every column: no zero-row schema file and no union by name, which made
            # DuckDB bind (twice per query) a plan over every file's columns: ~0.5 ms of a small query.
            return f"SELECT *{_exclude(exclude)} FROM read_parquet({_file_list(written)})"
        if grouped and written:
            return _by_schema(typed, exclude)
        return _read(typed, exclude)
    built = ", ".join(f"{struct_from_map_sql(source, fields[col])} AS {col}" for source, col in TYPED.items()
                      if col in fields)
    rebuilt = f"SELECT *{_exclude(list(typed_fields_of(others)))}, {built} FROM read_parquet({_file_list(others)}, union_by_name = true)"
    both = rebuilt if not typed else f"{_read(typed, [])} UNION ALL BY NAME {rebuilt}"
    return f"SELECT *{_exclude(exclude)} FROM ({both})" if exclude else both


def _split(root: Path, table: str, object_col: str, snap: Snapshot, damaged: dict[tuple[str, str], Damage],
           objects: list[str] | None = None) -> tuple[list[Path], list[Path], list[Path], str]:
    """(clean files, dirty files, every file, stub SQL of damaged objects) of `table`, of `objects` if given;
    the clean and every lists start with the zero-row schema file."""
    empty = empty_segment_path(root, table)
    clean: list[Path] = [empty]
    dirty: list[Path] = []
    every: list[Path] = [empty]
    stubs = ""
    files = snap.files(table)
    for obj in (files if objects is None else [o for o in objects if o in files]):
        names = files[obj]
        damage = damaged.get((table, obj))
        if damage is not None:
            stubs += (f" UNION ALL BY NAME SELECT {_sql_str(obj)} AS {object_col} FROM range(1) "
                      f"WHERE error({_sql_str(damage.message(root))}) IS NULL")
            continue
        paths = [segment_dir(root, table, obj) / name for name in names]
        every.extend(paths)
        (dirty if any(n.endswith("-u.parquet") for n in names) else clean).extend(paths)
    return clean, dirty, every, stubs


def _by_schema(paths: list[Path], exclude: list[str]) -> str:
    """All rows of `paths`: each group of segments sharing one schema read as one, the groups united by name.

    Making the view then reads one footer per group instead of every file's (`union_by_name`): ~70 ms for
    BTQL's table-wide view at 200 segments of two projects, on every new BTQL connection. The price is
    that DuckDB cannot fetch the wide columns of only a page's rows across a union, so this is used only
    for that view, which BTQL reads only when it cannot read a view of the queried objects alone
    (`btql.object_views`).
    """
    from loop_tui.store.typed import full_signature

    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(full_signature(path), []).append(path)
    union = " UNION ALL BY NAME ".join(f"SELECT * FROM read_parquet({_file_list(group)})" for group in groups.values())
    return f"SELECT *{_exclude(exclude)} FROM ({union})" if exclude else union


def view_statements(root: Path, snap: Snapshot, damaged: dict[tuple[str, str], Damage], *,
                    btql: bool = True) -> list[str]:
    """The CREATE VIEW statements (three per table: history, latest, BTQL's latest) for one snapshot.

    Span tables' segments hold typed copies of the score and metric maps (`typed`): the history and latest
    views leave them out (every reader sees the table's own columns), `<table>_btql` keeps them. Without
    `btql` (the store's own connection, which never reads them) the third statement of each table is a
    comment: working out the typed fields reads every segment's footer.
    """
    from loop_tui.store.typed import TYPED_TABLES, typed_fields_of

    statements: list[str] = []
    for table, (schema, object_col) in TABLES.items():
        clean, dirty, every, stubs = _split(root, table, object_col, snap, damaged)
        typed = table in TYPED_TABLES
        statements.append(f"CREATE OR REPLACE VIEW {table}_history AS "
                          f"{_read(every, [], hide_typed=typed, schema=schema)}{stubs}")
        statements.append(f"CREATE OR REPLACE VIEW {table} AS "
                          f"{_latest(clean, dirty, object_col, typed, None, schema=schema)}{stubs}")
        if not btql:
            statements.append(f"-- {table}_btql is made on BTQL's connections only")
            continue
        fields = typed_fields_of(every[1:]) if typed else {}
        if fields:
            select = _latest(clean, dirty, object_col, typed, fields, schema.names, grouped=True)
            statements.append(f"CREATE OR REPLACE VIEW {table}_btql AS {select}{stubs}")
        else:
            statements.append(f"CREATE OR REPLACE VIEW {table}_btql AS SELECT * FROM {table}")
    return statements


def objects_btql_select(root: Path, snap: Snapshot, damaged: dict[tuple[str, str], Damage], table: str,
                        objects: list[str]) -> str | None:
    """`<table>_btql` of only `objects` (the latest version of their rows, typed copies included), or None
    when none of their segments has typed copies (then the table's own `_btql` view is as good).

    A BTQL source names its objects (`project_logs('<id>')`), and reading only their segments keeps the
    schema uniform: another project's segments have other score keys, so the table-wide view unites the
    files by name, ~3x slower to read at 200 segments, and reads that project's files only to filter
    them out.
    """
    from loop_tui.store.typed import TYPED_TABLES, typed_fields_of

    if table not in TYPED_TABLES:
        return None
    schema, object_col = TABLES[table]
    clean, dirty, every, stubs = _split(root, table, object_col, snap, damaged, objects)
    fields = typed_fields_of(every[1:])
    if not fields:
        return None
    return _latest(clean, dirty, object_col, True, fields, schema.names) + stubs


def _latest(clean: list[Path], dirty: list[Path], object_col: str, typed: bool,
            fields: dict[str, list[str]] | None, required: list[str] | None = None, *,
            schema: pa.Schema | None = None, grouped: bool = False) -> str:
    """The latest version of every row; typed columns left out, or with `fields` included (`_typed_read`)."""
    def read(paths: list[Path], exclude: list[str]) -> str:
        if fields is None:
            return _read(paths, exclude, hide_typed=typed, schema=schema)
        return _typed_read(paths, fields, required or [], exclude, grouped=grouped)

    latest = read(clean, ["_object_delete"])
    if dirty:
        deduped = (
            f"SELECT * FROM ({read(dirty, [])}) "
            f"QUALIFY row_number() OVER (PARTITION BY {object_col}, id ORDER BY _xact_id DESC) = 1"
        )
        latest += f" UNION ALL BY NAME SELECT * EXCLUDE (_object_delete) FROM ({deduped}) WHERE NOT _object_delete"
    return latest


STATEMENTS_PER_TABLE = 3
BTQL_STATEMENT = 2  # the third statement of each table creates `<table>_btql`


def table_of_statement(n: int) -> str:
    """Which table the n-th statement of `view_statements` is about."""
    return list(TABLES)[n // STATEMENTS_PER_TABLE]
