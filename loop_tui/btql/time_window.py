"""Reading only the newest (or oldest) segments for a page of rows sorted by `created`.

A page of rows sorted `created desc` (the logs page's default) needs only the newest rows, but DuckDB
sorts every matching row of every segment to find them: seconds at ten million spans. Segments record
`created`'s min and max per row group in their Parquet footers (immutable files, so read once per process),
so the executor first runs the same query with `created >= T`, for a T below which only older row groups have rows,
and lets the row-group statistics skip the rest. The window is a pure optimisation, exact by construction:

* the query still reads the store's latest-version view, so a newer version of a row (in any segment) wins
  and a delete marker hides its row, exactly as without the window;
* every row outside the window sorts after every row inside it (its `created` is smaller, and rows with a
  null `created` are kept inside: they sort first), so when the windowed query fills the page plus the
  one row that tells whether there is more, those rows are the answer; when it does not, the window widens,
  and at last the query runs without one.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

# The first window holds at least this many rows (or 50 pages, for large limits): filters like `is_root` or
# `error != null` keep a fraction of the spans; each next window is WIDEN times larger.
FIRST_WINDOW_ROWS = 100_000
PAGES_PER_WINDOW = 50
WIDEN = 8
MAX_WINDOWS = 3
# A window holding more than this share of the rows saves little over the plain query.
MAX_SHARE = 0.5


@dataclass(frozen=True)
class SegmentSpan:
    """One segment's rows and the range of its `created` (None when the footer has no statistics)."""

    rows: int
    low: datetime | None
    high: datetime | None


_spans: dict[tuple[str, int, int], list[SegmentSpan | None]] = {}
_spans_lock = threading.Lock()


def segment_spans(path: Path) -> list[SegmentSpan | None]:
    """The rows and `created` range of each row group of one segment, from its footer (cached: segments never
    change); `[None]` when the footer is unreadable or has no `created`.

    Row groups, not whole files: a compacted segment holds millions of rows in time order, and DuckDB skips
    its row groups outside a window by the same statistics.
    """
    try:
        st = os.stat(path)
    except OSError:
        return [None]
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _spans_lock:
        if key in _spans:
            return _spans[key]
    spans = _read_spans(path)
    with _spans_lock:
        if len(_spans) > 100_000:
            _spans.clear()
        _spans[key] = spans
    return spans


def _read_spans(path: Path) -> list[SegmentSpan | None]:
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        index = meta.schema.to_arrow_schema().get_field_index("created")
        if index < 0:
            return [None]
        spans: list[SegmentSpan | None] = []
        for group in range(meta.num_row_groups):
            row_group = meta.row_group(group)
            if row_group.num_rows == 0:
                continue
            stats = row_group.column(index).statistics
            if stats is None or not stats.has_min_max:
                spans.append(SegmentSpan(row_group.num_rows, None, None))
            else:
                spans.append(SegmentSpan(row_group.num_rows, stats.min, stats.max))
        return spans
    except Exception:  # noqa: BLE001 - a damaged footer: the query itself reports it (store.health)
        return [None]


def segment_paths(ws: Any, table: str, object_ids: list[str]) -> list[Path]:
    """The committed segment files of `object_ids` in `table` (every object of it when there are none)."""
    from loop_tui.store import txlog
    from loop_tui.store.segments import segment_dir

    files = txlog.snapshot(ws.root).files(table)
    chosen = object_ids or list(files)
    return [segment_dir(ws.root, table, obj) / name for obj in chosen for name in files.get(obj, ())]


def windows(spans: list[SegmentSpan | None], limit: int, newest: bool) -> list[datetime]:
    """Bounds of the windows to try, narrowest first: `created >= bound` (newest) or `<= bound` (oldest).

    Empty when a window would not save much: few rows, a segment without statistics, or one window
    already holding most of the rows.
    """
    known = [s for s in spans if s is not None and s.low is not None and s.high is not None]
    if not known or len(known) != len(spans):
        return []
    total = sum(s.rows for s in known)
    # Newest first: segments by their newest row; a window's bound is the oldest row of the segments in it.
    ordered = sorted(known, key=lambda s: s.high if newest else s.low, reverse=newest)  # type: ignore[arg-type, return-value]
    want = max(FIRST_WINDOW_ROWS, PAGES_PER_WINDOW * (limit + 1))
    bounds: list[datetime] = []
    taken = 0
    bound: datetime | None = None
    for span in ordered:
        taken += span.rows
        edge = span.low if newest else span.high
        bound = edge if bound is None else (min(bound, edge) if newest else max(bound, edge))  # type: ignore[type-var]
        if taken >= want:
            if taken > MAX_SHARE * total or len(bounds) == MAX_WINDOWS:
                break
            if not bounds or bounds[-1] != bound:
                bounds.append(bound)  # type: ignore[arg-type]
            want *= WIDEN
    return bounds


def newest_rows_bound(ws: Any, table: str, rows: int) -> datetime | None:
    """A bound such that `created >= bound` holds about `rows` of the newest rows of `table` (every object),
    or None when that would be most of the table anyway (or a segment has no statistics)."""
    spans = [span for p in segment_paths(ws, table, []) for span in segment_spans(p)]
    known = [s for s in spans if s is not None and s.low is not None and s.high is not None]
    if not known or len(known) != len(spans):
        return None
    total = sum(s.rows for s in known)
    taken, bound = 0, None
    for span in sorted(known, key=lambda s: s.high, reverse=True):  # type: ignore[arg-type, return-value]
        taken += span.rows
        bound = span.low if bound is None else min(bound, span.low)  # type: ignore[type-var]
        if taken >= rows:
            return bound if taken <= MAX_SHARE * total else None
    return None
