"""A modal that shows a long text in full, wrapped and scrollable: a row's whole error, which a grid cell cuts."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from loop_tui.safe_text import literal


class TextViewModal(ModalScreen[None]):
    """Read a text in full (esc, q or enter closes). The text is data: never read as markup."""

    DEFAULT_CSS = """
    TextViewModal .text-view-box { height: 80%; }
    TextViewModal .text-view-scroll { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,enter", "close", "Close", id="text_view.close"),
    ]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box text-view-box"):
            yield Label(literal(self.title_text), classes="modal-title")
            with VerticalScroll(classes="text-view-scroll"):
                yield Static(literal(self.text), classes="text-view-body")
            yield Label("esc closes · ↑↓ scroll", classes="dim")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        """Close the view."""
        self.dismiss(None)
