"""`LoopApp`: the one Textual app. Pages are modes; this module holds only global state and keys."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from loop_tui.errors import UserError
from loop_tui.safe_text import visible
from loop_tui.ui.commands import ActionsProvider
from loop_tui.ui.failures import WorkerFailures, failure_sentence, log_path
from loop_tui.ui.focus import TypedAheadKeys
from loop_tui.ui.keys import RemembersKeymap
from loop_tui.ui.messages import ProjectChanged, ProjectsLoaded, SettingsSaved, WorkFailed
from loop_tui.ui.paths import css_paths
from loop_tui.ui.startup import KeysKeptMixin, WorkspaceOpener
from loop_tui.ui.sync_work import SyncChoice, SyncMixin, braintrust_configured
from loop_tui.ui.ui_state import (
    LOOP_WIDTH_DEFAULT,
    clamp_loop_width,
    last_project,
    loop_panel_width,
    remember_loop_panel_width,
    remember_project,
)

# Nothing above imports pyarrow, DuckDB, pydantic or the agent: the first frame is drawn before them
# (tests/test_ui_startup.py holds this). What needs them is imported where it is used.

if TYPE_CHECKING:
    from textual.command import Provider
    from textual.notifications import SeverityLevel
    from textual.widget import AwaitMount

    from loop_tui.config import Settings, StartupSettings
    from loop_tui.interop.otlp_server import OtlpReceiver
    from loop_tui.store import CatalogObject, Workspace
    from loop_tui.ui.logs_query import FirstPagePrefetch
    from loop_tui.ui.loop.chat import SharedLoop


# Page name -> (title, key). Order is the header's and the footer's.
PAGES: dict[str, tuple[str, str]] = {
    "playground": ("Playground", "1"),
    "experiments": ("Experiments", "2"),
    "datasets": ("Datasets", "3"),
    "logs": ("Logs", "4"),
    "btql": ("BTQL", "5"),
    "settings": ("Settings", "6"),
}


FIRST_PAGE_WAIT_S = 30.0
"""The longest the other pages' imports wait for the first page to draw its data (a page that never says so)."""


def _lazy_screen(name: str) -> Callable[[], Screen]:
    # Textual calls this the first time a mode is entered: start-up only imports the page it opens.
    def make() -> Screen:
        import importlib

        module = importlib.import_module(f"loop_tui.ui.screens.{name}")
        return module.PAGE_SCREEN()

    return make


def _none() -> None:
    return None


def _page_screens() -> dict[str, str | Callable[[], Screen]]:
    return {name: _lazy_screen(name) for name in PAGES}


def _loop_commands() -> type[Provider]:
    # Loop's palette entries import its workflows (and the agent): only when the palette first opens.
    from loop_tui.ui.loop.shell import LoopCommands

    return LoopCommands


