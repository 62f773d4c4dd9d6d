"""Imports stream: batches of bounded size, one commit at the end, the same rows on the fast and slow paths.

Real files, real DuckDB and Parquet, real CLI subprocesses for the kill test (`LOOP_TUI_CRASH_AT`).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from loop_tui.cli.import_progress import ImportProgress
from loop_tui.cli.main import main
from loop_tui.store import Workspace, import_fast, import_native
from loop_tui.store.import_fast import RowByRow
from loop_tui.store.import_file import BATCH_ROWS, import_file, row_batches
from loop_tui.store.io import ReadProgress
from tests.conftest import REPO


@pytest.fixture(params=["duckdb", pytest.param("native", marks=pytest.mark.skipif(
    not import_native.available(), reason=import_native.UNAVAILABLE))])
def engine(request, monkeypatch) -> str:
    """The fast path under test: the native scanner, or DuckDB's pass (where the scanner is not built). Small
    batches either way, so that a file of a few thousand spans spans several."""
    if request.param == "duckdb":
        monkeypatch.setattr(import_native, "available", lambda: False)
    monkeypatch.setattr(import_native, "CHUNK_BYTES", 16 << 10)
    return request.param


def _span(n: int) -> dict:
    return {"id": f"s{n}", "span_id": f"s{n}", "root_span_id": "s0", "span_parents": None if n == 0 else ["s0"],
            "created": f"2026-01-02T03:04:{n % 60:02d}.{n % 1000:03d}Z", "input": {"q": f"question {n}"},
            "output": f"answer {n}", "scores": {"Factuality": (n % 10) / 10}, "metadata": {"model": "gpt-4o"},
            "metrics": {"start": 1767323045.0 + n, "end": 1767323046.5 + n, "tokens": n},
            "span_attributes": {"name": "llm", "type": "llm"}, "tags": ["prod"],
            "_xact_id": "1000", "org_id": "o", "log_id": "g", "_pagination_key": f"p{n}"}


def _write_jsonl(path: Path, rows: list, *, bad_line: str | None = None, at: int | None = None) -> None:
    lines = [json.dumps(r) for r in rows]
    if bad_line is not None:
        assert at is not None
        lines.insert(at - 1, bad_line)
    path.write_text("\n".join(lines) + "\n")


def _generation_and_projects(root: Path) -> tuple[int, list[str]]:
    ws = Workspace.open(root)
    return ws.generation, [p.name for p in ws.projects()]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "ws"
    Workspace.open(path).create_project("existing")
    return path


def test_a_bad_line_late_in_the_file_is_named_and_nothing_is_written(root: Path, tmp_path: Path, capsys) -> None:
    """The rows before it were already streamed into a segment: they, and the new project, must vanish."""
    src = tmp_path / "late.jsonl"
    _write_jsonl(src, [_span(n) for n in range(3 * BATCH_ROWS)], bad_line='{"id": "x", "tags": "urgent"}',
                 at=3 * BATCH_ROWS - 7)
    before = _generation_and_projects(root)
    assert main(["import", "logs", str(src), "--project", "fresh", "--workspace", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"late.jsonl line {3 * BATCH_ROWS - 7}: `tags` must be a list of strings" in err, err
    assert len(err.strip().splitlines()) == 1
    assert _generation_and_projects(root) == before  # no rows, no project "fresh"
    assert not list(root.rglob("*.part")) and not list(root.rglob("*.dedup"))


def test_a_bad_csv_row_late_in_the_file_is_named_and_nothing_is_written(root: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "late.csv"
    body = "".join(f"r{n},{n}\n" for n in range(2 * BATCH_ROWS))
    src.write_text("id,input\n" + body + 'bad,"[1, 2]",extra\n')
    before = _generation_and_projects(root)
    assert main(["import", "dataset", str(src), "--project", "existing", "--workspace", str(root)]) == 2
    assert f"late.csv line {2 * BATCH_ROWS + 2}: more cells than header columns" in capsys.readouterr().err
    assert _generation_and_projects(root) == before


def test_an_import_killed_mid_stream_leaves_nothing_visible(root: Path, tmp_path: Path) -> None:
    src = tmp_path / "big.jsonl"
    _write_jsonl(src, [_span(n) for n in range(2 * BATCH_ROWS)])
    before = _generation_and_projects(root)
    env = {**os.environ, "LOOP_TUI_CRASH_AT": "import-batch", "PYTHONDONTWRITEBYTECODE": "1"}
    killed = subprocess.run([sys.executable, "-m", "loop_tui", "import", "logs", str(src), "--project", "fresh",
                             "--workspace", str(root)], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _generation_and_projects(root) == before  # neither the rows nor the project it would create
    assert main(["import", "logs", str(src), "--project", "fresh", "--workspace", str(root)]) == 0
    ws = Workspace.open(root)
    assert ws.query("SELECT count(*) AS n FROM project_logs")[0]["n"] == 2 * BATCH_ROWS
    assert not list(root.rglob("*.part"))  # the killed import's temp segment was swept by the next writer


def test_readers_yield_bounded_batches_without_reading_the_whole_file(tmp_path: Path) -> None:
    src = tmp_path / "many.jsonl"
    _write_jsonl(src, [_span(n) for n in range(3 * BATCH_ROWS)])
    progress = ReadProgress()
    batches = row_batches(src, "jsonl", "project_logs", src.name, progress)
    first = next(batches)
    assert first.num_rows == BATCH_ROWS
    assert progress.bytes < src.stat().st_size / 2  # the rest of the file is not read yet
    assert [b.num_rows for b in batches] == [BATCH_ROWS, BATCH_ROWS]
    from loop_tui import clock

    fast = list(import_fast.span_batches(src, "project_logs", src.name, clock.now()))
    assert sum(b.num_rows for b in fast) == 3 * BATCH_ROWS
    assert max(b.num_rows for b in fast) <= import_fast.BATCH_ROWS
    if import_native.available():  # the scanner's batches are bounded by bytes: a chunk's whole lines
        native = list(import_native.span_batches(src, "project_logs", src.name, clock.now()))
        assert sum(b.num_rows for b in native) == 3 * BATCH_ROWS
        per_row = src.stat().st_size / (3 * BATCH_ROWS)
        assert max(b.num_rows for b in native) <= import_native.CHUNK_BYTES / per_row + 1


ODD_ROWS = [
    {"id": 7, "input": "a numeric id"},  # Python makes it "7"
    {"input": "no id at all", "created": "2026-01-02T03:04:05Z"},
    {"id": "", "span_id": "", "input": "empty ids"},
    {"id": "c1", "created": 1767323045.25},  # epoch seconds
    {"id": "c2", "created": "2026-01-02 03:04:05.5+02:00"},
    {"id": "c3", "created": "2026-01-02"},
    {"id": "n1", "input": {"x": float("nan")}, "scores": {"s": float("inf"), "t": None}},
    {"id": "e1", "input": "caf\u00e9 \U0001F600", "output": {"\u2603": [1, 2.5, -0.0, 1e-7, 12345678901234567890]}},
    {"id": "x1", "facets": {"Sentiment": "calm"}, "comments": None, "dataset_id": "dropped"},
    {"id": "r1", "is_root": False, "span_parents": []},
    {"id": "r2", "span_parents": ["p"], "root_span_id": "p", "metadata": {"model": 5}, "span_attributes": "odd"},
    {"id": "m1", "metrics": {"start": 1, "end": 2.5, "big": 1e300}, "scores": {}, "tags": []},
    {"id": "t1", "is_root": True, "span_id": 5, "root_span_id": None},  # a number as an id: str(5)
    {"id": "t2", "metadata": [1], "span_attributes": {"name": 3, "type": "x"}, "error": False, "expected": 0},
    {"id": "dup", "input": "first"},
    {"id": "dup", "input": "second"},
    # Shapes the fast path checks on DuckDB's re-serialised text (escapes, commas, digits, key order, depth).
    {"id": "k1", "tags": ["a\"b", "c\\d", "x,y", "\u00e9"], "span_parents": ["p\"q"],
     "scores": {"a\"b": 1, "x,y": -0, "z": 1e5, "\u00e9": 0.5}},
    {"id": "k2", "metrics": {"n16": 1234567890123456, "n17": 12345678901234567, "f": 0.30000000000000004,
                             "neg": -2.5, "tiny": 1e-7}},
    {"input": "keys in another order", "id": "k3", "tags": ["t"]},
    {"id": "d1", "input": [[[[{"a": [0] * 300}]]]] * 20, "output": "x" * 900},
    {"id": "d2", "input": json.loads("[" * 450 + "]" * 450), "output": "y" * 900},
    {"id": "d3", "input": json.loads("[" * 600 + "]" * 600)},
]

# An object repeating a key: Python keeps the last value (DuckDB's MAP conversion gave the whole map NULL).
REPEATED_KEYS_LINE = '{"id": "rk", "scores": {"a": 1, "a": 2, "b": 0.5}, "metrics": {"m": 1, "m": null}}'


def _stored(root: Path) -> list[dict]:
    rows = Workspace.open(root).query(
        "SELECT * EXCLUDE (_xact_id, project_id, created) FROM project_logs ORDER BY input, id")
    ids = {r["id"] for r in rows}
    generated = {i for i in ids if len(i) == 36}
    return [{**r, "id": "<new>" if r["id"] in generated else r["id"],
             "span_id": "<new>" if r["span_id"] in generated else r["span_id"],
             "root_span_id": "<new>" if r["root_span_id"] in generated else r["root_span_id"]} for r in rows]


def test_the_fast_path_stores_exactly_what_the_row_by_row_path_stores(tmp_path: Path, monkeypatch, engine) -> None:
    """Clean SDK spans mixed with every odd shape the fast path hands back to Python."""
    src = tmp_path / "mixed.jsonl"
    rows = [_span(n) for n in range(50)]
    for n, odd in enumerate(ODD_ROWS):
        rows.insert(3 * n + 1, odd)
    lines = [json.dumps(r) for r in rows]
    lines.insert(10, REPEATED_KEYS_LINE)
    src.write_text("\n".join(lines).replace("\n", "\n\n", 1) + "\n")  # a blank line too
    fast_root, slow_root = tmp_path / "fast", tmp_path / "slow"
    args = {"project": "p", "name": None, "description": {}, "op_description": "test"}
    fast = import_file(Workspace.open(fast_root), src, "jsonl", "project_logs", **args)

    def refuse(*_args, **_kwargs):
        raise RowByRow("test: the row-by-row path only")

    monkeypatch.setattr("loop_tui.store.import_file.fast_span_batches", refuse)
    slow = import_file(Workspace.open(slow_root), src, "jsonl", "project_logs", **args)
    assert (fast.rows, fast.duplicates) == (slow.rows, slow.duplicates) == (len(rows), 1)
    assert _stored(fast_root) == _stored(slow_root)
    created = {r["id"]: r["created"] for r in Workspace.open(fast_root).query("SELECT id, created FROM project_logs")}
    again = {r["id"]: r["created"] for r in Workspace.open(slow_root).query("SELECT id, created FROM project_logs")}
    given = {"c1", "c2", "c3", *(f"s{n}" for n in range(50))}  # rows whose `created` the file sets
    assert {k: created[k] for k in given} == {k: again[k] for k in given}


def test_the_fast_path_takes_clean_sdk_spans_itself(tmp_path: Path, monkeypatch, engine) -> None:
    """The fast path is not silently the slow one: clean spans never reach Python's normaliser."""
    src = tmp_path / "clean.jsonl"
    _write_jsonl(src, [_span(n) for n in range(100)])

    def fail(*_args, **_kwargs):
        raise AssertionError("a clean span was normalised in Python")

    monkeypatch.setattr("loop_tui.store.io.normalize_for_import", fail)
    monkeypatch.setattr("loop_tui.store.import_file.normalize_for_import", fail)
    result = import_file(Workspace.open(tmp_path / "ws"), src, "jsonl", "project_logs", project="p", name=None,
                         description={}, op_description="test")
    assert result.rows == 100


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_shows_rows_rate_and_eta_on_a_terminal_only() -> None:
    quiet = io.StringIO()
    ImportProgress(1000, quiet).update(10, 500)
    assert quiet.getvalue() == ""
    bar = ImportProgress(200_000_000, _Terminal())
    assert bar.line(120_000, 100_000_000, 4.0) == "[############------------]  50% 120,000 rows 25.0 MB/s ETA 0:04"
    bar.update(5, 1000)
    bar.close()
    assert bar.stream.getvalue().startswith("\r[") and bar.stream.getvalue().endswith("\r\033[K")


