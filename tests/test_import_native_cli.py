"""The native scanner through the CLI, on files shaped as users have them: an experiment as the Braintrust SDK
logs one, and a file `loop-tui export` wrote. The scanner must store what the row-by-row path stores there too
(the scanner's own tests compare lines of `project_logs` one at a time).

Real CLI (in-process), real workspaces, DuckDB and Parquet.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from loop_tui.cli.main import main
from loop_tui.store import Workspace, import_native
from loop_tui.store.import_fast import RowByRow

pytestmark = pytest.mark.skipif(not import_native.available(), reason=import_native.UNAVAILABLE)

OFFSETS = ["Z", "+02:00", "-05:00", "+05:30", "-03:30", ""]  # "" : no offset, read as UTC
# Around the 2026 DST changes of the US and the EU, and a leap day: stored as the instant the offset names.
TIMES = ["2026-03-08T01:59:59", "2026-03-08T02:30:00.5", "2026-11-01T01:30:00", "2026-10-25T02:30:00.123456",
         "2028-02-29T23:59:59"]


def _experiment_rows(count: int) -> list[dict[str, Any]]:
    """An experiment as the SDK logs it: a root span per case with its scores, a task span and a span per
    scorer, the API's bookkeeping fields, and fields the schema lacks (`dataset_record_id`, `comments`...)."""
    rows: list[dict[str, Any]] = []
    for n in range(count):
        root = f"r{n}"
        created = TIMES[n % len(TIMES)] + OFFSETS[n % len(OFFSETS)]
        rows.append({
            "id": root, "_xact_id": "1000192656880881099", "created": created, "project_id": "p0",
            "experiment_id": "e0", "dataset_record_id": f"d{n}",
            "input": {"question": f"q {n} caf\u00e9", "context": ["a", "b"]},
            "output": {"answer": "x" * (n % 7), "confidence": 0.1 * (n % 10)}, "expected": f"answer {n}",
            "error": None, "scores": {"Factuality": (n % 5) / 4, "ExactMatch": n % 2, "Levenshtein": 1 / 3},
            "metadata": {"model": "gpt-4o-mini", "temperature": 0.0},
            "metrics": {"start": 1767323045.123456 + n, "end": 1767323046.5 + n, "prompt_tokens": 120 + n,
                        "completion_tokens": 30, "tokens": 150 + n, "estimated_cost": 2.5e-05},
            "tags": ["exp"], "span_id": root, "root_span_id": root, "span_parents": None, "is_root": True,
            "span_attributes": {"name": "eval", "type": "eval", "exec_counter": n},
            "origin": {"object_type": "dataset", "object_id": "ds1", "id": f"d{n}", "_xact_id": "1"},
            "context": {"caller_functionname": "main", "caller_filename": "/x/eval_x.py", "caller_lineno": 10},
            "comments": [{"text": "look"}] if n % 11 == 0 else None, "audit_data": [{"action": "upsert"}],
            "_pagination_key": f"p{n}", "org_id": "o"})
        for k, name in enumerate(["task", "Factuality", "ExactMatch"]):
            span = f"{root}.{k}"
            rows.append({"id": span, "created": created, "span_id": span, "root_span_id": root,
                         "span_parents": [root], "input": {"question": f"q {n}"}, "output": 0.5 if k else "ans",
                         "metadata": {"model": "gpt-4o"} if k == 0 else {}, "scores": {name: 1} if k else None,
                         "metrics": {"start": 1767323045.25 + n, "end": 1767323045.75 + n},
                         "span_attributes": {"name": name, "type": "task" if k == 0 else "score"},
                         "experiment_id": "e0", "_xact_id": "1"})
    rows.append({**rows[5], "output": "the later one"})  # an id given again: the last line wins
    rows.append({**rows[9], "scores": {"Factuality": 0.125}})
    return rows


def _import(workspace: Path, path: Path) -> None:
    code = main(["import", "experiment", str(path), "--project", "P", "--name", "N", "--workspace", str(workspace)])
    assert code == 0


def _stored(workspace: Path) -> list[dict[str, Any]]:
    """The experiment's rows, without what each import sets itself."""
    return Workspace.open(workspace).query(
        "SELECT * EXCLUDE (_xact_id, project_id, experiment_id) FROM experiment ORDER BY id")


