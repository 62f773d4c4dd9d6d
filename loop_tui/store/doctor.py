"""`loop-tui doctor`: read every file of a workspace, say what is damaged, and with `repair` fix what can be.

Repair never deletes data: a damaged segment is moved into `quarantine/` and one log line takes it out
of its object (so the object reads again, without that write's rows); a missing or damaged transaction
log is rebuilt from the segments on disk (history lines that still parse are kept as history); catalog
entries lost with a damaged catalog segment are recreated for every object that still has rows, named
from the transaction log where it remembers the name.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui import clock
from loop_tui.store import txlog
from loop_tui.store.compaction import QUARANTINE, quarantine, remove_unlisted
from loop_tui.store.failures import DamagedError
from loop_tui.store.health import Damage, check_file
from loop_tui.store.segments import (
    atomic_write_bytes,
    disk_segments,
    fsync_dir,
    leftover_temp_files,
    next_xact_id,
    reader_lock,
    segment_dir,
)

if TYPE_CHECKING:
    from loop_tui.store.workspace import Workspace


@dataclass
class DoctorReport:
    """What `examine` or `repair` found and did, as sentences."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)  # still wrong
    repaired: list[str] = field(default_factory=list)  # fixed by this run
    notes: list[str] = field(default_factory=list)  # harmless leftovers


def _log_problem(root: Path) -> str:
    if not txlog.log_path(root).exists():
        return "" if not any(disk_segments(root).values()) else f"the transaction log {txlog.LOG_NAME} is missing"
    line = txlog.damaged_line(root)
    return f"the transaction log {txlog.LOG_NAME} is damaged at line {line}" if line else ""


def _damaged_segments(root: Path, snap: txlog.Snapshot, report: DoctorReport) -> list[Damage]:
    found = []
    for table, objects in snap.live.items():
        for obj, names in objects.items():
            for name in names:
                report.checked += 1
                path = segment_dir(root, table, obj) / name
                reason = check_file(path, deep=True)
                if reason:
                    found.append(Damage(table, obj, path, reason))
    return found


def examine(root: Path) -> DoctorReport:
    """Check every file; change nothing."""
    report = DoctorReport()
    problem = _log_problem(root)
    if problem:
        report.problems.append(f"{problem}; every object depends on it")
        return report
    snap = txlog.snapshot(root)
    for damage in _damaged_segments(root, snap, report):
        report.problems.append(f"{damage.what}: {damage.path.relative_to(root)} {damage.reason}")
    temps = leftover_temp_files(root)
    if temps:
        report.notes.append(f"{len(temps)} temp file(s) left by killed writers")
    unlisted = sum(1 for (t, o), names in disk_segments(root).items() for n in names if n not in snap.files(t).get(o, ()))
    if unlisted:
        report.notes.append(f"{unlisted} segment file(s) no longer or never committed (replaced by a compaction, or "
                            "left by a killed write)")
    if not report.problems:
        from loop_tui.store.workspace import Workspace

        report.problems.extend(_catalog_gaps(Workspace(root)))
    return report


def repair(root: Path) -> DoctorReport:
    """Quarantine damaged segments, rebuild the log or catalog where needed, sweep leftovers."""
    from loop_tui.store.workspace import Workspace

    report = DoctorReport()
    ws = Workspace(root)
    with ws._write_lock():
        problem = _log_problem(root)
        if problem:
            count = _rebuild_log(root)
            report.repaired.append(f"{problem}: rebuilt it from {count} segment file(s) on disk")
        snap = txlog.snapshot(root)
        by_object: dict[tuple[str, str], list[Damage]] = {}
        for damage in _damaged_segments(root, snap, report):
            by_object.setdefault((damage.table, damage.object_id), []).append(damage)
        for (table, obj), damages in by_object.items():
            moved = []
            for damage in damages:
                if damage.path.exists():
                    target = quarantine(root, damage.path, table, obj)
                    moved.append(f"moved {damage.path.relative_to(root)} to {target.relative_to(root)}")
                else:
                    moved.append(f"dropped the missing {damage.path.relative_to(root)}")
            txlog.append_entry(root, {
                "xact": next_xact_id(root), "time": clock.timestamp(), "op": "quarantine", "table": table, "object_id": obj,
                "description": f"doctor: damaged segments of {damages[0].what} set aside",
                "replaces": [d.path.name for d in damages],
            })
            report.repaired.append(f"{damages[0].what} ({damages[0].reason}): {'; '.join(moved)}; its other rows "
                                   "read again, the rows of those writes are gone")
        temps = leftover_temp_files(root)
        for path in temps:
            path.unlink(missing_ok=True)
        if temps:
            report.repaired.append(f"removed {len(temps)} temp file(s) left by killed writers")
        swept = remove_unlisted(root, txlog.snapshot(root), reader_lock(root), release_own=True)
        if swept["uncommitted"]:
            report.repaired.append(f"moved {swept['uncommitted']} never-committed segment(s) into {QUARANTINE}/")
        if swept["replaced"]:
            report.repaired.append(f"deleted {swept['replaced']} segment(s) a compaction had replaced")
        report.repaired.extend(_recreate_catalog(ws))
        report.problems.extend(_catalog_gaps(ws))
    return report


