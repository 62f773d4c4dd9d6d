"""`DatasetRowEditor`: view and edit one dataset row's input, expected and metadata as JSON.

Each field is validated as you type (the title says what is wrong and where). ctrl+s saves (a new
version of the row, undoable from the history); ctrl+e opens the focused field in `$EDITOR` with the
app suspended, for big edits.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, TextArea

from loop_tui.safe_text import json_controls_escaped, literal, visible

FIELDS = ("input", "expected", "metadata")


def parse_field(name: str, text: str) -> tuple[Any, str | None]:
    """(value, error sentence) for one field's JSON text; metadata must be an object."""
    if not text.strip():
        return None, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
    if name == "metadata" and not isinstance(value, dict):
        return None, "metadata must be a JSON object, e.g. {\"source\": \"logs\"}"
    return value, None


class DatasetRowEditor(ModalScreen["dict[str, Any] | None"]):
    """Edit a row; returns the new fields (input, expected, metadata, tags) or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id="row_editor.save"),
        Binding("ctrl+e", "external_editor", "$EDITOR", id="row_editor.editor"),
        Binding("escape", "cancel", "Cancel", id="row_editor.cancel"),
    ]

    def __init__(self, row: dict[str, Any] | None, title: str) -> None:
        super().__init__()
        self.row = row or {}
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="row-editor"):
            yield Label(literal(self.title_text), classes="modal-title")
            for name in FIELDS:
                value = self.row.get(name)
                # Every value is shown as JSON (a string too, with its quotes) so what you see parses back;
                # the controls JSON leaves raw are escaped too (same value, nothing sent to the terminal).
                area = TextArea(
                    "" if value is None else json_controls_escaped(json.dumps(value, indent=2, ensure_ascii=False)),
                    id=f"row-{name}",
                    classes="json-field",
                    show_line_numbers=False,
                    soft_wrap=True,
                    tab_behavior="focus",  # tab moves between fields; escape cancels the editor
                )
                area.border_title = name
                yield area
            tags = self.row.get("tags") or []
            yield Input(visible(", ".join(tags)), placeholder="tags, comma separated", id="row-tags")
            yield Label("", id="row-error", classes="error-line")
            yield Label("ctrl+s save · ctrl+e edit field in $EDITOR · esc cancel", classes="dim")

    def on_mount(self) -> None:
        self.query_one("#row-input", TextArea).focus()
        self._validate()

    @on(TextArea.Changed)
    def _validate(self) -> bool:
        errors = []
        for name in FIELDS:
            area = self.query_one(f"#row-{name}", TextArea)
            _, error = parse_field(name, area.text)
            area.set_class(error is not None, "-invalid")
            if error:
                errors.append(error)
        self.query_one("#row-error", Label).update(errors[0] if errors else "")
        return not errors

    def action_save(self) -> None:
        """Return the edited fields (only when every field is valid)."""
        if not self._validate():
            self.notify("fix the invalid field first", severity="error")
            return
        fields: dict[str, Any] = {name: parse_field(name, self.query_one(f"#row-{name}", TextArea).text)[0] for name in FIELDS}
        fields["metadata"] = fields["metadata"] or {}
        tags = self.query_one("#row-tags", Input).value
        fields["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
        self.dismiss(fields)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)

    def action_external_editor(self) -> None:
        """Edit the focused field in $EDITOR (the app is suspended meanwhile)."""
        area = self.focused if isinstance(self.focused, TextArea) else self.query_one("#row-input", TextArea)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.NamedTemporaryFile("w+", suffix=".json", delete=False, encoding="utf-8") as fh:
            fh.write(area.text)
            path = fh.name
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), path], check=False)
            with open(path, encoding="utf-8") as fh:
                area.load_text(fh.read())
        except Exception as exc:  # noqa: BLE001 - e.g. suspend unsupported, editor missing
            self.notify(f"could not run {editor}: {exc}", severity="error")
        finally:
            os.unlink(path)