def test_export_streams_batches_and_a_late_column_still_reaches_the_csv_header(root: Path, tmp_path: Path,
                                                                               monkeypatch) -> None:
    from loop_tui.store import export_rows

    monkeypatch.setattr(export_rows, "EXPORT_BATCH_ROWS", 100)
    ws = Workspace.open(root)
    project = ws.project("existing")
    rows = [{"id": f"r{n:04d}", "created": f"2026-01-02T03:{n // 60:02d}:{n % 60:02d}Z", "input": n} for n in range(350)]
    rows[-1]["late_field"] = {"only": "here"}
    ws.insert_rows("project_logs", project.id, rows, project_id=project.id)
    sizes = [len(b) for b in export_rows.braintrust_row_batches(ws, "project_logs", project.id)]
    assert sizes == [100, 100, 100, 50]
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"out.{fmt}"
        assert main(["export", "logs", "--project", "existing", "--out", str(out), "--workspace", str(root)]) == 0
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in rows]  # oldest first, across batches
    header = (tmp_path / "out.csv").read_text().splitlines()[0].split(",")
    assert "late_field" in header
    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "out.parquet")
    assert table.num_rows == 350 and json.loads(table.column("late_field")[-1].as_py()) == {"only": "here"}
    again = tmp_path / "again"
    assert main(["import", "logs", str(tmp_path / "out.csv"), "--project", "copy", "--workspace", str(again)]) == 0
    assert Workspace.open(again).query("SELECT count(*) AS n FROM project_logs")[0]["n"] == 350


