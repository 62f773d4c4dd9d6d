"""`StartingScreen`: the first frame, drawn before the workspace (and pyarrow, DuckDB, Loop) is loaded.

It looks like the page the app opens on: the same header with its tabs and the same footer, with one
line saying what is being opened where the page's data will be. It imports nothing but Textual and the
two light chrome widgets, so it is on screen in about the time of a minimal Textual app; keys typed
while it shows are kept by the app and replayed on the page once it is there.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label

from loop_tui.safe_text import visible
from loop_tui.ui.widgets.footer import FooterScreen, PageFooter
from loop_tui.ui.widgets.page_header import PageHeader

LOADING_TEXT = "Opening the workspace…"


class StartingScreen(FooterScreen):
    """The page's header and footer around a "loading" line, while the app opens the workspace."""

    def __init__(self, page: str, where: str) -> None:
        super().__init__(id="starting")
        self.page = page
        self.where = where

    def compose(self) -> ComposeResult:
        yield PageHeader(self.page)
        with Vertical(id="page-body"):
            yield Label(LOADING_TEXT, id="starting-message")
            # A workspace path is data (a folder name may hold anything): never markup or control codes.
            yield Label(visible(self.where), id="starting-where", markup=False)
        yield PageFooter()

    def on_mount(self) -> None:
        self.query_one(PageHeader).show_project("loading…")
