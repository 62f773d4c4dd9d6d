"""The BTQL sandbox's query history: the last queries run, newest first (`btql_history.json` beside the
settings file, see `ui_state`)."""

from __future__ import annotations

from loop_tui.ui.ui_state import read_json, write_json

MAX_ENTRIES = 200
HISTORY_FILE = "btql_history.json"


def load_history() -> list[str]:
    """Saved queries, newest first (a missing or damaged file is an empty history)."""
    data = read_json(HISTORY_FILE)
    return [q for q in data if isinstance(q, str)] if isinstance(data, list) else []


def remember(query: str) -> list[str]:
    """Put `query` first (deduplicated) and save atomically; returns the new history."""
    entries = [query, *[q for q in load_history() if q != query]][:MAX_ENTRIES]
    write_json(HISTORY_FILE, entries)  # history is a convenience: a read-only config dir must not break queries
    return entries