def test_a_file_starting_with_a_byte_order_mark_gets_the_same_answer_on_every_path(root: Path, tmp_path: Path,
                                                                                   capsys) -> None:
    src = tmp_path / "bom.jsonl"
    src.write_bytes(b"\xef\xbb\xbf" + json.dumps(_span(1)).encode() + b"\n")
    for kind in ("logs", "dataset"):  # logs take the DuckDB path, datasets the row-by-row one
        assert main(["import", kind, str(src), "--project", "existing", "--workspace", str(root)]) == 2
        assert "bom.jsonl line 1: not valid JSON (Unexpected UTF-8 BOM" in capsys.readouterr().err


def test_a_csv_byte_that_is_not_utf8_past_the_first_megabyte_names_its_line_and_column(root: Path, tmp_path: Path,
                                                                                      capsys) -> None:
    """The CSV is decoded as it streams; the error is then located a chunk at a time (characters cut by
    a chunk's end included)."""
    header = b"id,input\n"
    body = b"".join(f"r{n},caf\u00e9 \u2603 {n}\n".encode() for n in range(60_000))  # ~1.2 MB of multibyte text
    src = tmp_path / "late.csv"
    src.write_bytes(header + body + b"bad,ok \xff here\n")
    assert main(["import", "dataset", str(src), "--project", "existing", "--workspace", str(root)]) == 2
    err = capsys.readouterr().err
    assert "late.csv line 60002: not valid UTF-8 (byte 0xff at column 8)" in err, err


