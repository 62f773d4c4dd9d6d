"""Folders in the layout of Braintrust's `bt sync` (its `bt` CLI): read them as they are, write ones it accepts.

A `bt sync pull` writes one folder per pull: `spec.json` (what was pulled: `object_type`, `object_name`,
`scope`, `limit`, …), `state.json` (progress: `status`, `cursor`, `items_done`, …), `manifest.json` (the
spec, its hash and the run's status) and `data/part-000001.jsonl`, … with one API row per line (newest
versions first; a row may repeat with older `_xact_id`s). `bt sync push … --in DIR` reads the part files.
Reading keeps the newest version of each row and Braintrust's `_xact_id` (as `_bt_xact_id`), so a pull
made with `bt` and one made with `loop-tui sync pull` hold the same rows.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.remote.local_rows import REMOTE_XACT, xact_int

SCHEMA_VERSION = 1
PART_MAX_ROWS = 100_000
TABLE_BY_TYPE = {"project_logs": "project_logs", "experiment": "experiment", "dataset": "dataset"}


def is_bt_sync_folder(path: Path) -> bool:
    """Whether `path` looks like a `bt sync` folder (a spec and a data folder)."""
    return path.is_dir() and (path / "spec.json").is_file() and (path / "data").is_dir()


def read_spec(folder: Path) -> dict[str, Any]:
    """The folder's `spec.json`; one-sentence errors for a missing or damaged one."""
    try:
        spec = json.loads((folder / "spec.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{folder} is not a bt sync folder (no spec.json)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{folder / 'spec.json'} is not valid JSON ({exc})") from None
    if not isinstance(spec, dict) or spec.get("object_type") not in TABLE_BY_TYPE:
        raise UserError(f"{folder / 'spec.json'} names no object_type this version reads (project_logs, experiment, dataset)")
    return spec


def read_status(folder: Path) -> str:
    """The pull's status from `state.json` (`completed`, `running`, `interrupted`; `unknown` if absent)."""
    try:
        return str(json.loads((folder / "state.json").read_text(encoding="utf-8")).get("status") or "unknown")
    except (OSError, ValueError, AttributeError):
        return "unknown"


def read_rows(folder: Path) -> list[dict[str, Any]]:
    """The newest version of every row in the part files (with `_bt_xact_id`), in file order; a bad line is an
    error naming its file and line."""
    parts = sorted((folder / "data").glob("part-*.jsonl")) + sorted((folder / "data").glob("part-*.ndjson"))
    if not parts:
        raise UserError(f"{folder / 'data'} has no part-*.jsonl files")
    newest: dict[str, dict[str, Any]] = {}
    for part in parts:
        with open(part, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UserError(f"{part.name} line {n}: not valid JSON ({exc.msg} at column {exc.colno})") from None
                if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                    raise UserError(f"{part.name} line {n}: each line must be a JSON object with an `id`")
                seen = newest.get(row["id"])
                if seen is None or xact_int(row.get("_xact_id")) > xact_int(seen.get("_xact_id")):
                    newest[row["id"]] = row
    out = []
    for n, row in enumerate(newest.values(), 1):
        if row.get("_object_delete"):
            continue
        row = {**row, "__line__": n}
        if row.get("_xact_id"):
            row[REMOTE_XACT] = str(row["_xact_id"])
        out.append(row)
    return out


def write_folder(out: Path, object_type: str, object_name: str, rows: list[dict[str, Any]]) -> Path:
    """Write a completed `bt sync` pull folder holding `rows` (API row format); returns the folder."""
    if object_type not in TABLE_BY_TYPE:
        raise UserError(f"unknown object type {object_type!r}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} exists and is not an empty folder; choose a new --out folder")
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    spec = {"schema_version": SCHEMA_VERSION, "object_ref": f"{object_type}:{object_name}", "object_type": object_type,
            "object_name": object_name, "direction": "pull", "scope": "spans", "filter": None, "window": None,
            "limit": len(rows), "page_size": 1000}
    written = 0
    part_count = max(1, -(-len(rows) // PART_MAX_ROWS))
    for index in range(part_count):
        chunk = rows[index * PART_MAX_ROWS: (index + 1) * PART_MAX_ROWS]
        text = "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in chunk).encode()
        _atomic(data / f"part-{index + 1:06d}.jsonl", text)
        written += len(text)
    run_id = str(uuid.uuid4())
    state = {"schema_version": SCHEMA_VERSION, "run_id": run_id, "status": "completed", "phase": "completed",
             "scope": "spans", "limit": len(rows), "filter": None, "page_size": 1000, "include_vectors": False,
             "cursor": None, "root_discovery_cursor": None, "root_ids": [], "current_root_index": 0,
             "current_root_cursor": None, "trace_chunks": [], "items_done": len(rows), "pages_done": part_count,
             "bytes_written": written, "output_path": str(data), "started_at": now, "updated_at": now,
             "completed_at": now}
    spec_text = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    manifest = {"schema_version": SCHEMA_VERSION, "spec_hash": hashlib.sha256(spec_text).hexdigest(), "spec": spec,
                "last_run_id": run_id, "status": "completed", "items_done": len(rows), "pages_done": part_count,
                "bytes_processed": written, "output_path": str(data), "input_path": None, "started_at": now,
                "updated_at": now, "completed_at": now, "message": None}
    for name, value in (("spec.json", spec), ("state.json", state), ("manifest.json", manifest)):
        _atomic(out / name, json.dumps(value, indent=2).encode())
    return out


def export_row(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as `bt` writes it: Braintrust's `_xact_id` where the row came from Braintrust."""
    out = {k: v for k, v in row.items() if k not in (REMOTE_XACT, "_xact_id")}
    if row.get(REMOTE_XACT):
        out["_xact_id"] = row[REMOTE_XACT]
    return out


def _atomic(path: Path, data: bytes) -> None:
    from loop_tui.store.segments import atomic_write_bytes

    atomic_write_bytes(path, data)
