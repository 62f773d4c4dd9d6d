"""`PageScreen`: what every page shares: the header, the Loop side panel slot, the footer, and reloads.

A page implements `compose_page()` and `load()`. `load()` runs when the page is first shown and again
whenever it is resumed after the project changed or the workspace was written (its generation moved).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical

from loop_tui.ui.failures import WorkerFailures
from loop_tui.ui.loop.shell import LoopPageMixin, find_chat, mounted_chats, page_context_provider
from loop_tui.ui.widgets.chat import ChatPanel
from loop_tui.ui.widgets.footer import FooterScreen, PageFooter
from loop_tui.ui.widgets.page_header import PageHeader

if TYPE_CHECKING:
    from loop_tui.store import CatalogObject, Workspace
    from loop_tui.ui.app import LoopApp


class PageScreen(WorkerFailures, LoopPageMixin, FooterScreen):
    """Base of the six pages (and the screens pushed on them); a worker's failure is handled in `WorkerFailures`."""

    PAGE: str = ""
    """The page this screen belongs to (a class attribute; the trace view, opened from two pages, sets its own)."""
    NEEDS_PROJECT: ClassVar[bool] = True
    # The cursor starts on the main table's "Loading…" line (which keeps grid keys typed ahead, see
    # ArrowTable) and moves to the grid once data arrives; focusing the first input would swallow the
    # single-letter keys (and hide them from the footer).
    AUTO_FOCUS = "#page-main TableMessage"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Leaving a text field gives the single-letter and digit keys back to the page.
        Binding("escape", "leave_field", "Leave field", show=False, id="page.leave_field"),
    ]
    LOOP_BINDINGS: ClassVar[list[Binding]] = [
        # Loop's status line offers these after a workflow ran from a page key, when focus is on the page,
        # not in the chat: they reach the page's chat from anywhere on the page. Added after a page's own
        # keys (`added_bindings`), so a page's own ctrl+g wins while it applies.
        Binding("ctrl+z", "loop_chat('undo')", "Undo Loop's change", id="page.loop_undo"),
        Binding("ctrl+g", "loop_chat('continue_run')", "Continue Loop", id="page.loop_continue"),
    ]

    YIELD_TO_LOOP: ClassVar[frozenset[str]] = frozenset()
    """Page actions on priority keys that Loop's chat also binds (ctrl+r history, ctrl+g continue): while
    focus is in the chat they step aside, so the chat's keys work there (and never start a run by surprise)."""

    ROOT_PAGE: ClassVar[bool] = True
    """False for screens pushed on a page (trace, experiment view...): only the page root gets the id."""

    def __init__(self) -> None:
        super().__init__(id=f"page-{self.PAGE}" if self.ROOT_PAGE else None)
        self._loaded_key: tuple[str | None, int] | None = None

    @property
    def loop_app(self) -> LoopApp:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    @property
    def workspace(self) -> Workspace:
        """The open workspace."""
        return self.loop_app.workspace

    @property
    def project(self) -> CatalogObject | None:
        """The project the app shows."""
        return self.loop_app.project

    def compose(self) -> ComposeResult:
        yield PageHeader(self.PAGE)
        with Horizontal(id="page-body"):
            with Vertical(id="page-main"):
                yield from self.compose_page()
            yield ChatPanel(
                self.PAGE,
                workspace=self.workspace,
                context_provider=page_context_provider(self),
                id="chat-panel",
            )
        yield PageFooter()

    def compose_page(self) -> ComposeResult:
        """The page's own widgets."""
        yield from ()

    @classmethod
    def added_bindings(cls) -> list[Binding]:
        """Loop's undo and continue keys, then the workflow keys."""
        return [*cls.LOOP_BINDINGS, *super().added_bindings()]

    def on_mount(self) -> None:
        self.sync_chat_panel(self.loop_app.chat_open)

    def on_screen_resume(self) -> None:
        self.sync_chat_panel(self.loop_app.chat_open)
        for chat in mounted_chats(self):
            chat.follow_shared()  # Loop's conversation follows the user from page to page
        self.refresh_if_stale()

    def sync_chat_panel(self, visible: bool) -> None:
        """Show or hide this page's Loop panel, at the width the user chose (percent of the terminal)."""
        for panel in self.query(ChatPanel):
            panel.display = visible
            panel.styles.width = f"{self.loop_app.chat_width}%"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Page keys listed in YIELD_TO_LOOP are off while the user types to Loop."""
        if action in self.YIELD_TO_LOOP and self.loop_has_focus():
            return False
        if action == "loop_chat":
            chat = find_chat(self)
            return chat is not None and bool(chat.check_action(str(parameters[0]), ()))
        return super().check_action(action, parameters)

    def action_loop_chat(self, action: str) -> None:
        """Run one of the page's Loop chat actions (undo, continue) without focusing the chat."""
        chat = find_chat(self)
        if chat is not None:
            self.run_worker(chat.run_action(action), group="loop-page-action", exit_on_error=False)

    def loop_paused(self) -> bool:
        """Whether this page's Loop run waits at the step limit (ctrl+g continues it)."""
        chat = find_chat(self)
        return chat is not None and chat.paused and not chat.running

    def loop_has_focus(self) -> bool:
        """Whether focus is inside this page's Loop panel."""
        return any(panel.has_focus_within for panel in self.query(ChatPanel))

    def refresh_if_stale(self) -> None:
        """Reload when the project or the workspace changed since the last load."""
        if not self.is_current:
            return
        self.show_project()
        project = self.project
        key = (project.id if project else None, self.workspace.generation)
        if key == self._loaded_key:
            return
        if self.NEEDS_PROJECT and project is None:
            if not self.loop_app.projects_loaded:
                return  # the app posts ProjectChanged once the project list is read
            self._loaded_key = key
            self.show_empty("No projects in this workspace yet: run `loop-tui demo` or `loop-tui import`.")
            return
        self._loaded_key = key
        self.load()

    def show_project(self) -> None:
        """Put the project's name in the header and the Loop panel's context."""
        from loop_tui.remote.sync_state import last_synced

        name = self.project.name if self.project else None
        synced = last_synced(self.workspace.root, self.project.id) if self.project else None
        self.query_one(PageHeader).show_project(name, synced, getattr(self.app, "sync_status", None))
        for panel in self.query(ChatPanel):
            panel.project_name = name or ""

    def mark_stale(self) -> None:
        """Force the next `refresh_if_stale` to reload (after this page wrote something)."""
        self._loaded_key = None

    def action_copy_text(self) -> None:
        """ctrl+c with text selected by the mouse (a Loop answer, a cell): copy it like every other copy,
        to the terminal's clipboard and the fallback file, and say so."""
        from textual.actions import SkipAction

        from loop_tui.ui.clipboard import copy_out

        text = self.get_selected_text()
        if not text:
            raise SkipAction()  # nothing selected: ctrl+c keeps its other meanings
        copy_out(self.app, text, "the selection")

    def action_leave_field(self) -> None:
        """Take focus out of the text field so page keys (1–6, letters) work again."""
        self.focus_main()

    def focus_main(self) -> None:
        """Put the cursor on the page's main table (or nowhere), where the page's keys work."""
        from loop_tui.ui.widgets.arrow_table import ArrowTable

        tables = self.query_one("#page-main").query(ArrowTable)
        if tables:
            tables.first().focus_grid()
        else:
            self.set_focus(None)

    def leave_field_first(self) -> bool:
        """esc closes the innermost thing: with the cursor in a text field or in Loop's panel, take it out
        and say so (True); the caller's own esc action (back, close) waits for the next press."""
        from textual.widgets import Input, TextArea

        if isinstance(self.focused, Input | TextArea) or self.loop_has_focus():
            self.focus_main()
            return True
        return False

    def settings_applied(self) -> None:
        """The app's settings changed (a save, ctrl+t in a chat): Loop's chats on this page follow."""
        for chat in mounted_chats(self):
            chat.settings_applied()

    def unsaved_changes(self) -> str | None:
        """What would be lost by quitting now (None: nothing); `q` asks before quitting if a page says so."""
        return None

    def load(self) -> None:
        """(Re)load the page's data, in workers."""

    def loop_context(self) -> dict[str, object]:
        """What Loop should know about this page beyond page and project (pages override)."""
        return {}

    def on_loop_chat_workspace_changed(self) -> None:
        """Loop (or an undo in the chat) wrote to the workspace: reload this page's data."""
        self.mark_stale()
        self.refresh_if_stale()

    def show_empty(self, message: str) -> None:
        """Say why the page has nothing to show (pages override to place it)."""
        self.notify(message, severity="information")

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """A loader's failure replaces the page's main table (its "Loading…"); any other worker's is a toast."""
        from loop_tui.ui.widgets.arrow_table import ArrowTable

        tables = self.query_one("#page-main").query(ArrowTable)
        if in_place and tables:
            self.call_later(tables.first().show_message, sentence)
        else:
            self.notify(sentence, severity="error", timeout=10)
