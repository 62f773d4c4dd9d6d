"""`ChatPanel`: the side panel where Loop, the assistant, lives on every page.

This version is the container only: it says honestly that the chat arrives in the next version and
shows what it will know about the page. The next issue fills `#chat-transcript` and `#chat-input`.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static


class ChatPanel(Vertical):
    """The Loop side panel: a transcript area and an input slot, toggled with a key on every page."""

    page: reactive[str] = reactive("", init=False)
    """The page this panel sits on (Loop's page context)."""
    project_name: reactive[str] = reactive("", init=False)
    """The project shown on the page."""

    def __init__(self, page: str, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.set_reactive(ChatPanel.page, page)
        self.border_title = "Loop"

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="chat-transcript"):
            yield Static(
                "Loop, the assistant, is not in this version yet.\n\n"
                "It will answer questions about this page's data, write BTQL, "
                "and propose edits to prompts, datasets and scorers that you accept or reject.",
                id="chat-placeholder",
            )
            yield Static(id="chat-context")
        yield Static("ctrl+l hides this panel", id="chat-input")

    def on_mount(self) -> None:
        self._show_context()

    def watch_page(self) -> None:
        self._show_context()

    def watch_project_name(self) -> None:
        self._show_context()

    def _show_context(self) -> None:
        lines = [f"page: {self.page}"]
        if self.project_name:
            lines.append(f"project: {self.project_name}")
        self.query_one("#chat-context", Static).update("Context Loop will see\n" + "\n".join(lines))