def test_imported_span_segments_carry_the_typed_copies_btql_reads(root: Path, tmp_path: Path) -> None:
    # A streamed import wrote its segment without the typed score/metric copies every other write makes,
    # so BTQL read imported logs from the maps (the slow path) until a compaction.
    import pyarrow.parquet as pq

    from loop_tui.btql import run
    from loop_tui.store.typed import field_name

    rows = [_span(n) for n in range(2 * BATCH_ROWS + 5)]
    rows[7]["scores"] = {"Relevance": 0.25}  # a key that occurs once, in the first batch
    rows[-1]["metrics"]["cost"] = 0.5  # and one in the last batch only
    src = tmp_path / "spans.jsonl"
    _write_jsonl(src, rows)
    assert main(["import", "logs", str(src), "--project", "typed", "--workspace", str(root)]) == 0
    [segment] = (root / "tables" / "project_logs").glob("*/seg-*.parquet")
    table = pq.read_table(segment, columns=["id", "_scores_t", "_metrics_t"])
    by_id = dict(zip(table.column("id").to_pylist(), table.column("_scores_t").to_pylist(), strict=True))
    assert by_id["s7"][field_name("Relevance")] == 0.25 and by_id["s7"][field_name("Factuality")] is None
    assert by_id["s3"][field_name("Factuality")] == 0.3 and by_id["s3"][field_name("Relevance")] is None
    metrics = dict(zip(table.column("id").to_pylist(), table.column("_metrics_t").to_pylist(), strict=True))
    assert metrics[rows[-1]["id"]][field_name("cost")] == 0.5
    ws = Workspace.open(root)
    answer = run("measures: avg(scores.Factuality) as f, sum(metrics.cost) as c | from: project_logs('typed')", ws)
    [row] = answer.table.to_pylist()
    assert row["c"] == 0.5 and abs(row["f"] - sum((n % 10) / 10 for n in range(len(rows)) if n != 7)
                                    / (len(rows) - 1)) < 1e-9


