"""The BTQL sandbox's query history: the last queries run, newest first, kept beside the settings file."""

from __future__ import annotations

import json
import os
from pathlib import Path

MAX_ENTRIES = 200


def history_path() -> Path:
    """`btql_history.json` next to settings.toml (so LOOP_TUI_CONFIG isolates it in tests)."""
    from loop_tui.config import config_path

    return config_path().parent / "btql_history.json"


def load_history() -> list[str]:
    """Saved queries, newest first (a missing or damaged file is an empty history)."""
    try:
        data = json.loads(history_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [q for q in data if isinstance(q, str)] if isinstance(data, list) else []


def remember(query: str) -> list[str]:
    """Put `query` first (deduplicated) and save atomically; returns the new history."""
    entries = [query, *[q for q in load_history() if q != query]][:MAX_ENTRIES]
    path = history_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(entries, indent=1), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # history is a convenience; a read-only config dir must not break running queries
    return entries
