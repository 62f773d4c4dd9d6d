"""A modal that shows a long text in full, wrapped and scrollable: a row's whole error, which a grid cell cuts."""

from __future__ import annotations

import re
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

# C0 controls but newline and tab, DEL, and C1 controls: text from data must never drive the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def visible_text(text: str) -> str:
    """`text` with control characters shown as symbols (ESC as ␛) instead of being sent to the terminal."""

    def symbol(match: re.Match[str]) -> str:
        code = ord(match.group())
        return chr(0x2400 + code) if code < 0x20 else "␡" if code == 0x7F else f"\\x{code:02x}"

    return _CONTROL.sub(symbol, text)


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
            yield Label(visible_text(self.title_text), classes="modal-title", markup=False)
            with VerticalScroll(classes="text-view-scroll"):
                yield Static(visible_text(self.text), classes="text-view-body", markup=False)
            yield Label("esc closes · ↑↓ scroll", classes="dim")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        """Close the view."""
        self.dismiss(None)
