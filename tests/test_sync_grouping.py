"""Pull pages that arrive together are decoded together (one DuckDB query per group, not per page): a group
never holds more than its size allows nor an item that had not arrived, items before a failure are handed
on before it, and a group holding an unreadable page still hands on the pages before that page."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from loop_tui.read_ahead import prefetch_grouped
from loop_tui.remote.client import _decoded
from loop_tui.remote.errors import RemoteError


def _source(released: threading.Event) -> Iterator[int]:
    yield from (1, 2, 3)
    released.wait(30)  # item 4 has not arrived until the test says so
    yield 4
    yield 5
    raise ConnectionError("dropped")


def test_groups_hold_what_arrived_up_to_their_size_and_a_failure_comes_after_them() -> None:
    released = threading.Event()
    groups = prefetch_grouped(_source(released), size=lambda _: 1, max_size=3, max_wait_s=30)
    assert next(groups) == [1, 2, 3]  # full: handed on without waiting for more
    released.set()
    rest = []
    with pytest.raises(ConnectionError):
        for group in groups:
            assert len(group) <= 3
            rest += group
    assert rest == [4, 5]  # what came before the failure, then the failure


def _page(ids: list[str], cursor: str | None) -> tuple[bytes, str | None]:
    lines = [json.dumps({"id": i, "_xact_id": "7", "created": "2026-01-02T03:04:05Z", "input": i}) for i in ids]
    return "".join(line + "\n" for line in lines).encode(), cursor


def test_a_group_is_one_table_with_the_last_cursor() -> None:
    [(table, cursor)] = list(_decoded([_page(["a", "b"], "c1"), _page(["c"], "c2")], "project_logs", "p"))
    assert table.column("id").to_pylist() == ["a", "b", "c"] and cursor == "c2"


def test_an_unreadable_page_in_a_group_comes_after_the_pages_before_it() -> None:
    decoded = _decoded([_page(["a"], "c1"), (b"{not json\n", "c2"), _page(["z"], None)], "project_logs", "p")
    table, cursor = next(decoded)
    assert table.column("id").to_pylist() == ["a"] and cursor == "c1"
    with pytest.raises(RemoteError, match="not JSON lines; nothing of it was written"):
        next(decoded)