class LoopApp(WorkerFailures, RemembersKeymap, KeysKeptMixin, SyncMixin, TypedAheadKeys, App[None]):
    """Loop TUI: playground, experiments, datasets, logs, BTQL sandbox and settings over one workspace."""

    TITLE = "Loop TUI"
    CSS_PATH: ClassVar[list[str | PurePath]] = [*css_paths()]
    COMMANDS = App.COMMANDS | {ActionsProvider, _loop_commands}
    MODES: ClassVar = {}  # filled below from PAGES (strings keep imports lazy)

    BINDINGS: ClassVar[list[BindingType]] = [
        *[
            Binding(key, f"switch_page('{name}')", title, id=f"app.page.{name}", group=Binding.Group("Pages", compact=True))
            for name, (title, key) in PAGES.items()
        ],
        Binding("ctrl+o", "switch_project", "Project", id="app.project"),
        Binding("ctrl+l", "toggle_chat", "Ask Loop", id="app.toggle_chat"),
        Binding("less_than_sign", "resize_chat(4)", "Loop wider", id="app.chat_wider", show=False),
        Binding("greater_than_sign", "resize_chat(-4)", "Loop narrower", id="app.chat_narrower", show=False),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit", show=False),
        Binding("f6", "cancel_sync", "Cancel Braintrust sync", id="app.cancel_sync", show=False),
    ]
    """Global keys; each page adds its own. Every id can be remapped in settings (ui.keybindings)."""

    project: reactive[CatalogObject | None] = reactive(None, init=False)
    """The project every page shows."""
    chat_open: reactive[bool] = reactive(True, init=False)
    """Whether the Loop side panel is visible (on every page)."""
    chat_width: reactive[int] = reactive(LOOP_WIDTH_DEFAULT, init=False)
    """The Loop panel's width in percent of the terminal (< and > resize it; remembered in ui_state.json)."""

    def __init__(
        self,
        workspace: Workspace | None,
        settings: Settings | None,
        *,
        start_page: str = "logs",
        project: str | None = None,
        opener: WorkspaceOpener | None = None,
        where: str = "",
    ) -> None:
        """Open on `workspace` with `settings`; or, given `opener` (and None for both), draw the first frame
        (in the settings file's theme) at once and call `opener` in a worker after it (`where` names the
        workspace meanwhile)."""
        super().__init__()
        if opener is not None:
            self._take_first_frame_theme()
        self._css_made_from = self._css_inputs()  # what the stylesheet is built from, just now
        if opener is None and (workspace is None or settings is None):
            raise TypeError("LoopApp needs a workspace and settings, or an opener")
        self.workspace: Workspace = workspace  # type: ignore[assignment]  # set before any page exists
        self._settings: Settings | None = settings
        self._startup_settings: StartupSettings | None = None
        """The settings file as read at start-up (no pydantic), until it is checked in full after the first
        rows (`_load_after_first_page`)."""
        self.settings_in_file: dict[str, Any] = {}
        """The settings as the app last read or wrote them (`model_dump`): what the app changed since (a theme
        chosen in the palette) is told from what an editor changed in the file meanwhile when the Settings
        page saves."""
        self.projects: list[CatalogObject] = []
        self.projects_loaded = False
        self._start_page = start_page if start_page in PAGES else "logs"
        self._wanted_project = project
        self._opener = opener
        self._where = where
        self.keep_keys(until_pages=opener is not None)
        self._first_page_drawn = threading.Event()
        self.loop_ready = opener is None
        """Whether pages mount Loop's chat as they compose. Started by the CLI (with an opener), the app
        mounts it once the first page shows its data: its import and widgets (~0.1 s of the UI thread) would
        otherwise come before the first rows."""
        self._focus_loop_when_ready = False
        self._loop_session: SharedLoop | None = None
        self.first_logs_page: FirstPagePrefetch | None = None
        """The logs page's first query, started as soon as the workspace is open (when it opens on logs)."""
        self.startup_error: UserError | None = None
        """Why the workspace could not be opened (the app then exits; the CLI prints it, exit code 2)."""
        self.otlp_receiver: OtlpReceiver | None = None
        """The in-app OTLP receiver with `--otlp` (set by the CLI's opener); the logs page's live line reads it."""
        if opener is None:
            self._take(workspace, settings, None)  # type: ignore[arg-type]

    def _take_first_frame_theme(self) -> None:
        """Draw from the first frame in the settings file's theme (it was drawn in the default theme while the
        workspace opened, then changed with the page). Only the theme is read here (TOML, no pydantic): a
        file that cannot be read is said by the opener, as before."""
        from loop_tui.config import read_startup_settings

        try:
            theme = read_startup_settings().theme
        except UserError:
            return
        if theme != self.theme and theme in self.available_themes:
            self.theme = theme
            # The stylesheet has read no CSS yet: it takes the theme's variables now, and the CSS refresh the
            # theme change queued finds nothing to redo (`refresh_css`).
            self.stylesheet.set_variables(self.get_css_variables())

    def _take(self, workspace: Workspace, settings: Settings | StartupSettings, chat_width: int | None) -> None:
        """Make `workspace` and `settings` the app's (Loop's shared conversation comes with them); settings
        read at start-up are checked in full once the first page shows its rows."""
        from loop_tui.config import StartupSettings

        self.workspace = workspace
        if isinstance(settings, StartupSettings):
            self._settings, self._startup_settings = None, settings
            chat_open = settings.chat_open
        else:
            self._settings, self._startup_settings = settings, None
            self.settings_in_file = settings.model_dump()
            chat_open = settings.ui.chat_open
        self.set_reactive(LoopApp.chat_open, chat_open)
        self.set_reactive(LoopApp.chat_width, loop_panel_width() if chat_width is None else chat_width)
        self._loop_session = None

    @property
    def settings(self) -> Settings:
        """The app's one Settings object (every chat and page holds this one; `apply_settings` updates it)."""
        if self._settings is None and self._startup_settings is not None:
            # Asked for before the check after the first rows (a tab clicked at once): check it now.
            from loop_tui.config import Settings

            self._take_validated(self._validate_startup_settings() or Settings())  # (invalid: the app is leaving)
        return self._settings  # type: ignore[return-value]  # set with the workspace, before any page

    def _validate_startup_settings(self) -> Settings | None:
        """The start-up settings checked in full; None if they are invalid (the app then leaves with the
        sentence, exit code 2, as when the workspace cannot be opened). Safe to call from any thread."""
        startup = self._startup_settings
        if startup is None:
            return None
        try:
            return startup.validated()
        except UserError as err:
            self.post_message(self.WorkspaceRefused(err))
            return None

    def _take_validated(self, settings: Settings) -> None:
        """The settings file, checked: it becomes the app's Settings; what it changed is applied."""
        startup, self._startup_settings = self._startup_settings, None
        if self._settings is not None or startup is None:
            return  # taken already (asked for on the UI thread meanwhile)
        self._settings = settings
        self.settings_in_file = settings.model_dump()
        if (settings.ui.theme, dict(settings.ui.keybindings)) != (startup.theme, startup.keybindings):
            self.apply_settings(settings)
        if settings.ui.chat_open != startup.chat_open:
            self.chat_open = settings.ui.chat_open

    @property
    def loop_session(self) -> SharedLoop:
        """Loop's one conversation (and model, undo list) that every page's chat continues."""
        if self._loop_session is None:
            from loop_tui.ui.loop.chat import SharedLoop

            self._loop_session = SharedLoop()
        return self._loop_session

    # ----- start-up ------------------------------------------------------------------------------
    def on_mount(self) -> None:
        """Open the first page; with an opener, show the starting screen first (the workspace opens after)."""
        if self._opener is not None:
            from loop_tui.ui.screens.starting import StartingScreen

            self.push_screen(StartingScreen(self._start_page, self._where))
            return
        self._open_pages()

    def on_ready(self) -> None:
        """The first frame is on the screen: now import the heavy parts and open the workspace."""
        if self._opener is not None and not self.pages_ready:
            self._open_workspace()

    def _open_pages(self, projects: list[CatalogObject] | None = None) -> AwaitMount:
        """Apply theme and keymap, open the first page, and take the `projects` (or read them in a worker);
        await the result for the page to be mounted."""
        startup = self._startup_settings
        if startup is not None:
            self._apply_look(startup.theme, startup.keybindings)
        else:
            self.apply_settings(self.settings)
        if self.size.width < 100:
            # Below 100 columns the page needs the room: Loop starts hidden (ctrl+l opens it).
            self.set_reactive(LoopApp.chat_open, False)
        switched = self.switch_mode(self._start_page)
        if projects is None:
            self._load_projects()
        else:
            self.post_message(ProjectsLoaded(projects))
        return switched

    @dataclass
    class WorkspaceOpened(Message):
        """The workspace is open and the first page imported (in a worker): mount the pages."""

        workspace: Workspace
        settings: Settings | StartupSettings
        chat_width: int
        projects: list[CatalogObject]
        first_logs_page: FirstPagePrefetch | None

    @dataclass
    class WorkspaceRefused(Message):
        """The workspace could not be opened (a bad path, a damaged store): exit with the reason."""

        error: UserError

    @work(thread=True, exclusive=True, group="open-workspace", exit_on_error=False)
    def _open_workspace(self) -> None:
        """Open the workspace and import the first page (pyarrow, DuckDB, Loop) off the UI thread."""
        import importlib

        assert self._opener is not None
        prefetch = None
        try:
            workspace, settings = self._opener()
            if self._start_page == "logs":
                from loop_tui.ui.logs_query import FirstPagePrefetch

                # DuckDB reads the first rows while the page module is imported and mounted below.
                prefetch = FirstPagePrefetch(workspace)
            chat_width = loop_panel_width()
            projects = workspace.projects()
        except UserError as err:
            if prefetch is not None:
                prefetch.for_project(None)
            self.post_message(self.WorkspaceRefused(err))
            return
        chosen = self._choose_project(projects, workspace)[0]
        if prefetch is not None:
            prefetch.for_project(chosen.id if chosen is not None else None)
            if chosen is None:
                prefetch = None
        importlib.import_module(f"loop_tui.ui.screens.{self._start_page}")
        if prefetch is not None:
            # The grid's module (~30 ms to import), while DuckDB reads the first page without the GIL: on the
            # UI thread it came between the rows and the screen.
            from loop_tui.ui.widgets.arrow_table import grid_class

            grid_class()
        self.post_message(self.WorkspaceOpened(workspace, settings, chat_width, projects, prefetch))

    @on(WorkspaceRefused)
    def _fail_to_start(self, message: WorkspaceRefused) -> None:
        self.startup_error = message.error
        self.exit(return_code=message.error.exit_code)

    @on(WorkspaceOpened)
    async def _workspace_opened(self, message: WorkspaceOpened) -> None:
        self.first_logs_page = message.first_logs_page
        self._take(message.workspace, message.settings, message.chat_width)
        await self._open_pages(message.projects)
        # Keys typed meanwhile go to the page once it is mounted and focused, in the order they came.
        self.call_after_refresh(self.replay_kept_keys)
        if self.first_logs_page is None:  # (the logs page says when its first rows are drawn)
            self.call_after_refresh(self.first_page_drawn)
        self._load_after_first_page()

    def first_page_drawn(self) -> None:
        """The page the app opened on shows its first data: work that would compete with drawing it (the
        other pages' imports) may start. Safe to call from any thread, and more than once."""
        self._first_page_drawn.set()

    @work(thread=True, group="import-pages", exit_on_error=False)
    def _load_after_first_page(self) -> None:
        """Once the first page shows its data: load Loop's chat and mount it on the pages, then import the
        other pages' modules (0.2–0.5 s each), so the first visit to a page draws it at once instead of
        importing it on the UI thread.

        Not sooner: Python runs one thread at a time, and these imports running while the first page draws
        made it wait (~0.15 s at start-up)."""
        import importlib

        self._first_page_drawn.wait(FIRST_PAGE_WAIT_S)
        settings = None
        if self._startup_settings is not None:
            settings = self._validate_startup_settings()
            if settings is None:
                return  # invalid settings: the app is leaving with the sentence
        importlib.import_module("loop_tui.ui.loop.chat")
        self.post_message(self.LoopLoaded(settings))
        for name in (*PAGES, "trace", "experiment_view"):
            importlib.import_module(f"loop_tui.ui.screens.{name}")

    @dataclass
    class LoopLoaded(Message):
        """Loop's chat module is imported (in a worker): mount the chat on the pages."""

        settings: Settings | None
        """The start-up settings file, checked in full (None: the app had its Settings from the start)."""

    @on(LoopLoaded)
    async def _mount_loop(self, message: LoopLoaded) -> None:
        """Loop has loaded: put its chat in every page's panel (pages composed from now on have it at once)."""
        from loop_tui.ui.widgets.chat import ChatPanel

        if message.settings is not None:
            self._take_validated(message.settings)
        self.loop_ready = True
        for screen in self._all_page_screens():
            for panel in screen.query(ChatPanel):
                await panel.mount_chat()
        if self._focus_loop_when_ready:
            self._focus_loop_when_ready = False
            chat_input = self._chat_input()
            if chat_input is not None and self.chat_open:
                chat_input.focus()

    def apply_settings(self, settings: Settings) -> None:
        """Make `settings` the app's, everywhere at once: theme, key bindings, open Loop chats, the
        Settings page (unknown themes fall back to the default).

        The app owns one Settings object for its whole life and copies new values into it, so every
        holder of it (each chat, its agent and tool policies) sees a save at once and none keeps a stale copy.
        """
        if settings is not self.settings:
            for name in type(settings).model_fields:
                setattr(self.settings, name, getattr(settings, name))
        current = self.settings
        self._apply_look(current.ui.theme, current.ui.keybindings)
        for screen in self._all_page_screens():
            applied = getattr(screen, "settings_applied", None)
            if applied is not None:
                applied()

    def watch_theme(self, theme: str) -> None:
        """A theme chosen anywhere (the palette's "theme", the Settings page's preview) is the settings' theme
        from now on: the Settings page shows it and a save there keeps it (it went back to the file's)."""
        settings = getattr(self, "_settings", None)  # (None before the file is read, or checked in full)
        if settings is not None and settings.ui.theme != theme:
            settings.ui.theme = theme

    def _apply_look(self, theme: str, keybindings: dict[str, str]) -> None:
        """Use `theme` (an unknown one leaves the default) and the keys remapped in `keybindings`."""
        if theme in self.available_themes:
            self.theme = theme
        self.set_keymap(dict(keybindings))

    @work(thread=True, exclusive=True, group="projects", exit_on_error=False)
    def _load_projects(self) -> None:
        self.post_message(ProjectsLoaded(self.workspace.projects()))

    @on(ProjectsLoaded)
    def _remember_projects(self, message: ProjectsLoaded) -> None:
        self.projects = message.projects
        self.projects_loaded = True
        pulled = next((p for p in message.projects if p.name == getattr(self, "_pending_switch", None)), None)
        self._pending_switch = None
        if pulled is not None:  # a project the picker asked to pull has arrived: show it
            self.project = pulled
            return
        if self.project is None and message.projects:
            chosen, missing = self._choose_project(message.projects, self.workspace)
            if missing and chosen is not None:
                self.notify(f"no project named {missing!r}; showing {chosen.name}", severity="warning")
            self.project = chosen
        elif not message.projects:
            self.post_message(ProjectChanged(None))

    def _choose_project(
        self, projects: list[CatalogObject], workspace: Workspace
    ) -> tuple[CatalogObject | None, str | None]:
        """The project to show first: --project, else the one last shown, else the first; and the name of a
        --project that is not there (None if it is)."""
        if not projects:
            return None, None
        wanted = self._wanted_project
        if wanted:
            chosen = next((p for p in projects if wanted in (p.name, p.id)), None)
            return (chosen, None) if chosen is not None else (projects[0], wanted)
        remembered = last_project(workspace.root)  # reopen where the user left off
        return next((p for p in projects if p.id == remembered), projects[0]), None

    def watch_project(self, project: CatalogObject | None) -> None:
        self.post_message(ProjectChanged(project))
        if project is not None:
            remember_project(self.workspace.root, project.id)

    @on(ProjectChanged)
    def _tell_current_page(self, message: ProjectChanged) -> None:
        # Only the visible page reloads now; the others check the project when they are resumed.
        if not self.screen_stack:  # the app is closing (seen once in CI: the message came after the last screen)
            return
        refresh = getattr(self.screen, "refresh_if_stale", None)
        if refresh is not None:
            refresh()

    @on(SettingsSaved)
    def _reapply_settings(self, message: SettingsSaved) -> None:
        self.settings_in_file = message.settings.model_dump()
        self.apply_settings(message.settings)

    def notify(
        self, message: str, *, title: str = "", severity: SeverityLevel = "information", timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a notification; its text is always plain (it quotes names and errors from data).

        Widgets' `notify` passes `markup=True` by default, so every notification is shown literally here,
        with control characters made visible: one place instead of every call site.
        """
        super().notify(visible(message), title=visible(title), severity=severity, timeout=timeout, markup=False)

    @on(WorkFailed)
    def _show_failure(self, message: WorkFailed) -> None:
        self.notify(message.message, title=message.area, severity="error", timeout=8)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An app-level worker failed (see `WorkerFailures`); a failed sync also frees the next one to start."""
        super().on_worker_state_changed(event)
        if event.state == WorkerState.ERROR and event.worker.group == "braintrust-sync":
            self.sync_ended_unexpectedly()
        if event.state == WorkerState.ERROR and event.worker.group == "open-workspace" and event.worker.error:
            # No page to show it on yet: leave with the sentence (the traceback is in the log already).
            self.exit(return_code=1, message=failure_sentence("open the workspace", event.worker.error, log_path()))

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """The projects' loader failed: the page says so where its data would have been; else a toast."""
        show = getattr(self.screen, "show_worker_failure", None)
        if in_place and show is not None:
            show(sentence, True)
        else:
            self.notify(sentence, severity="error", timeout=10)

    # ----- actions -------------------------------------------------------------------------------
    def action_switch_page(self, page: str) -> None:
        """Show a page (each page keeps its own screen stack)."""
        if self.workspace is None:  # a tab clicked while the workspace opens: open on that page
            self._start_page = page if page in PAGES else self._start_page
            return
        if page in PAGES and self.current_mode != page:
            self.switch_mode(page)

    def action_toggle_chat(self) -> None:
        """Open the Loop panel and put the cursor in its input; pressed again from there, hide it."""
        chat_input = self._chat_input()
        if chat_input is None and not self.loop_ready:  # Loop is loading: the cursor goes in once it is there
            self.chat_open = True
            self._focus_loop_when_ready = True
            return
        if not self.chat_open:
            self.chat_open = True
            if chat_input is not None:
                self.call_after_refresh(chat_input.focus)
        elif chat_input is not None and not chat_input.has_focus:
            chat_input.focus()
        else:
            self.chat_open = False
            self.screen.set_focus(None)

    def _chat_input(self) -> Widget | None:
        """The Loop input on the current page, if it has one."""
        found = self.screen.query("#loop-input")
        return found.first() if found else None

    def watch_chat_open(self, value: bool) -> None:
        for screen in self._all_page_screens():
            sync = getattr(screen, "sync_chat_panel", None)
            if sync is not None:
                sync(value)

    def action_resize_chat(self, delta: int) -> None:
        """Make the Loop panel wider (delta > 0) or narrower, and remember it for next time."""
        width = clamp_loop_width(self.chat_width + delta)
        if not self.chat_open:
            self.chat_open = True
        if width != self.chat_width:
            self.chat_width = width
            self.run_worker(lambda: remember_loop_panel_width(width), thread=True, group="ui-state", exit_on_error=False)

    def watch_chat_width(self) -> None:
        self.watch_chat_open(self.chat_open)

    def action_switch_project(self) -> None:
        """Pick another project."""
        from loop_tui.ui.screens.project_picker import ProjectPicker

        def chosen(project: CatalogObject | SyncChoice | None) -> None:
            if isinstance(project, SyncChoice):
                self.start_sync(project.action, project.name)
            elif project is not None and (self.project is None or project.id != self.project.id):
                self.project = project

        picker = ProjectPicker(self.projects, self.project, remote=braintrust_configured(self.settings))
        self.push_screen(picker, chosen)

    def action_quit(self) -> None:  # type: ignore[override]
        """Quit; with unsaved changes on a page (settings), ask first."""
        unsaved = [what for screen in self._all_page_screens() if (what := getattr(screen, "unsaved_changes", _none)())]
        if not unsaved:
            self.exit()
            return
        from loop_tui.ui.widgets.modals import ConfirmModal

        question = ConfirmModal("Quit without saving?", f"Unsaved changes: {', '.join(unsaved)}. Saving needs ctrl+s on that page.")
        self.push_screen(question, lambda quit_anyway: self.exit() if quit_anyway else None)

    def action_help(self) -> None:
        """Show every key of the current page."""
        from loop_tui.ui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def reload_projects(self) -> None:
        """Re-read the project list (after a project was created elsewhere)."""
        self._load_projects()

    # ----- styles --------------------------------------------------------------------------------
    def get_css_variables(self) -> dict[str, str]:
        """Textual's theme variables and ours (`ui/theme_variables`)."""
        from loop_tui.ui.theme_variables import with_our_variables

        return with_our_variables(self, super().get_css_variables())

    def _css_inputs(self) -> tuple[object, ...]:
        """What the app's CSS rules are made from: the theme and its variables."""
        return (self.theme, self.ansi_theme, tuple(self.get_css_variables().items()))

    def refresh_css(self, animate: bool = True) -> None:
        """Refresh CSS: parse every stylesheet again and restyle the screens, unless the theme (and so every
        variable) is still what the rules were made from.

        Textual refreshes CSS whenever a screen first shows in a mode (twice for a page opened at start-up)
        and when a page that missed a refresh comes back, for the same rules: ~60 ms of the UI thread before
        the first page's rows. Nothing is lost by skipping it: a widget mounted since was styled as it
        mounted (the CSS of a new widget type is parsed then, as Textual does at any time), and a page coming
        back restyles itself (`ScreenResume.refresh_styles`), so a page in the background when the theme
        changed takes the new colours (tests/test_ui_css_refresh.py).
        """
        inputs = self._css_inputs()
        if inputs == self._css_made_from:
            return
        super().refresh_css(animate)
        self._css_made_from = inputs

    # ----- command palette -----------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's own entries (theme, quit, screenshot...), renamed to the "area: action" form."""
        for command in super().get_system_commands(screen):
            yield SystemCommand(f"app: {command.title.lower()}", command.help, command.callback, command.discover)

    def _all_page_screens(self) -> list[Screen]:
        screens: list[Screen] = []
        for mode in PAGES:
            try:
                screens.extend(self.get_screen_stack(mode))
            except KeyError:  # a page not visited yet has no stack
                continue
        return screens


LoopApp.MODES = _page_screens()