def test_an_sdk_experiment_is_scanned_natively_into_the_rows_the_row_by_row_path_stores(
        tmp_path: Path, monkeypatch, capsys) -> None:
    src = tmp_path / "experiment.jsonl"
    rows = _experiment_rows(60)
    src.write_text("\n".join(json.dumps(r, ensure_ascii=n % 2 == 0) for n, r in enumerate(rows)) + "\n")

    def not_duckdb(*_args, **_kwargs):
        raise AssertionError("DuckDB's pass read the file")

    monkeypatch.setattr("loop_tui.store.import_file.span_batches", not_duckdb)
    monkeypatch.setattr(import_native, "CHUNK_BYTES", 16 << 10)  # several chunks, on both threads
    _import(tmp_path / "native", src)
    assert "2 line(s) repeated an id" in capsys.readouterr().out

    def row_by_row(*_args, **_kwargs):
        raise RowByRow("test: the row-by-row path only")

    monkeypatch.setattr("loop_tui.store.import_file.fast_span_batches", row_by_row)
    _import(tmp_path / "slow", src)
    native, slow = _stored(tmp_path / "native"), _stored(tmp_path / "slow")
    assert len(native) == len(rows) - 2
    assert native == slow
    by_id = {r["id"]: r for r in native}
    assert json.loads(by_id["r1.0"]["output"]) == "the later one"
    assert json.loads(by_id["r0"]["_extra"]) == {"dataset_record_id": "d0", "comments": [{"text": "look"}],
                                                 "audit_data": [{"action": "upsert"}]}
    assert by_id["r1"]["created"] == datetime(2026, 3, 8, 0, 30, 0, 500000, tzinfo=UTC)  # 02:30:00.5+02:00


def test_an_exported_experiment_imports_again_into_the_same_rows(tmp_path: Path, capsys) -> None:
    # Export writes the `_extra` fields back as top-level fields: imported again, they are `_extra` again.
    src = tmp_path / "experiment.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in _experiment_rows(40)) + "\n")
    _import(tmp_path / "first", src)
    exported = tmp_path / "exported.jsonl"
    assert main(["export", "experiment", "--project", "P", "--name", "N", "--out", str(exported),
                 "--workspace", str(tmp_path / "first")]) == 0
    _import(tmp_path / "second", exported)
    assert _stored(tmp_path / "second") == _stored(tmp_path / "first")


def test_ctrl_c_mid_import_is_one_sentence_exit_130_and_leaves_nothing_visible(tmp_path: Path) -> None:
    # Ctrl-C lands on the main thread while the scan threads and the read-ahead run: they must stop (the
    # process ends), and the uncommitted segment is not committed.
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO
    from tests.otel_support import wait_until

    src = tmp_path / "big.jsonl"
    rows = _experiment_rows(3)
    with open(src, "w") as fh:
        for n in range(40_000):
            fh.write(json.dumps({**rows[n % 4], "id": f"s{n}", "output": "x" * 1000}) + "\n")
    workspace = tmp_path / "ws"
    Workspace.open(workspace).create_project("existing")
    generation = Workspace.open(workspace).generation
    proc = subprocess.Popen([sys.executable, "-m", "loop_tui", "import", "experiment", str(src), "--project", "P",
                             "--name", "N", "--workspace", str(workspace)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    # The import is writing its rows (uncommitted), or has ended (then the assertion below says how).
    wait_until(lambda: proc.poll() is not None or list(workspace.rglob("*.part")), timeout=60, interval=0.005,
               what="the import to begin writing")
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (130, "loop-tui: interrupted\n"), out
    ws = Workspace.open(workspace)
    assert (ws.generation, [p.name for p in ws.projects()]) == (generation, ["existing"])
    assert not list(workspace.rglob("*.part"))


def test_a_scanner_built_from_another_version_of_its_source_is_not_used(tmp_path: Path, monkeypatch) -> None:
    # An editable install keeps the .so it built: after a pull that changed the scanner's columns or roles, the
    # old build would hand back buffers this code reads otherwise (wrong rows, or a KeyError traceback).
    # Its layout number tells; such an import takes DuckDB's pass, and stores the same rows.
    from loop_tui.store import _spanscan, import_file
    from loop_tui.store.schema import SPAN_JSON_FIELDS

    assert _spanscan.LAYOUT == import_native.SCANNER_LAYOUT
    assert len(SPAN_JSON_FIELDS) == _spanscan.FREE_FORM_FIELDS
    monkeypatch.setattr(_spanscan, "LAYOUT", import_native.SCANNER_LAYOUT - 1)
    assert not import_native.available()
    src = tmp_path / "experiment.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in _experiment_rows(3)) + "\n")
    duckdb_pass = import_file.span_batches
    used = []
    monkeypatch.setattr(import_file, "span_batches", lambda *args: used.append(1) or duckdb_pass(*args))
    _import(tmp_path / "ws", src)
    assert used and len(_stored(tmp_path / "ws")) == 12
