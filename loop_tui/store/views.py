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

from loop_tui.store.health import Damage
from loop_tui.store.schema import TABLES
from loop_tui.store.segments import segment_dir
from loop_tui.store.txlog import Snapshot


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


def view_statements(root: Path, snap: Snapshot, damaged: dict[tuple[str, str], Damage]) -> list[str]:
    """The CREATE VIEW statements (two per table: history, latest) for one snapshot."""
    statements: list[str] = []
    for table, (_, object_col) in TABLES.items():
        empty = empty_segment_path(root, table)
        clean: list[Path] = [empty]
        dirty: list[Path] = []
        every: list[Path] = [empty]
        stubs = ""
        for obj, names in snap.files(table).items():
            damage = damaged.get((table, obj))
            if damage is not None:
                stubs += (f" UNION ALL BY NAME SELECT {_sql_str(obj)} AS {object_col} FROM range(1) "
                          f"WHERE error({_sql_str(damage.message(root))}) IS NULL")
                continue
            files = [segment_dir(root, table, obj) / name for name in names]
            every.extend(files)
            (dirty if any(n.endswith("-u.parquet") for n in names) else clean).extend(files)
        read_all = f"SELECT * FROM read_parquet({_file_list(every)}, union_by_name = true)"
        statements.append(f"CREATE OR REPLACE VIEW {table}_history AS {read_all}{stubs}")
        latest = f"SELECT * EXCLUDE (_object_delete) FROM read_parquet({_file_list(clean)}, union_by_name = true)"
        if dirty:
            deduped = (
                f"SELECT * FROM read_parquet({_file_list(dirty)}, union_by_name = true) "
                f"QUALIFY row_number() OVER (PARTITION BY {object_col}, id ORDER BY _xact_id DESC) = 1"
            )
            latest += f" UNION ALL BY NAME SELECT * EXCLUDE (_object_delete) FROM ({deduped}) WHERE NOT _object_delete"
        statements.append(f"CREATE OR REPLACE VIEW {table} AS {latest}{stubs}")
    return statements


def table_of_statement(n: int) -> str:
    """Which table the n-th statement of `view_statements` is about."""
    return list(TABLES)[n // 2]
