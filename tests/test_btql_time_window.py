"""A page sorted by `created` is read from the newest (or oldest) segments only, with the same answer.

Each write below is its own segment with its own time range; the windows are scaled down (a few rows
instead of 100,000) so that a handful of rows exercises them. Every answer is checked against the rows the
test wrote, after updates and deletes that touch rows of older segments.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loop_tui.btql import run, time_window
from loop_tui.btql.rows import table_rows

sys.path.insert(0, str(Path(__file__).parent / "btql_golden"))
import fixture  # noqa: E402

START = datetime(2030, 3, 1, tzinfo=UTC)  # after the fixture's own rows
F = "from: project_logs('alpha')"
WINDOWED = '"created" >= TIMESTAMPTZ'


@pytest.fixture
def small_windows(monkeypatch):
    monkeypatch.setattr(time_window, "FIRST_WINDOW_ROWS", 6)
    monkeypatch.setattr(time_window, "PAGES_PER_WINDOW", 1)
    monkeypatch.setattr(time_window, "WIDEN", 2)
    monkeypatch.setattr(time_window, "MAX_SHARE", 1.0)


def _span(n: int, hours: float, **extra) -> dict:
    return {"id": f"w{n:02d}", "span_id": f"w{n:02d}", "root_span_id": f"w{n:02d}", "span_parents": [],
            "created": (START + timedelta(hours=hours)).isoformat(), **extra}


def _write_batches(ws, batches: int = 6, per_batch: int = 5) -> dict[str, datetime]:
    """`batches` inserts (one segment each), each a day later than the one before; id -> created."""
    alpha = ws.project("alpha")
    created = {}
    for b in range(batches):
        rows = [_span(b * per_batch + i, b * 24 + i) for i in range(per_batch)]
        ws.insert_rows("project_logs", alpha.id, rows, project_id=alpha.id)
        created.update({r["id"]: datetime.fromisoformat(r["created"]) for r in rows})
    return created


def _all_pages(text: str, ws) -> tuple[list[str], list[str]]:
    """Every id over every page of `text`, and the SQL of the first page."""
    first = run(text, ws)
    ids, result = [], first
    while True:
        ids += [r["id"] for r in table_rows(result.table)]
        if result.cursor is None:
            return ids, [first.sql]
        result = run(text, ws, cursor=result.cursor)


def test_newest_page_comes_from_the_newest_segments(tmp_path, small_windows):
    ws = fixture.build(tmp_path / "ws")
    created = _write_batches(ws)
    text = f"select: id | {F} | filter: id >= 'w' | sort: created desc | limit: 4"
    ids, (sql,) = _all_pages(text, ws)
    assert WINDOWED in sql  # the first page was read through a window
    assert ids == sorted(created, key=lambda i: created[i], reverse=True)


def test_oldest_page_comes_from_the_oldest_segments(tmp_path, small_windows):
    ws = fixture.build(tmp_path / "ws")
    created = _write_batches(ws)
    text = f"select: id | {F} | filter: id >= 'w' | sort: created asc | limit: 4"
    ids, (sql,) = _all_pages(text, ws)
    assert '"created" <= TIMESTAMPTZ' in sql
    assert ids == sorted(created, key=lambda i: created[i])


def test_updates_and_deletes_in_newer_segments_win_over_the_window(tmp_path, small_windows):
    """A newer version of an old row (written later, in its own segment) wins; a delete marker hides a row."""
    ws = fixture.build(tmp_path / "ws")
    created = _write_batches(ws)
    alpha = ws.project("alpha")
    newest = max(created, key=created.get)
    oldest = min(created, key=created.get)
    # The oldest row becomes the newest; the newest row moves back in time; the second newest is deleted.
    ws.update_rows("project_logs", alpha.id, [{"id": oldest, "created": (START + timedelta(days=30)).isoformat()}],
                   project_id=alpha.id)
    ws.update_rows("project_logs", alpha.id, [{"id": newest, "created": (START - timedelta(days=1)).isoformat()}],
                   project_id=alpha.id)
    second = sorted(created, key=created.get)[-2]
    ws.delete_rows("project_logs", alpha.id, [second], project_id=alpha.id)
    created[oldest] = START + timedelta(days=30)
    created[newest] = START - timedelta(days=1)
    del created[second]

    text = f"select: id, created | {F} | filter: id >= 'w' | sort: created desc | limit: 3"
    first = run(text, ws)
    assert [r["id"] for r in table_rows(first.table)] == sorted(created, key=created.get, reverse=True)[:3]
    assert table_rows(first.table)[0]["id"] == oldest
    assert WINDOWED in first.sql
    ids, _ = _all_pages(text, ws)
    assert ids == sorted(created, key=created.get, reverse=True)
    assert second not in ids and ids[-1] == newest


def test_a_window_short_of_a_page_falls_back_to_every_row(tmp_path, small_windows):
    """A filter that keeps only old rows: the windows hold none of them, and the page still has them all."""
    ws = fixture.build(tmp_path / "ws")
    created = _write_batches(ws)
    early = sorted(created, key=created.get)[:3]
    text = f"select: id | {F} | filter: id IN ({', '.join(repr(i) for i in early)}) | sort: created desc | limit: 2"
    ids, (sql,) = _all_pages(text, ws)
    assert WINDOWED not in sql
    assert ids == early[::-1]


@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_a_page_is_read_through_the_time_of_the_row_just_past_it_ties_included(tmp_path, direction):
    """One segment (no segment window applies): the first page is read from the rows on the near side of the
    `created` of the row just past it, found by sorting on `created` alone (no `id` to decode for every
    row). Rows sharing that time straddle the page's end: each page is still exactly the page."""
    ws = fixture.build(tmp_path / "ws")
    alpha = ws.project("alpha")
    hours = [0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, 4]
    rows = [_span(n, h, scores={"S": n % 3 / 2}) for n, h in enumerate(hours)]
    ws.insert_rows("project_logs", alpha.id, rows[::-1], project_id=alpha.id)
    created = {r["id"]: datetime.fromisoformat(r["created"]) for r in rows}
    newest_first = direction == "desc"
    want = sorted(created, key=lambda i: (-created[i].timestamp() if newest_first else created[i].timestamp(), i))
    for limit in range(1, 8):
        text = f"select: id | {F} | filter: id >= 'w' | sort: created {direction} | limit: {limit}"
        ids, (sql,) = _all_pages(text, ws)
        assert ids == want, limit
        past = created[want[limit]]  # the cut is the time of the row just past the first page
        assert f"\"created\" {'>=' if newest_first else '<='} TIMESTAMPTZ '{past.isoformat()}'" in sql, limit
    # A second sort key after `created` orders the tied rows; the window still holds them all.
    text = f"select: id | {F} | filter: id >= 'w' | sort: created {direction}, scores.S desc | limit: 3"
    by_score = sorted(created, key=lambda i: (-created[i].timestamp() if newest_first else created[i].timestamp(),
                                              -(int(i[1:]) % 3), i))
    assert _all_pages(text, ws)[0] == by_score


