"""`loop-tui demo` streams: spans go to the workspace in bounded batches, with the same rows for a seed."""

from __future__ import annotations

import importlib
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from loop_tui.store import Workspace
from loop_tui.store.demo import generate

SAMPLE_END = datetime(2026, 11, 27, tzinfo=UTC)  # what sample_data/README.md says it was made with
# Ids minted by the store (projects, objects) are random; every row the generator draws is seeded.
UNSEEDED = {"project_logs": "_xact_id, project_id", "experiment": "_xact_id, project_id, experiment_id, origin"}


def test_the_generator_still_writes_the_committed_sample(tmp_path: Path, sample_ws: Workspace) -> None:
    """Batching and compact timestamps change how rows are written, never which rows: seed 7 at 6,000 spans
    is still exactly the sample workspace every test and the README use."""
    made = generate(tmp_path / "ws", spans=6000, seed=7, end=SAMPLE_END)
    for table, unseeded in UNSEEDED.items():
        sql = f"SELECT * EXCLUDE ({unseeded}) FROM {table} ORDER BY id"
        assert made.query(sql) == sample_ws.query(sql), table


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> int:
    """Batches of 500 spans, so a few thousand spans make many segments."""
    # The package exports the function `generate`, which hides its module of the same name from getattr.
    module = importlib.import_module("loop_tui.store.demo.generate")
    monkeypatch.setattr(module, "BATCH_SPANS", 500)
    return 500


def test_logs_are_written_as_segments_of_bounded_size(tmp_path: Path, small_batches: int) -> None:
    ws = generate(tmp_path / "ws", spans=4000, seed=3, end=SAMPLE_END)
    writes = [e for e in ws.history(table="project_logs", limit=1000) if e.description.startswith("sample data")]
    assert len(writes) >= 4000 // small_batches  # many segments, not one list of everything
    largest_trace = 5  # spans in one generated trace: a batch ends at the first whole trace past the limit
    assert max(e.count for e in writes) < small_batches + largest_trace
    assert sum(e.count for e in writes) == ws.query("SELECT count(*) AS n FROM project_logs")[0]["n"]


def _peak_python_memory(path: Path, spans: int) -> int:
    tracemalloc.start()
    try:
        generate(path, spans=spans, seed=5, end=SAMPLE_END)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_spans(tmp_path: Path, small_batches: int) -> None:
    """Four times the spans, about the same peak: what is held is one batch (plus 8 bytes a trace)."""
    small = _peak_python_memory(tmp_path / "small", 2000)
    large = _peak_python_memory(tmp_path / "large", 8000)
    assert large < small * 1.5, (small, large)


def test_the_logs_end_up_in_few_large_segments(tmp_path: Path, small_batches: int) -> None:
    """Written 500 spans at a time, the logs are folded into segments of up to 2M spans at the end (BTQL pays
    per file: a 10M-span demo had 200 segments)."""
    ws = generate(tmp_path / "ws", spans=4000, seed=3, end=SAMPLE_END)
    for project in ("support-bot", "invoice-extraction"):
        folder = ws.root / "tables" / "project_logs" / ws.project(project).id
        assert len(list(folder.glob("seg-*.parquet"))) == 1, project
