"""What the workspace remembers about syncing with Braintrust: one JSON file per project under `sync/`.

Per object (logs, an experiment, a dataset, a prompt, a scorer) it keeps the remote id, the newest remote
`_xact_id` fully pulled (`remote_xact`: the next pull asks only for newer ones), the local write id at the
last sync (`local_xact`: local rows written after it are local changes to push), an unfinished pull's
cursor (`pending`: a killed pull resumes there), the local writes our own pulls made since
(`own_xacts`: not local changes), and rows changed on both sides (`conflicts`).
Files are replaced atomically, so a kill leaves either the old or the new state.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from loop_tui.errors import UserError
from loop_tui.store.segments import WriterLock, atomic_write_bytes

SYNC_DIR = "sync"


def now_iso() -> str:
    """The current UTC time, to the second, as state files and listings show it."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class ObjectState:
    """Sync bookkeeping of one object (see module docstring)."""

    kind: str
    local_id: str
    remote_id: str
    name: str = ""
    remote_xact: str | None = None
    local_xact: int = 0
    pending: dict[str, Any] | None = None
    conflicts: dict[str, str] = field(default_factory=dict)
    own_xacts: list[int] = field(default_factory=list)  # local writes made by pulls since `local_xact`
    last_pull: str | None = None
    last_push: str | None = None


@dataclass
class ProjectState:
    """Sync bookkeeping of one project: its objects by `kind:local_id`."""

    project_id: str
    project_name: str
    objects: dict[str, ObjectState] = field(default_factory=dict)
    last_pull: str | None = None
    last_push: str | None = None

    def get(self, kind: str, local_id: str) -> ObjectState | None:
        """The state of one object, if it was ever synced."""
        return self.objects.get(f"{kind}:{local_id}")

    def ensure(self, kind: str, local_id: str, remote_id: str, name: str) -> ObjectState:
        """The state of one object, created on first sync."""
        key = f"{kind}:{local_id}"
        if key not in self.objects:
            self.objects[key] = ObjectState(kind, local_id, remote_id, name)
        self.objects[key].name = name
        return self.objects[key]

    def by_remote_id(self, kind: str, remote_id: str) -> ObjectState | None:
        """The state of the local object linked to a remote one."""
        return next((o for o in self.objects.values() if o.kind == kind and o.remote_id == remote_id), None)


def state_path(root: Path, project_id: str) -> Path:
    """Where a project's sync state lives inside the workspace."""
    return root / SYNC_DIR / f"{project_id}.json"


def load_state(root: Path, project_id: str, project_name: str) -> ProjectState:
    """A project's sync state (empty when it was never synced); a damaged file is a one-sentence error."""
    path = state_path(root, project_id)
    if not path.exists():
        return ProjectState(project_id, project_name)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        objects = {k: ObjectState(**v) for k, v in raw.pop("objects", {}).items()}
        return ProjectState(**raw, objects=objects)
    except (ValueError, TypeError) as exc:
        raise UserError(f"the sync state {path} is damaged ({type(exc).__name__}); delete it and pull with --all") from None


def save_state(root: Path, state: ProjectState) -> None:
    """Replace a project's sync state atomically."""
    path = state_path(root, state.project_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(state)
    atomic_write_bytes(path, json.dumps(data, indent=1, sort_keys=True).encode())


@contextlib.contextmanager
def sync_lock(root: Path) -> Iterator[None]:
    """One pull or push at a time per workspace (another one waiting would re-send the same rows)."""
    folder = root / SYNC_DIR
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with WriterLock(folder / ".lock").hold(timeout_s=2.0):
            yield
    except UserError as err:
        if "locked by another writer" in str(err):
            raise UserError("another `loop-tui sync` is running on this workspace; wait for it to finish") from None
        raise


def last_pull(root: Path, project_id: str) -> str | None:
    """When the project was last pulled into the workspace at `root` (None: never); one small file read."""
    try:
        raw = json.loads(state_path(root, project_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(raw.get("last_pull")) if isinstance(raw, dict) and raw.get("last_pull") else None


def last_synced(root: Path, project_id: str) -> str | None:
    """When the project was last pulled or pushed at `root` (None: never); one small file read."""
    try:
        raw = json.loads(state_path(root, project_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    times = [str(raw[k]) for k in ("last_pull", "last_push") if raw.get(k)]
    return max(times) if times else None  # same ISO format: text order is time order


def last_synced_by_project(workspace: str | Path | None) -> dict[str, str]:
    """Project id -> when it was last pulled into `workspace` (read without opening or creating it)."""
    from loop_tui.config import default_workspace_path

    root = Path(workspace).expanduser() if workspace else default_workspace_path()
    out: dict[str, str] = {}
    for path in sorted((root / SYNC_DIR).glob("*.json")) if (root / SYNC_DIR).is_dir() else []:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(raw, dict) and raw.get("last_pull"):
            out[str(raw.get("project_id"))] = str(raw["last_pull"])
    return out