def test_windows_narrowest_first_and_none_without_statistics(small_windows):
    day = timedelta(days=1)
    spans = [time_window.SegmentSpan(10, START + k * day, START + (k + 1) * day) for k in range(10)]
    bounds = time_window.windows(spans, limit=1, newest=True)
    assert bounds and bounds == sorted(bounds, reverse=True)
    assert all(b > START for b in bounds)
    assert time_window.windows([*spans, time_window.SegmentSpan(5, None, None)], limit=1, newest=True) == []
    assert time_window.windows([*spans, None], limit=1, newest=True) == []


def test_the_key_sample_is_drawn_from_the_newest_rows(tmp_path, monkeypatch):
    """The key sample reads the newest segments only (it read every row's JSON: ~10 s at 10M spans); a key
    that only older rows have is still known when a query names it."""
    from loop_tui.btql import schema

    monkeypatch.setattr(schema, "SAMPLE_ROWS", 2)
    monkeypatch.setattr(schema, "NEWEST_ROWS_PER_SAMPLED", 1)
    ws = fixture.build(tmp_path / "ws")
    alpha = ws.project("alpha")
    old = [_span(n, n, metadata={"old_key": n}) for n in range(40)]
    ws.insert_rows("project_logs", alpha.id, old, project_id=alpha.id)
    ws.insert_rows("project_logs", alpha.id, [_span(90 + n, 1000 + n, metadata={"new_key": n}) for n in range(2)],
                   project_id=alpha.id)
    assert [r["id"] for r in table_rows(run(f"select: id | {F} | filter: metadata.new_key = 1", ws).table)] == ["w91"]
    [sampled] = [v for k, v in schema._cache.items() if k[0] == str(ws.root)]
    assert "new_key" in sampled["metadata"] and "old_key" not in sampled["metadata"]
    assert len(table_rows(run(f"select: id | {F} | filter: metadata.old_key >= 0", ws).table)) == 40


def test_a_compacted_segment_still_serves_the_newest_page_from_its_newest_row_groups(tmp_path, small_windows,
                                                                                     monkeypatch):
    """Compaction folds the segments into few large ones: the window is bounded by row groups, not files."""
    from loop_tui.store import compact_stream

    ws = fixture.build(tmp_path / "ws")
    created = _write_batches(ws)
    monkeypatch.setattr(compact_stream, "ROW_GROUP_ROWS", 5)
    ws.compact("project_logs")
    alpha = ws.project("alpha")
    assert len(list((ws.root / "tables" / "project_logs" / alpha.id).glob("seg-*.parquet"))) == 1
    text = f"select: id | {F} | filter: id >= 'w' | sort: created desc | limit: 4"
    ids, (sql,) = _all_pages(text, ws)
    bound = datetime.fromisoformat(sql.split(WINDOWED, 1)[1].split("'")[1])
    assert bound > START  # only the newest rows: not the fixture's older ones in the same file
    assert ids == sorted(created, key=lambda i: created[i], reverse=True)
