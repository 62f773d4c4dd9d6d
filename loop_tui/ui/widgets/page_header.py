"""`PageHeader`: the top line with the app name, page tabs (with their keys) and the project.

It fits its width: full tab titles when there is room, short ones (and no app name) when there is not,
so every tab, and the active one above all, stays visible at 80 columns. Tabs switch pages on click.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from loop_tui.safe_text import literal

# Short tab titles for narrow terminals.
SHORT_TITLES = {"playground": "Play", "experiments": "Exps", "datasets": "Data", "settings": "Set"}
TAB_PADDING = 2  # cells of padding around each label (styles/app.tcss: padding 0 1)


class PageTab(Label):
    """One page's tab: its key and title; a click opens the page."""

    def __init__(self, page: str, key: str, title: str) -> None:
        super().__init__(f"{key} {title}", classes="page-tab", id=f"tab-{page}", markup=False)
        self.page = page
        self.tab_key = key
        self.page_title = title

    def show_title(self, short: bool) -> None:
        """Use the short or the full title."""
        self.update(f"{self.tab_key} {SHORT_TITLES.get(self.page, self.page_title) if short else self.page_title}")

    async def on_click(self, event: events.Click) -> None:
        """Open this tab's page."""
        event.stop()
        await self.app.run_action(f"switch_page('{self.page}')")


class PageHeader(Horizontal):
    """Tabs for the six pages; the current one highlighted, the project name on the right."""

    def __init__(self, page: str) -> None:
        super().__init__(id="page-header")
        self.page = page
        self._project: str | None = None
        self._sync_note = ""  # when the project was last pulled or pushed, or a sync's progress

    def compose(self) -> ComposeResult:
        from loop_tui.ui.app import PAGES

        yield Label("Loop TUI", id="app-name")
        for name, (title, key) in PAGES.items():
            tab = PageTab(name, key, title)
            tab.set_class(name == self.page, "-active")
            yield tab
        yield Label("", id="project-name", markup=False)

    def show_project(self, name: str | None, synced_at: str | None = None, syncing: str | None = None) -> None:
        """Show which project the page is on, when it was last synced with Braintrust, or a sync's progress."""
        synced = f"  synced {synced_at.replace('T', ' ').removesuffix('Z')} UTC" if synced_at else ""
        self._project = name
        self._sync_note = f"  {syncing}" if syncing else synced
        self._fit(self.size.width or self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Pick the widest layout that fits `width`: full or short titles, app name, project label."""
        tabs = list(self.query(PageTab))
        name = self._project
        noted = f"project: {name}{self._sync_note}  (ctrl+o)"
        # With a sync note (synced when, or a sync's progress), it is worth shorter tabs before it is dropped.
        with_note = [(False, True, noted), (False, False, noted), (True, False, noted)] if name and self._sync_note else []
        for short, with_name, project in (
            *with_note,
            (False, True, f"project: {name}  (ctrl+o)" if name else "no project (ctrl+o)"),
            (False, False, f"{name} ^o" if name else "^o project"),
            (True, True, f"{name} ^o" if name else "^o project"),
            (True, False, f"{name} ^o" if name else "^o project"),
        ):
            titles = sum(len(f"{t.tab_key} {SHORT_TITLES.get(t.page, t.page_title) if short else t.page_title}") for t in tabs)
            used = titles + TAB_PADDING * len(tabs) + (len("Loop TUI") + TAB_PADDING if with_name else 0)
            if used + len(project) + TAB_PADDING <= width or (short and not with_name):
                break
        room = max(0, width - used - TAB_PADDING)
        if len(project) > room:  # a long project name gives way to the tabs
            project = project[: max(0, room - 1)] + "…" if room > 1 else ""
        for tab in tabs:
            tab.show_title(short)
        self.query_one("#app-name", Label).display = with_name
        # A project may be named `[/` or hold escape sequences: shown as written, never as markup.
        self.query_one("#project-name", Label).update(literal(project))
