"""A damaged file affects only its own object, is named in one sentence, never reads as empty; `doctor` repairs."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from loop_tui.cli.main import main
from loop_tui.store import Workspace


@pytest.fixture
def two_projects(tmp_path: Path) -> dict:
    """Projects `a` (logs in two writes) and `b` (logs and a dataset); returns paths and ids."""
    root = tmp_path / "ws"
    ws = Workspace.open(root)
    a, b = ws.create_project("a"), ws.create_project("b")
    for n in range(2):
        ws.insert_rows("project_logs", a.id, [{"id": f"a{n}-{i}", "input": i} for i in range(20)], project_id=a.id)
    ws.insert_rows("project_logs", b.id, [{"id": f"b-{i}", "input": i} for i in range(30)], project_id=b.id)
    ds = ws.save_object("dataset", b.id, "golden", {})
    ws.insert_rows("dataset", ds.id, [{"id": "d1", "input": 1}], project_id=b.id)
    a_segments = sorted((root / "tables" / "project_logs" / a.id).glob("seg-*.parquet"))
    return {"root": root, "a": a.id, "b": b.id, "a_segment": a_segments[-1]}


@pytest.fixture
def cli(capsys):
    """Run the CLI in this process (as a subprocess would, minus its start-up time): exit code and output."""
    def call(root: Path, *args: str) -> SimpleNamespace:
        code = main([*args, "--workspace", str(root)])
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)
    return call


def _one_sentence(result) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _inside(path: Path) -> None:
    """Overwrite the data pages and leave the footer whole: only reading the rows finds it."""
    data = bytearray(path.read_bytes())
    data[8 : len(data) // 2] = b"\xab" * (len(data) // 2 - 8)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _garbage, _inside, Path.unlink],
                         ids=["truncated", "garbage", "inside", "deleted"])
def test_a_damaged_log_segment_affects_only_its_project(two_projects: dict, tmp_path: Path, damage, cli) -> None:
    root, seg = two_projects["root"], two_projects["a_segment"]
    damage(seg)
    rel = str(seg.relative_to(root))

    listing = cli(root, "projects", "--format", "json")
    assert listing.returncode == 1
    assert rel in _one_sentence(listing) and "doctor --repair" in listing.stderr
    counts = {p["name"]: p["logs"] for p in json.loads(listing.stdout)}
    assert counts == {"a": None, "b": 30}  # a is not "0 logs": it is damaged

    other = cli(root, "btql", "SELECT count(*) AS n FROM project_logs('b')", "--format", "json")
    assert other.returncode == 0, other.stderr
    assert json.loads(other.stdout)["data"][0]["n"] == 30
    broken = cli(root, "btql", "SELECT count(*) AS n FROM project_logs('a')", "--format", "json")
    assert broken.returncode != 0 and rel in broken.stdout + broken.stderr  # an error, never a count of 0

    export_a = cli(root, "export", "logs", "--project", "a", "--out", str(tmp_path / "a.jsonl"))
    assert export_a.returncode == 1 and rel in _one_sentence(export_a)
    assert not (tmp_path / "a.jsonl").exists()
    assert cli(root, "export", "logs", "--project", "b", "--out", str(tmp_path / "b.jsonl")).returncode == 0
    assert len((tmp_path / "b.jsonl").read_text().splitlines()) == 30

    src = tmp_path / "more.jsonl"
    src.write_text('{"input": 1}\n')
    assert cli(root, "import", "logs", str(src), "--project", "b").returncode == 0
    into_a = cli(root, "import", "logs", str(src), "--project", "a")
    assert into_a.returncode == 1 and rel in _one_sentence(into_a)

    compact = cli(root, "compact")
    assert compact.returncode == 1 and rel in _one_sentence(compact)
    assert "not compacted, because the logs of project" in _one_sentence(compact)  # it read "skipped the logs … cannot be read"


def test_doctor_reports_then_repair_quarantines_and_the_project_reads_again(two_projects: dict, cli) -> None:
    root, seg = two_projects["root"], two_projects["a_segment"]
    healthy = cli(root, "doctor")
    assert healthy.returncode == 0 and "nothing damaged" in healthy.stdout
    _truncate(seg)
    report = cli(root, "doctor")
    assert report.returncode == 1
    assert f"damaged: the logs of project {two_projects['a']}: {seg.relative_to(root)}" in report.stdout
    assert "doctor --repair" in report.stdout
    repaired = cli(root, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert "quarantine/" in repaired.stdout
    assert (root / "quarantine" / "project_logs" / two_projects["a"] / seg.name).exists()  # moved, not deleted
    counts = {p["name"]: p["logs"] for p in json.loads(cli(root, "projects", "--format", "json").stdout)}
    assert counts == {"a": 20, "b": 30}  # a keeps the rows of its undamaged write
    assert cli(root, "doctor").returncode == 0


def test_a_deleted_project_catalog_is_named_and_rebuilt_not_duplicated(two_projects: dict, tmp_path: Path, cli) -> None:
    root = two_projects["root"]
    shutil.rmtree(root / "tables" / "catalog" / "project")
    listing = cli(root, "projects")
    assert listing.returncode == 1 and "the project catalog cannot be read" in _one_sentence(listing)
    src = tmp_path / "more.jsonl"
    src.write_text('{"input": 1}\n')
    again = cli(root, "import", "logs", str(src), "--project", "a")
    assert again.returncode == 1 and "the project catalog" in _one_sentence(again)  # no second project "a"
    repaired = cli(root, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    projects = {p["name"]: p for p in json.loads(cli(root, "projects", "--format", "json").stdout)}
    assert set(projects) == {"a", "b"}  # names remembered by the transaction log, same ids
    assert projects["a"]["id"] == two_projects["a"] and projects["a"]["logs"] == 40
    assert projects["b"]["datasets"] == 1
    assert cli(root, "import", "logs", str(src), "--project", "a").returncode == 0
    assert len(json.loads(cli(root, "projects", "--format", "json").stdout)) == 2


@pytest.mark.parametrize("damage", ["missing", "garbled"])
def test_a_lost_transaction_log_never_reads_as_empty_and_is_rebuilt(two_projects: dict, damage: str, cli) -> None:
    root = two_projects["root"]
    assert cli(root, "compact").returncode == 0  # the rebuild must not bring back what compaction replaced
    log = root / "xacts.jsonl"
    if damage == "missing":
        log.unlink()
    else:
        lines = log.read_text().splitlines()
        lines[1] = lines[1][:20] + "###" + lines[1][20:]
        log.write_text("\n".join(lines) + "\n")
    listing = cli(root, "projects")
    assert listing.returncode == 1 and "transaction log" in _one_sentence(listing) and "doctor --repair" in listing.stderr
    repaired = cli(root, "doctor", "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    counts = {p["name"]: p["logs"] for p in json.loads(cli(root, "projects", "--format", "json").stdout)}
    assert counts == {"a": 40, "b": 30}
    assert cli(root, "doctor").returncode == 0


@pytest.fixture
def cli_as_a_user(tmp_path: Path):
    """Run the CLI as an ordinary user, in a subprocess (root reads every folder whatever its mode, and CI
    runs as root): as this test's own uid when that is not root, else as a throwaway uid via `setpriv`."""
    import subprocess
    import tempfile

    from tests.sandbox_hostile_support import find_unprivileged

    base = Path(tempfile.mkdtemp(prefix="loop-tui-damage-"))  # pytest's tmp_path is under a 0700 folder of root's
    os.chmod(base, 0o755)
    who, why = find_unprivileged(base)
    if who is None:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(why)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(base), "PYTHONPATH": str(who.package_root), "LANG": "C.UTF-8"}
    # The CLI needs this environment's packages (the sandbox suite's interpreter needs only the stdlib).
    python, errors = None, ""
    for candidate in dict.fromkeys([sys.executable, who.python]):
        probe = subprocess.run([*who.prefix, candidate, "-c", "import os, duckdb, pyarrow, loop_tui.cli.main; print(os.geteuid())"],
                               capture_output=True, text=True, env=env, cwd="/")
        if probe.returncode == 0:
            assert probe.stdout.strip() != "0", "the CLI would run as root"
            python = candidate
            break
        errors += probe.stderr[-200:]
    if python is None:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"no interpreter with the app's dependencies runs as an unprivileged uid here: {errors}")

    def place(root: Path) -> Path:
        """Copy the workspace into a folder the user can reach, owned by the user; returns the copy."""
        moved = base / root.name
        if not moved.exists():
            shutil.copytree(root, moved)
            for path in [moved, *moved.rglob("*")]:
                if os.geteuid() == 0:
                    os.chown(path, who.uid, who.uid)
        return moved

    def call(root: Path, *args: str) -> SimpleNamespace:
        done = subprocess.run([*who.prefix, python, "-m", "loop_tui", *args, "--workspace", str(place(root))],
                              capture_output=True, text=True, env=env, cwd=str(base), timeout=120)
        return SimpleNamespace(returncode=done.returncode, stdout=done.stdout, stderr=done.stderr)

    call.place = place  # type: ignore[attr-defined]
    yield call
    shutil.rmtree(base, ignore_errors=True)