@pytest.mark.parametrize("repeat_an_id", [False, True])
def test_typed_copies_hold_every_key_when_a_later_row_group_brings_a_new_one(root: Path, tmp_path: Path, monkeypatch,
                                                                              repeat_an_id: bool) -> None:
    # The typed copies are written with each row group, their fields fixed by the first one; a key first
    # seen in a later row group (or ids that repeat, which rewrite the file) must still get its field.
    import pyarrow.parquet as pq

    from loop_tui.btql import run
    from loop_tui.store import import_stream
    from loop_tui.store.typed import field_name

    monkeypatch.setattr(import_stream, "ROW_GROUP_ROWS", 1024)
    rows = [_span(n) for n in range(2 * BATCH_ROWS + 5)]
    rows[-1]["metrics"]["cost"] = 0.5  # only in the last row group
    if repeat_an_id:
        rows.append({**_span(3), "scores": {"Factuality": 0.9, "Late": 1.0}})  # the last s3 wins
    src = tmp_path / "spans.jsonl"
    _write_jsonl(src, rows)
    assert main(["import", "logs", str(src), "--project", "typed", "--workspace", str(root)]) == 0
    [segment] = (root / "tables" / "project_logs").glob("*/seg-*.parquet")
    assert pq.ParquetFile(segment).num_row_groups > 1
    table = pq.read_table(segment, columns=["id", "_scores_t", "_metrics_t"])
    assert table.num_rows == 2 * BATCH_ROWS + 5
    metrics = dict(zip(table.column("id").to_pylist(), table.column("_metrics_t").to_pylist(), strict=True))
    assert metrics[rows[2 * BATCH_ROWS + 4]["id"]][field_name("cost")] == 0.5
    assert metrics["s0"][field_name("cost")] is None and metrics["s0"][field_name("tokens")] == 0
    scores = dict(zip(table.column("id").to_pylist(), table.column("_scores_t").to_pylist(), strict=True))
    assert scores["s3"][field_name("Factuality")] == (0.9 if repeat_an_id else 0.3)
    answer = run("measures: sum(metrics.cost) as c, max(scores.Factuality) as f | from: project_logs('typed')",
                 Workspace.open(root))
    assert answer.table.to_pylist() == [{"c": 0.5, "f": 0.9}]


def test_the_import_line_names_the_dataset_and_the_project(root: Path, tmp_path: Path, capsys) -> None:
    # It said "imported 3 rows into dataset of trivia": which dataset, and that trivia is the project, were lost.
    src = tmp_path / "qa.jsonl"
    _write_jsonl(src, [{"input": {"q": n}, "expected": n} for n in range(3)])
    assert main(["import", "dataset", str(src), "--project", "trivia", "--name", "trivia-qa",
                 "--workspace", str(root)]) == 0
    assert capsys.readouterr().out.startswith("imported 3 rows into dataset 'trivia-qa' of project trivia (write ")
    logs = tmp_path / "logs.jsonl"
    _write_jsonl(logs, [_span(0)])
    assert main(["import", "logs", str(logs), "--project", "trivia", "--workspace", str(root)]) == 0
    assert capsys.readouterr().out.startswith("imported 1 row into the logs of project trivia (write ")


