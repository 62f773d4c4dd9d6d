"""`HistoryModal`: the writes to one object, newest first; enter undoes the chosen write."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from loop_tui.safe_text import literal
from loop_tui.ui.formatting import fmt_time


class HistoryModal(ModalScreen["int | None"]):
    """Pick a write to undo (returns its xact id)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Close", id="history.close")]

    def __init__(self, entries: list[Any], title: str) -> None:
        super().__init__()
        self.entries = entries
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box", id="history-box"):
            yield Label(literal(self.title_text), classes="modal-title")
            yield DataTable(id="history-table", cursor_type="row")
            yield Label("enter undoes the selected write (as a new write) · esc closes", classes="dim")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("when", "what", "rows", "description", "write")
        for e in self.entries:
            # str cells would be parsed as markup; descriptions quote names from data
            cells = (fmt_time(e.time), e.op, str(e.count), e.description, str(e.xact_id))
            table.add_row(*(literal(c) for c in cells), key=str(e.xact_id))
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Undo this write."""
        self.dismiss(int(str(event.row_key.value)))

    def action_cancel(self) -> None:
        """Close."""
        self.dismiss(None)