def test_an_unreadable_object_folder_is_damage_not_zero_rows(two_projects: dict, cli_as_a_user) -> None:
    root = two_projects["root"]
    moved = cli_as_a_user.place(root)
    (moved / "tables" / "project_logs" / two_projects["a"]).chmod(0)
    listing = cli_as_a_user(root, "projects", "--format", "json")
    assert listing.returncode == 1 and "permission denied" in _one_sentence(listing)
    assert {p["name"]: p["logs"] for p in json.loads(listing.stdout)} == {"a": None, "b": 30}  # not "0 logs"
    export_a = cli_as_a_user(root, "export", "logs", "--project", "a", "--out", "-")
    assert export_a.returncode == 1 and "permission denied" in _one_sentence(export_a) and export_a.stdout == ""
    count_a = cli_as_a_user(root, "btql", "SELECT count(*) AS n FROM project_logs('a')", "--format", "json")
    assert count_a.returncode != 0 and "permission denied" in count_a.stdout + count_a.stderr  # never a count of 0
    count_b = cli_as_a_user(root, "btql", "SELECT count(*) AS n FROM project_logs('b')", "--format", "json")
    assert count_b.returncode == 0 and json.loads(count_b.stdout)["data"][0]["n"] == 30


def test_an_unreadable_transaction_log_or_workspace_folder_is_one_sentence(two_projects: dict, cli_as_a_user) -> None:
    root = two_projects["root"]
    moved = cli_as_a_user.place(root)
    (moved / "xacts.jsonl").chmod(0)
    listing = cli_as_a_user(root, "projects")
    assert listing.returncode == 1 and "xacts.jsonl" in _one_sentence(listing) and "permission denied" in listing.stderr
    (moved / "xacts.jsonl").chmod(0o644)
    moved.chmod(0)
    try:
        listing = cli_as_a_user(root, "projects")
        assert listing.returncode == 1 and "permission denied" in _one_sentence(listing), listing.stderr
        assert str(moved) in listing.stderr
    finally:
        moved.chmod(0o755)


