"""What the app keeps between sessions, in small JSON files beside the settings file (so LOOP_TUI_CONFIG
isolates them in tests): the project last shown per workspace and the Loop panel's width (`ui_state.json`),
and the BTQL sandbox's query history (`btql_history.json`, see `btql_history`).

They are conveniences: a missing, damaged or unwritable file changes nothing but what the app remembers,
so reading falls back to nothing and writing is best effort.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("loop_tui.ui")
STATE_FILE = "ui_state.json"


def state_file(name: str) -> Path:
    """`name` next to settings.toml."""
    from loop_tui.config import config_path

    return config_path().parent / name


def read_json(name: str) -> Any:
    """The JSON in the state file `name`, or None if it is missing or damaged."""
    try:
        return json.loads(state_file(name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_json(name: str, value: Any) -> None:
    """Replace the state file `name` atomically (best effort: a read-only config folder is not an error)."""
    from loop_tui.store.segments import atomic_write_bytes  # the store (pyarrow) is not needed to start

    path = state_file(name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(value, indent=1).encode())
    except OSError as exc:
        log.debug("could not write %s: %s", path, exc)


def _load() -> dict[str, Any]:
    data = read_json(STATE_FILE)
    return data if isinstance(data, dict) else {}


def last_project(workspace_root: Path) -> str | None:
    """The id of the project the app last showed for this workspace, if it remembers one."""
    projects = _load().get("last_project")
    value = projects.get(str(workspace_root.resolve())) if isinstance(projects, dict) else None
    return value if isinstance(value, str) else None


def remember_project(workspace_root: Path, project_id: str) -> None:
    """Open `project_id` next time this workspace is opened."""
    state = _load()
    remembered = state.get("last_project")
    projects: dict[str, Any] = remembered if isinstance(remembered, dict) else {}
    key = str(workspace_root.resolve())
    if projects.get(key) == project_id:
        return
    state["last_project"] = {**projects, key: project_id}
    write_json(STATE_FILE, state)


LOOP_WIDTH_DEFAULT = 33
LOOP_WIDTH_RANGE = (20, 70)
"""The Loop panel's width in percent of the terminal: a third by default, resizable within this range."""


def clamp_loop_width(percent: int) -> int:
    """`percent` kept inside LOOP_WIDTH_RANGE."""
    low, high = LOOP_WIDTH_RANGE
    return max(low, min(high, percent))


def loop_panel_width() -> int:
    """The Loop panel width (percent) the user last chose, or the default."""
    value = _load().get("loop_panel_width")
    return clamp_loop_width(value) if isinstance(value, int) and not isinstance(value, bool) else LOOP_WIDTH_DEFAULT


def remember_loop_panel_width(percent: int) -> None:
    """Open the Loop panel at `percent` next time."""
    state = _load()
    if state.get("loop_panel_width") != percent:
        state["loop_panel_width"] = percent
        write_json(STATE_FILE, state)
