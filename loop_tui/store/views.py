"""DuckDB views over a workspace's segments: latest version of each row, and full history.

Each data table gets two views: `<table>` (latest version of every row, tombstoned rows removed) and
`<table>_history` (every version, with `_object_delete`). De-duplication is a window over (object,
id), which is the costly part at a million rows, so it is applied only to objects that have update
segments (`-u`); objects written purely by inserts (logs, experiment runs, imports) are read straight.
"""

from __future__ import annotations

from pathlib import Path

from loop_tui.store.schema import TABLES
from loop_tui.store.segments import list_segments


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_list(paths: list[Path]) -> str:
    return "[" + ", ".join(_sql_str(str(p)) for p in paths) + "]"


def empty_segment_path(root: Path, table: str) -> Path:
    """A zero-row segment with the table's schema, so views exist (typed) before any write."""
    return root / "tables" / "_empty" / f"{table}.parquet"


def ensure_empty_segments(root: Path) -> None:
    """Write the zero-row schema segments once (atomically)."""
    import pyarrow.parquet as pq

    from loop_tui.store.segments import fsync_dir

    folder = root / "tables" / "_empty"
    folder.mkdir(parents=True, exist_ok=True)
    for table, (schema, _) in TABLES.items():
        path = empty_segment_path(root, table)
        if path.exists():
            continue
        tmp = folder / f".{table}.parquet.part"
        pq.write_table(schema.empty_table(), tmp)
        tmp.replace(path)
    fsync_dir(folder)


def view_statements(root: Path) -> list[str]:
    """The CREATE VIEW statements for the workspace as it is on disk now."""
    statements: list[str] = []
    for table, (_, object_col) in TABLES.items():
        by_object = list_segments(root, table)
        empty = empty_segment_path(root, table)
        clean: list[Path] = [empty]
        dirty: list[Path] = []
        for files in by_object.values():
            if any(f.name.endswith("-u.parquet") for f in files):
                dirty.extend(files)
            else:
                clean.extend(files)
        every = [empty, *(f for files in by_object.values() for f in files)]
        read_all = f"read_parquet({_file_list(every)}, union_by_name = true)"
        statements.append(f"CREATE OR REPLACE VIEW {table}_history AS SELECT * FROM {read_all}")
        latest = f"SELECT * EXCLUDE (_object_delete) FROM read_parquet({_file_list(clean)}, union_by_name = true)"
        if dirty:
            deduped = (
                f"SELECT * FROM read_parquet({_file_list(dirty)}, union_by_name = true) "
                f"QUALIFY row_number() OVER (PARTITION BY {object_col}, id ORDER BY _xact_id DESC) = 1"
            )
            latest += f" UNION ALL BY NAME SELECT * EXCLUDE (_object_delete) FROM ({deduped}) WHERE NOT _object_delete"
        statements.append(f"CREATE OR REPLACE VIEW {table} AS {latest}")
    return statements