@pytest.mark.parametrize("damage", [_truncate, _garbage, _inside, Path.unlink],
                         ids=["truncated", "garbage", "inside", "deleted"])
@pytest.mark.parametrize("query", [
    # the logs page's own first query (its filter and sort decided before any damaged row is read)
    "select: * | from: project_logs('a') | filter: is_root | sort: created desc | limit: 200",
    "select: id | from: project_logs('a') | filter: input > 3 | limit: 5",
])
def test_a_filtered_page_of_a_damaged_project_is_the_damage_not_zero_rows(two_projects: dict, damage, query: str,
                                                                          cli) -> None:
    # Seen: the logs page of a project with a truncated segment said "No logs match" (0 rows, exit 0), and
    # damage inside a file read "The query could not be run … a bug in Loop TUI's BTQL compiler" after a
    # dump of the SQL; a count of the same project named the file.
    root, seg = two_projects["root"], two_projects["a_segment"]
    damage(seg)
    result = cli(root, "btql", query)
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning: ")]  # the lint's
    assert not any(bad in result.stderr for bad in ("Traceback", "SQL:", "compiler")), result.stderr
    assert str(seg.relative_to(root)) in lines[0] and "doctor --repair" in lines[0]  # (then the query, marked)
    other = cli(root, "btql", query.replace("project_logs('a')", "project_logs('b')"), "--format", "json")
    assert other.returncode == 0, other.stderr
