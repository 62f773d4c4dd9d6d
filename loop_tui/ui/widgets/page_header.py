"""`PageHeader`: the top line with the app name, page tabs (with their keys) and the project."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from loop_tui.safe_text import literal


class PageHeader(Horizontal):
    """Tabs for the six pages; the current one highlighted, the project name on the right."""

    def __init__(self, page: str) -> None:
        super().__init__(id="page-header")
        self.page = page

    def compose(self) -> ComposeResult:
        from loop_tui.ui.app import PAGES

        yield Label("Loop TUI", id="app-name")
        for name, (title, key) in PAGES.items():
            label = Label(f"{key} {title}", classes="page-tab", id=f"tab-{name}")
            label.set_class(name == self.page, "-active")
            yield label
        yield Label("", id="project-name")

    def show_project(self, name: str | None, pulled: str | None = None, syncing: str | None = None) -> None:
        """Show which project the page is on, when it was last pulled from Braintrust, or a sync's progress."""
        synced = f"  pulled {pulled.replace('T', ' ').removesuffix('Z')} UTC" if pulled else ""
        synced = f"  {syncing}" if syncing else synced
        # A project may be named `[/` or hold escape sequences: shown as written, never as markup.
        text = f"project: {name}{synced}  (ctrl+o)" if name else "no project (ctrl+o)"
        self.query_one("#project-name", Label).update(literal(text))
