"""Pulled pages become store columns in DuckDB (`page_columns`): the same values the store's Python
normalisers make of each row, the Python path for pages the columnar one cannot take as strictly, and
pulls that ask Braintrust for JSONL pages with the cursor in `x-bt-cursor`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from loop_tui.errors import UserError
from loop_tui.remote import page_columns
from loop_tui.remote.pull import PullOptions, pull_project
from loop_tui.store import Workspace
from tests.fake_braintrust import FakeBraintrust, server
from tests.fake_braintrust.helpers import client_for, local_rows, seed_logs

fake_bt = server.fake_bt

SPANS: list[dict[str, Any]] = [
    {"id": "a", "_xact_id": "1000000000000000007", "created": "2026-01-02T03:04:05.123456Z", "input": {"q": "é ü 😀"},
     "output": "plain", "expected": [1, 2.5, None], "error": None, "scores": {"ok": 1, "half": 0.5, "none": None},
     "metrics": {"start": 1.5, "end": 2}, "metadata": {"model": "gpt-4o", "nested": {"x": [True, False]}},
     "span_attributes": {"name": "answer", "type": "llm"}, "tags": ["t1", "t2"], "span_parents": ["root"],
     "span_id": "s-a", "root_span_id": "root", "org_id": "o", "log_id": "g", "project_id": "p",
     "_pagination_key": "p1", "comments": [{"text": "kept in _extra"}]},
    {"id": "b", "_xact_id": "1000000000000000006", "created": "2026-01-02T03:04:05+02:00", "input": "text",
     "metadata": {"model": 5}, "span_attributes": {"name": 7}, "tags": [], "span_parents": [], "is_root": False},
    {"id": "c", "_xact_id": "1000000000000000005", "created": "2026-01-02 03:04:05", "_object_delete": True},
    {"id": 12, "input": "a row without a string id is skipped"},
]
DATASET_ROWS: list[dict[str, Any]] = [
    {"id": "d1", "_xact_id": "9", "created": "2026-01-02T03:04:05Z", "input": {"q": 1}, "expected": {"a": 1},
     "metadata": {"k": "v"}, "tags": ["x"], "dataset_id": "ds", "origin": {"id": "a"}},
    {"id": "d2", "_xact_id": "8", "created": "2026-01-02T03:04:05Z", "input": None, "is_root": False, "span_id": ""},
]


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()


def _same(fast: list[dict[str, Any]], exact: list[dict[str, Any]], json_columns: tuple[str, ...]) -> None:
    assert [r["id"] for r in fast] == [r["id"] for r in exact]
    for mine, theirs in zip(fast, exact, strict=True):
        for key, value in theirs.items():
            if key in json_columns and value is not None:
                assert json.loads(mine[key]) == json.loads(value), (mine["id"], key)
            else:
                assert mine[key] == value, (mine["id"], key, mine[key], value)


@pytest.mark.parametrize(("table", "rows"), [("project_logs", SPANS), ("dataset", DATASET_ROWS)])
def test_columnar_page_matches_the_python_normalisers(table: str, rows: list[dict[str, Any]]) -> None:
    fast = page_columns.page_table(_jsonl(rows), table)
    exact = page_columns.rows_table(table, [r for r in rows if isinstance(r["id"], str)])
    assert fast.schema == exact.schema
    _same(fast.to_pylist(), exact.to_pylist(), ("input", "output", "expected", "error", "metadata",
                                                 "span_attributes", "origin", "context", "_extra"))


def test_a_page_the_columns_cannot_take_goes_through_python() -> None:
    epoch = {"id": "e", "_xact_id": "3", "created": 1767322800, "input": 1}  # epoch seconds: Python's parser
    page = page_columns.page_table(_jsonl([SPANS[0], epoch]), "project_logs")
    assert page.column("created").to_pylist()[1].year == 2026
    with pytest.raises(UserError, match=r"row e: `scores.ok` must be a number or null"):
        page_columns.page_table(_jsonl([{**epoch, "scores": {"ok": "high"}}]), "project_logs")


def test_an_unreadable_page_is_a_value_error_and_an_empty_one_has_no_rows() -> None:
    with pytest.raises(ValueError, match="not a JSONL page"):
        page_columns.page_table(b'{"id": "x", "input": \n', "project_logs")
    assert page_columns.page_table(b"\n", "dataset").num_rows == 0


def test_pull_reads_jsonl_pages_and_follows_the_header_cursor(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt, 25, per_write=5)
    client, _ = client_for(fake_bt)
    ws = Workspace.open(tmp_path / "ws")
    report = pull_project(ws, client, "support-bot", PullOptions(objects=("logs",), page_size=10))
    pages = [r for r in fake_bt.requests if r.path == "/btql"]
    assert [r.body["fmt"] for r in pages] == ["jsonl"] * 3
    assert [bool(r.body["query"]["cursor"]) for r in pages] == [False, True, True]
    assert report.totals()["written"] == 25
    assert len(local_rows(ws, "project_logs", project_id)) == 25


def test_a_malformed_jsonl_page_is_fetched_again(fake_bt: FakeBraintrust, tmp_path: Path) -> None:
    project_id = seed_logs(fake_bt, 12)
    fake_bt.fault("malformed", path="/btql", times=1)
    client, delays = client_for(fake_bt)
    pull_project(Workspace.open(tmp_path / "ws"), client, "support-bot", PullOptions(objects=("logs",)))
    assert len(delays) == 1
    assert len(local_rows(tmp_path / "ws", "project_logs", project_id)) == 12


@pytest.mark.skipif(not hasattr(os, "memfd_create") or not os.path.isdir("/proc/self/fd"), reason="Linux's memfd")
def test_a_page_is_read_without_a_file_on_disk(monkeypatch) -> None:
    # Each pulled page went through a temp file in /tmp, removed afterwards; a pull killed mid-page (tests kill
    # them) left it there, ~430 KB each. On Linux the page is an anonymous in-memory file that dies with us.
    import tempfile

    def no_temp_file(*_args, **_kwargs):
        raise AssertionError("a temp file on disk")

    monkeypatch.setattr(tempfile, "mkstemp", no_temp_file)
    raw = b'{"id": "a", "input": {"q": 1}, "_xact_id": "1000"}\n{"id": "b", "_xact_id": "1001"}\n'
    table = page_columns.page_table(raw, "project_logs")
    assert table.column("id").to_pylist() == ["a", "b"]
