"""`HelpScreen`: every key of the current page and the app, with the user's remapping applied."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Label

from loop_tui.safe_text import literal
from loop_tui.ui.keys import help_rows, keymap_of


class HelpScreen(ModalScreen[None]):
    """The keys of the page it was opened on (esc closes)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss_help", "Close", id="help.close"),
    ]

    def __init__(self, page: Screen) -> None:
        super().__init__()
        self.page = page

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="help-box"):
            yield Label("Keys (remap any of them in Settings → Key bindings)", classes="modal-title")
            yield DataTable(id="help-keys", cursor_type="row", zebra_stripes=True)
            yield Label("ctrl+p opens the command palette: every action as “area: action”.", classes="dim")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("key", "action", "id")
        keymap = keymap_of(self.app)
        for keys, action, binding_id in help_rows([type(self.page), type(self.app)], keymap):
            # literal: a str cell is read as markup, and "[" or "]" are keys one can bind
            table.add_row(literal(keys), literal(action), literal(binding_id))
        table.focus()

    def action_dismiss_help(self) -> None:
        """Close the help."""
        self.dismiss(None)
