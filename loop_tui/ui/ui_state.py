"""What the app remembers between sessions: the project last shown, per workspace.

Kept beside the settings file (`ui_state.json`, like the BTQL history) rather than in the workspace, which
may be shared or read-only. It is a convenience: a missing, damaged or unwritable file changes nothing
but where the app opens.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from loop_tui.store.segments import atomic_write_bytes

log = logging.getLogger("loop_tui.ui")


def state_path() -> Path:
    """`ui_state.json` next to settings.toml (so LOOP_TUI_CONFIG isolates it in tests)."""
    from loop_tui.config import config_path

    return config_path().parent / "ui_state.json"


def _load() -> dict[str, Any]:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def last_project(workspace_root: Path) -> str | None:
    """The id of the project the app last showed for this workspace, if it remembers one."""
    projects = _load().get("last_project")
    value = projects.get(str(workspace_root.resolve())) if isinstance(projects, dict) else None
    return value if isinstance(value, str) else None


def remember_project(workspace_root: Path, project_id: str) -> None:
    """Open `project_id` next time this workspace is opened (best effort)."""
    state = _load()
    projects = state.get("last_project") if isinstance(state.get("last_project"), dict) else {}
    key = str(workspace_root.resolve())
    if projects.get(key) == project_id:
        return
    state["last_project"] = {**projects, key: project_id}
    path = state_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(state, indent=1).encode())
    except OSError as exc:  # a read-only config folder: the app works, it just won't remember
        log.debug("could not remember the last project: %s", exc)
