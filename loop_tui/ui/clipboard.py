"""Copying text out of the app: to the terminal's clipboard, and to a file for terminals that ignore it.

The terminal's clipboard is set with OSC 52 (Textual's `App.copy_to_clipboard`), which works over SSH and
inside tmux (with `set -g set-clipboard on`). Some terminals ignore OSC 52 (macOS Terminal; tmux without
that option) and the app cannot tell, so every copy is also written to `clipboard.txt` beside the settings
(readable by its owner only), and the notice names that file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loop_tui.ui.ui_state import state_file

if TYPE_CHECKING:
    from textual.app import App

CLIPBOARD_FILE = "clipboard.txt"


def save_copy(text: str) -> Path | None:
    """Write `text` to the fallback file (owner-only); None if it could not be written."""
    path = state_file(CLIPBOARD_FILE)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError:
        return None
    return path


def copy_out(app: App, text: str, what: str) -> None:
    """Put `text` on the clipboard and in the fallback file, and say what was copied."""
    app.copy_to_clipboard(text)
    path = save_copy(text)
    size = f"{len(text):,} character{'s' if len(text) != 1 else ''}"
    where = f" · also in {path}" if path else ""
    app.notify(f"copied {what} ({size}){where}", title="copied", markup=False)


def row_json(row: dict[str, Any]) -> str:
    """A stored row as pretty JSON, with the fields the store keeps as JSON text (input, output, metadata…)
    shown as the objects they are."""
    from loop_tui.store.schema import DATASET_JSON_FIELDS, SPAN_JSON_FIELDS
    from loop_tui.ui.formatting import parse_json_text

    json_fields = set(SPAN_JSON_FIELDS) | set(DATASET_JSON_FIELDS)
    shown = {k: parse_json_text(v) if k in json_fields and isinstance(v, str) else v for k, v in row.items()}
    return json.dumps(shown, indent=2, ensure_ascii=False, default=str)


def field_choices(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, text to copy) per field of a stored row: strings as they are, anything else as JSON."""
    from loop_tui.store.schema import DATASET_JSON_FIELDS, SPAN_JSON_FIELDS
    from loop_tui.ui.formatting import parse_json_text, preview

    json_fields = set(SPAN_JSON_FIELDS) | set(DATASET_JSON_FIELDS)
    choices = []
    for name, value in row.items():
        if value is None:
            continue
        shown = parse_json_text(value) if name in json_fields and isinstance(value, str) else value
        text = shown if isinstance(shown, str) else json.dumps(shown, indent=2, ensure_ascii=False, default=str)
        choices.append((f"{name}: {preview(shown, 60)}", text))
    return choices