def test_a_project_name_with_spaces_around_it_is_the_project_of_that_name(root: Path, tmp_path: Path, capsys) -> None:
    # `--project " existing"` (a pasted name) created a second project, also named "existing" (names are stored
    # stripped, but were looked up as given): the two could no longer be told apart.
    src = tmp_path / "spans.jsonl"
    for n, project in enumerate(["existing ", " existing", " new ", "new"]):
        _write_jsonl(src, [_span(n)])
        assert main(["import", "logs", str(src), "--project", project, "--workspace", str(root)]) == 0
        assert f"of project {project.strip()} (write " in capsys.readouterr().out
    ws = Workspace.open(root)
    assert sorted(p.name for p in ws.projects()) == ["existing", "new"]
    assert [r["n"] for r in ws.query("SELECT count(*) AS n FROM project_logs GROUP BY project_id")] == [2, 2]


def test_a_blank_name_is_one_sentence_that_reads(root: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "spans.jsonl"
    _write_jsonl(src, [_span(0)])
    assert main(["import", "experiment", str(src), "--project", "existing", "--name", "  ",
                 "--workspace", str(root)]) == 2
    assert capsys.readouterr().err == "loop-tui: an experiment needs a non-empty name\n"  # was "a experiment"


def test_the_row_groups_near_the_end_of_the_file_are_smaller(root: Path, tmp_path: Path, monkeypatch, engine) -> None:
    # The row group left when DuckDB's reading ends is written while nothing else runs: a whole one was
    # ~0.2 s of a 2.5 s import. Near the end (by the rows the file's size promises) they are cut smaller.
    import pyarrow.parquet as pq

    from loop_tui.store import import_stream

    monkeypatch.setattr(import_stream, "ROW_GROUP_ROWS", 4096)
    monkeypatch.setattr(import_stream, "LAST_ROW_GROUPS_ROWS", 1024)
    monkeypatch.setattr(import_fast, "BATCH_ROWS", 512)
    rows = [_span(n) for n in range(10_005)]
    src = tmp_path / "spans.jsonl"
    _write_jsonl(src, rows)
    assert main(["import", "logs", str(src), "--project", "groups", "--workspace", str(root)]) == 0
    [segment] = (root / "tables" / "project_logs").glob("*/seg-*.parquet")
    meta = pq.ParquetFile(segment).metadata
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes[0] == 4096 and sum(sizes) == 10_005
    assert sizes[-1] <= 1024
    assert pq.read_table(segment, columns=["id"]).column("id").to_pylist() == [r["id"] for r in rows]


def test_an_id_repeated_rows_apart_among_clean_spans_keeps_the_last(root: Path, tmp_path: Path, monkeypatch,
                                                                   engine) -> None:
    # The fast path knows from DuckDB's hash of each id whether any repeats; a repeat must still be found
    # when the two rows are in different batches and row groups.
    from loop_tui.store import import_stream

    monkeypatch.setattr(import_stream, "ROW_GROUP_ROWS", 1024)
    monkeypatch.setattr(import_fast, "BATCH_ROWS", 256)
    rows = [_span(n) for n in range(3000)]
    rows[2500] = {**_span(2500), "id": "s7", "output": "the later s7"}
    src = tmp_path / "spans.jsonl"
    _write_jsonl(src, rows)
    result = import_file(Workspace.open(root), src, "jsonl", "project_logs", project="p", name=None,
                         description={}, op_description="test")
    assert (result.rows, result.duplicates) == (2999, 1)
    stored = Workspace.open(root).query("SELECT output FROM project_logs WHERE id = 's7'")
    assert [json.loads(r["output"]) for r in stored] == ["the later s7"]


def test_distinct_ids_are_known_without_reading_the_segment_back(root: Path, tmp_path: Path, monkeypatch) -> None:
    # Counting the ids of the written file took ~0.1-0.2 s at commit, with nothing else running.
    from loop_tui.store.import_stream import StreamingImport

    def no_count(self):  # type: ignore[no-untyped-def]
        raise AssertionError("the written segment was read back to count its ids")

    monkeypatch.setattr(StreamingImport, "_duckdb", no_count)
    src = tmp_path / "spans.jsonl"
    _write_jsonl(src, [_span(n) for n in range(500)])
    result = import_file(Workspace.open(tmp_path / "fresh"), src, "jsonl", "project_logs", project="p", name=None,
                         description={}, op_description="test")
    assert (result.rows, result.duplicates) == (500, 0)


def test_ids_whose_hashes_collide_are_counted_exactly(root: Path, tmp_path: Path, monkeypatch) -> None:
    # Two ids with the same hash are not two rows with the same id: the exact count decides. (The hashes are
    # made in DuckDB's SQL here, where a test can make them collide; the scanner's go the same way.)
    from loop_tui.store import import_fast as fast

    monkeypatch.setattr(import_native, "available", lambda: False)

    query = fast.span_query
    monkeypatch.setattr(fast, "span_query", lambda *a, **k: query(*a, **k).replace("hash(_id)", "42::UBIGINT"))
    src = tmp_path / "spans.jsonl"
    _write_jsonl(src, [_span(n) for n in range(50)])
    result = import_file(Workspace.open(root), src, "jsonl", "project_logs", project="p", name=None,
                         description={}, op_description="test")
    assert (result.rows, result.duplicates) == (50, 0)


def test_a_line_duckdb_cannot_parse_after_the_first_batches_is_named(root: Path, tmp_path: Path, capsys,
                                                                     monkeypatch, engine) -> None:
    # DuckDB's error for a line it reaches while batches are already streaming comes through pyarrow's
    # reader as an OSError, not a duckdb.Error: it escaped as a traceback.
    monkeypatch.setattr(import_fast, "BATCH_ROWS", 64)
    rows = [_span(n) for n in range(30_000)]
    src = tmp_path / "truncated.jsonl"
    _write_jsonl(src, rows, bad_line='{"id": "cut", "input": ', at=29_990)
    before = _generation_and_projects(root)
    assert main(["import", "logs", str(src), "--project", "fresh", "--workspace", str(root)]) == 2
    err = capsys.readouterr().err
    assert "truncated.jsonl line 29990" in err and len(err.strip().splitlines()) == 1, err
    assert _generation_and_projects(root) == before


def test_the_kept_id_hashes_do_not_hold_on_to_the_batches() -> None:
    # A view into a batch's buffer kept the whole batch (DuckDB releases its buffers together) alive for the
    # rest of the import: 1.9 GB at 2M spans.
    import pyarrow as pa

    from loop_tui.store.import_ids import ID_HASH, IdHashes

    source = pa.table({"id": ["x" * 1000] * 1000, ID_HASH: pa.array(range(1000), pa.uint64())})
    batch = pa.RecordBatchReader.from_stream(source).read_all()  # through the C stream interface, as DuckDB's come
    del source
    hashes = IdHashes()
    hashes.add(batch)
    held = pa.total_allocated_bytes()
    del batch
    assert pa.total_allocated_bytes() < held - 500_000  # the ids' megabyte went with the batch
    assert hashes.surely_distinct()


@pytest.mark.skipif(not import_native.available(), reason=import_native.UNAVAILABLE)
def test_a_jsonl_span_import_is_scanned_natively_where_the_scanner_was_built(tmp_path: Path, monkeypatch) -> None:
    # The scanner is several times cheaper than DuckDB's checking pass: an install that built it must use it.
    def duckdb_pass(*_args, **_kwargs):
        raise AssertionError("DuckDB's pass read the file")

    monkeypatch.setattr("loop_tui.store.import_file.span_batches", duckdb_pass)
    src = tmp_path / "spans.jsonl"
    _write_jsonl(src, [_span(n) for n in range(300)])
    result = import_file(Workspace.open(tmp_path / "ws"), src, "jsonl", "project_logs", project="p", name=None,
                         description={}, op_description="test")
    assert result.rows == 300