# ----- the transaction log -------------------------------------------------------------------------------
def _history_only(entry: dict[str, Any]) -> dict[str, Any]:
    """A log line kept for history that no longer says which files are live."""
    def strip(part: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in part.items() if k not in ("segment", "replaces", "segments")}
        if "segment" in part:
            out["was_segment"] = part["segment"]
        return out

    out = strip(entry)
    if "parts" in entry:
        out["parts"] = [strip(p) for p in entry["parts"]]
    return out


def _xacts_of(path: Path) -> frozenset[int]:
    import pyarrow.parquet as pq

    return frozenset(pq.read_table(path, columns=["_xact_id"]).column(0).unique().to_pylist())


def _rebuild_log(root: Path) -> int:
    """Write a new log: old lines as history only, then one line adopting every readable segment on disk.

    Of segments whose transactions another segment of the same object also holds (what a compaction
    replaced), only the one holding the most is adopted, so no row is listed twice.
    """
    adopted: list[list[str]] = []
    for (table, obj), names in sorted(disk_segments(root).items()):
        readable = []
        for name in names:
            path = segment_dir(root, table, obj) / name
            if not check_file(path, deep=True):
                readable.append((name, _xacts_of(path)))
        kept: list[tuple[str, frozenset[int]]] = []
        for name, xacts in sorted(readable, key=lambda item: (-len(item[1]), item[0])):
            if not any(xacts <= other for _, other in kept):
                kept.append((name, xacts))
        adopted.extend([table, obj, name] for name, _ in sorted(kept))
    lines = [json.dumps(_history_only(e), separators=(",", ":"), ensure_ascii=False) for e in txlog.read_entries(root)]
    lines.append(json.dumps({"xact": next_xact_id(root), "time": clock.timestamp(), "op": "rebuild",
                             "description": "doctor: log rebuilt from the segments", "segments": adopted},
                            separators=(",", ":")))
    path = txlog.log_path(root)
    if path.exists():
        os.replace(path, path.with_name(f"{txlog.LOG_NAME}.damaged-{int(time.time())}"))
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())
    fsync_dir(root)
    txlog.forget(root)
    return len(adopted)


# ----- the catalog ----------------------------------------------------------------------------------------
def _owners(ws: Workspace) -> dict[tuple[str, str], str]:
    """(kind, object id) -> project id, for every object that has rows."""
    owners = {("project", r["id"]): r["id"] for r in ws.query("SELECT DISTINCT project_id AS id FROM project_logs")}
    for kind, col in (("experiment", "experiment_id"), ("dataset", "dataset_id")):
        for r in ws.query(f"SELECT DISTINCT {col} AS id, project_id FROM {kind}"):
            owners[(kind, r["id"])] = r["project_id"]
            owners[("project", r["project_id"])] = r["project_id"]
    return owners


def _catalog_gaps(ws: Workspace) -> list[str]:
    try:
        owners = _owners(ws)
        known = {(r["kind"], r["id"]) for r in ws.query("SELECT kind, id FROM catalog")}
    except DamagedError as exc:
        return [str(exc)]
    return [f"{kind} {obj} has rows but no catalog entry" for (kind, obj) in sorted(owners) if (kind, obj) not in known]


def _remembered_names(root: Path) -> dict[str, str]:
    """object id -> the name its last catalog save recorded in the log ("<kind> <name>" descriptions)."""
    names: dict[str, str] = {}
    for entry in txlog.read_entries(root):
        for part in entry.get("parts") or [entry]:
            if part.get("table") == "catalog" and entry.get("op") == "save" and part.get("ids"):
                kind, _, name = str(entry.get("description", "")).partition(" ")
                if name and kind == part.get("object_id"):
                    names[str(part["ids"][0])] = name
    return names


def _recreate_catalog(ws: Workspace) -> list[str]:
    """Catalog entries for objects that have rows but none (lost with a quarantined catalog segment)."""
    try:
        owners = _owners(ws)
        known = {(r["kind"], r["id"]): r["name"] for r in ws.query("SELECT kind, id, name FROM catalog")}
    except DamagedError:
        return []
    remembered = _remembered_names(ws.root)
    done = []
    for kind in ("project", "experiment", "dataset"):  # projects first: the others belong to one
        for (k, obj), project_id in sorted(owners.items()):
            if k != kind or (kind, obj) in known:
                continue
            name = remembered.get(obj) or f"recovered-{obj[:8]}"
            taken = {n for (kk, _), n in known.items() if kk == kind}
            if name in taken:
                name = f"{name} (recovered {obj[:8]})"
            ws.save_object(kind, "" if kind == "project" else project_id, name,
                           {"description": "recreated by loop-tui doctor"}, id=obj)
            known[(kind, obj)] = name
            done.append(f"recreated the catalog entry of {kind} {name!r} ({obj})")
    return done
