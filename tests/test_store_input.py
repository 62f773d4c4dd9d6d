"""Hostile files at import, duplicate ids within one write, and where an export may write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loop_tui.cli.main import main
from loop_tui.store import Workspace
from tests.conftest import run_cli


def _strict(text: str) -> list:
    """Parse JSONL as a strict reader would: NaN and Infinity are errors."""
    def refuse(name: str) -> None:
        raise ValueError(f"{name} in strict JSON")
    return [json.loads(line, parse_constant=refuse) for line in text.splitlines() if line.strip()]


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    Workspace.open(root).create_project("p")
    return root


def _import(ws_path: Path, src: Path, kind: str = "logs", capsys=None) -> int:
    return main(["import", kind, str(src), "--project", "p", "--name", "d", "--workspace", str(ws_path)])


BAD_FILES = {
    "utf8.jsonl": (b'{"input": "ok"}\n{"input": "\xff\xfe"}\n', "line 2: not valid UTF-8"),
    "utf8.csv": (b'input\nok\n"caf\xe9"\n', "line 3: not valid UTF-8"),
    "deep.jsonl": (b'{"input": ' + b"[" * 10_000 + b"]" * 10_000 + b"}\n", "line 1: nested too deeply"),
    "deep.csv": (b"input\n" + b"[" * 10_000 + b"]" * 10_000 + b"\n", "line 2: a cell is nested too deeply"),
    "score.jsonl": (b'{"scores": {"acc": 1' + b"0" * 400 + b"}}\n", "`scores.acc` is too large"),
    "bigint.jsonl": (b'{"input": 1' + b"0" * 5000 + b"}\n", "line 1: not valid JSON"),
    "future.jsonl": (b'{"created": 1e20}\n', "`created` 1e+20 is out of range"),
    "past.jsonl": (b'{"created": -1e15}\n', "`created` -1000000000000000.0 is out of range"),
    "surrogate.jsonl": (b'{"input": "ok"}\n{"input": {"q": "cut \\ud83d"}}\n', "line 2: `\\ud83d` is half of a UTF-16 pair"),
    "surrogate.csv": (b'input\n"""cut \\udc00"""\n', "line 2: `\\udc00` is half of a UTF-16 pair"),
    # Stored as the Python text of the object, and "no" read as a root span, before.
    "object-id.jsonl": (b'{"id": "a"}\n{"id": {"a": 1}, "input": "x"}\n', "line 2: `id` must be a string, got an object"),
    "word-flag.jsonl": (b'{"id": "a", "is_root": "no"}\n', "line 1: `is_root` must be true or false, got a string"),
    # A file cut inside a quoted cell: its text to the end of the file was imported as the cell, before.
    "cut-cell.csv": (b'id,input\na,"whole"\nb,"cut\nshort', "line 3: the file ends inside a quoted cell"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_hostile_import_files_get_one_sentence_and_write_nothing(ws_path: Path, tmp_path: Path, name: str,
                                                                 capsys) -> None:
    content, needle = BAD_FILES[name]
    src = tmp_path / name
    src.write_bytes(content)
    before = Workspace.open(ws_path).generation
    assert main(["import", "logs", str(src), "--project", "p", "--workspace", str(ws_path)]) == 2  # no exception
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert Workspace.open(ws_path).generation == before


def test_a_whole_utf16_pair_imports_and_half_a_pair_written_directly_is_one_sentence(ws_path: Path, tmp_path: Path) -> None:
    from loop_tui.errors import UserError

    src = tmp_path / "emoji.jsonl"
    src.write_bytes(b'{"id": "e", "input": "smile \\ud83d\\ude00"}\n')  # an emoji as JSON escapes it (ensure_ascii)
    assert _import(ws_path, src) == 0
    ws = Workspace.open(ws_path)
    assert json.loads(ws.query("SELECT input FROM project_logs WHERE id = 'e'")[0]["input"]) == "smile \U0001f600"
    project_id = ws.project("p").id
    with pytest.raises(UserError, match="half of a UTF-16 pair"):  # any writer, not only import, gets the sentence
        ws.insert_rows("project_logs", project_id, [{"id": "x", "input": {"q": "cut \ud83d"}}], project_id=project_id)


def test_a_parquet_timestamp_past_year_9999_names_its_row_and_column(ws_path: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "far.parquet"
    created = pa.array([0, 253_402_300_800 * 10], pa.timestamp("s"))  # the second is in the year ~90,000
    pq.write_table(pa.table({"id": ["a", "b"], "created": created}), src)
    assert _import(ws_path, src) == 2
    err = capsys.readouterr().err
    assert "far.parquet row 2: column `created` holds a value out of range" in err


def test_nan_and_infinity_are_stored_as_null_so_exports_are_strict_json(ws_path: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "nan.jsonl"
    src.write_text('{"id": "a", "input": {"x": NaN, "y": [Infinity, 1]}, "scores": {"s": -Infinity, "t": NaN},'
                   ' "metrics": {"m": Infinity}, "metadata": {"ok": 1.5}}\n')
    assert _import(ws_path, src) == 0
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"out.{fmt}"
        assert main(["export", "logs", "--project", "p", "--out", str(out), "--workspace", str(ws_path)]) == 0
    [row] = _strict((tmp_path / "out.jsonl").read_text())
    assert row["input"] == {"x": None, "y": [None, 1]}
    assert row["scores"] == {"s": None, "t": None} and row["metrics"] == {"m": None}
    assert row["metadata"] == {"ok": 1.5}
    for cell in pq.read_table(tmp_path / "out.parquet").to_pylist()[0].values():
        if cell is not None:
            json.loads(cell, parse_constant=lambda name: pytest.fail(f"{name} in Parquet export"))
    assert "NaN" not in (tmp_path / "out.csv").read_text() and "Infinity" not in (tmp_path / "out.csv").read_text()


def test_a_csv_cell_reading_nan_stays_the_text_nan(ws_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "words.csv"
    src.write_text("id,input\na,NaN\nb,Infinity\n")
    assert _import(ws_path, src) == 0
    out = tmp_path / "back.csv"
    assert main(["export", "logs", "--project", "p", "--out", str(out), "--workspace", str(ws_path)]) == 0
    ws = Workspace.open(ws_path)
    rows = {r["id"]: r["input"] for r in ws.query("SELECT id, input FROM project_logs")}
    assert rows == {"a": '"NaN"', "b": '"Infinity"'}


def test_rows_sharing_an_id_in_one_import_keep_the_last(ws_path: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "dups.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "input": "first"}, {"id": "b", "input": "only"}, {"id": "a", "input": "second"},
    ]))
    assert _import(ws_path, src, kind="dataset") == 0
    out = capsys.readouterr().out
    assert "imported 2 rows" in out and "the last line with each id was kept" in out
    ws = Workspace.open(ws_path)
    history = ws.query("SELECT id, input FROM dataset_history ORDER BY id")
    assert [(r["id"], json.loads(r["input"])) for r in history] == [("a", "second"), ("b", "only")]


def test_export_refuses_a_symlink_or_device_and_never_writes_through_one(ws_path: Path, tmp_path: Path, capsys) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.jsonl"
    link.symlink_to(victim)
    assert main(["export", "logs", "--project", "p", "--out", str(link), "--workspace", str(ws_path)]) == 2
    assert "is a symlink" in capsys.readouterr().err
    assert victim.read_text() == "precious" and link.is_symlink()
    assert main(["export", "logs", "--project", "p", "--out", "/dev/null", "--format", "jsonl", "--workspace", str(ws_path)]) == 2
    assert "a device or special file" in capsys.readouterr().err
    assert Path("/dev/null").is_char_device()
    # The old temp name (.NAME.part beside the target) planted as a symlink is no longer followed.
    planted = tmp_path / ".real.jsonl.part"
    planted.symlink_to(victim)
    real = tmp_path / "real.jsonl"
    assert main(["export", "logs", "--project", "p", "--out", str(real), "--workspace", str(ws_path)]) == 0
    assert victim.read_text() == "precious" and real.is_file() and not real.is_symlink()
    umask = os.umask(0)
    os.umask(umask)
    assert real.stat().st_mode & 0o777 == 0o666 & ~umask  # as a plain open() makes it, not the temp file's 0600
    assert not [p for p in tmp_path.glob(".real.jsonl.*.part")]


def test_export_to_dash_streams_to_stdout(ws_path: Path, tmp_path: Path) -> None:
    ws = Workspace.open(ws_path)
    project = ws.project("p")
    ws.insert_rows("project_logs", project.id, [{"id": "a", "input": "x"}], project_id=project.id)
    result = run_cli("export", "logs", "--project", "p", "--out", "-", "--workspace", str(ws_path))
    assert result.returncode == 0, result.stderr
    [row] = _strict(result.stdout)
    assert row["id"] == "a" and not (Path.cwd() / "-").exists()


def test_small_atomic_writes_never_write_through_a_planted_temp_name(tmp_path: Path) -> None:
    # `export --layout bt-sync --out DIR` may be given an existing empty folder someone else can write to;
    # its files are written by `atomic_write_bytes`, whose temp name was `.NAME.tmp-PID`.
    from loop_tui.store.segments import atomic_write_bytes

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    target = tmp_path / "spec.json"
    (tmp_path / f".spec.json.tmp-{os.getpid()}").symlink_to(victim)
    atomic_write_bytes(target, b"{}")
    assert victim.read_text() == "precious" and target.read_bytes() == b"{}" and not target.is_symlink()
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".spec.json.tmp-{os.getpid()}", "spec.json", "victim.txt"]
