"""Copy the committed sample workspace so that its data is recent: the newest timestamp becomes "now".

The sample was generated once, as of a fixed day. Copied as it is, every "last 7 days" view of it goes
empty a week later. So the copy moves every wall-clock time in it (`created` of rows and objects, the
`metrics.start`/`metrics.end` of spans, the times of the write log) by one offset, which keeps every
relative time, every id and every `_xact_id` as they were: a trace still lasts as long, the weekly rhythm
stays, and history and undo still name the same writes.

The copy is built in a hidden folder beside the target and renamed into place at the end, so a failure
or a kill part-way never leaves a half-written workspace where the app would open it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Differences under this are not worth rewriting every segment for (a test's frozen clock at the
# sample's own instant gives exactly zero).
_MIN_SHIFT = timedelta(seconds=1)
# Span metrics that are wall-clock epoch seconds rather than amounts.
_TIME_METRICS = ("start", "end")


def newest_time(root: Path) -> datetime | None:
    """The newest time in the workspace at `root`: of a row's or object's `created`, or of a write in its log
    (an update keeps the object's `created`, so the log can be newer). None when it is empty."""
    import duckdb

    from loop_tui.store.segments import read_xact_log

    times = [datetime.fromtimestamp(e["time"], UTC) for e in read_xact_log(root) if isinstance(e.get("time"), int | float)]
    files = [str(p) for p in (root / "tables").glob("*/*/seg-*.parquet")]
    if files:
        con = duckdb.connect()
        try:
            row = con.execute("SELECT max(created) FROM read_parquet(?, union_by_name = true)", [files]).fetchone()
        finally:
            con.close()
        if row and row[0] is not None:
            times.append(row[0])
    return max(times, default=None)


def copy_recent(sample: Path, target: Path, now: datetime) -> Path:
    """Copy the workspace `sample` to `target` (which must not exist), shifted so its newest time is `now`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.seeding-", dir=target.parent))
    try:
        copy = staging / "workspace"
        shutil.copytree(sample, copy, ignore=shutil.ignore_patterns(".lock", ".readers", ".tmp-*", "*.part"))
        newest = newest_time(copy)
        if newest is not None and abs(now - newest) >= _MIN_SHIFT:
            shift_times(copy, now - newest)
        os.rename(copy, target)  # fails (and leaves target alone) if another process seeded it first
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def shift_times(root: Path, offset: timedelta) -> None:
    """Move every wall-clock time stored in the workspace at `root` by `offset` (in place: use on a copy)."""
    for segment in sorted((root / "tables").glob("*/*/seg-*.parquet")):
        _shift_segment(segment, offset)
    _shift_write_log(root / "xacts.jsonl", offset)


def _shift_segment(path: Path, offset: timedelta) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if "created" in table.column_names:
        created = table.column("created")
        shifted = pc.add(created, pa.scalar(offset, pa.duration(created.type.unit)))
        table = table.set_column(table.column_names.index("created"), "created", shifted.cast(created.type))
    if "metrics" in table.column_names:
        seconds = offset.total_seconds()
        metrics = table.column("metrics")
        moved = [
            None if row is None else [(k, v + seconds if k in _TIME_METRICS and v is not None else v) for k, v in row]
            for row in metrics.to_pylist()
        ]
        table = table.set_column(table.column_names.index("metrics"), "metrics", pa.array(moved, metrics.type))
    metadata = pq.read_metadata(path)
    row_group = metadata.row_group(0).num_rows if metadata.num_row_groups else None
    pq.write_table(table, path, compression="zstd", row_group_size=row_group or None)


def _shift_write_log(path: Path, offset: timedelta) -> None:
    if not path.exists():
        return
    seconds = offset.total_seconds()
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line; the reader ignores it too
        if isinstance(entry.get("time"), int | float):
            entry["time"] += seconds
        lines.append(json.dumps(entry, separators=(",", ":")))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
