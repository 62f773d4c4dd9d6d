"""Small modals one key away from the chat: model picker, tool toggles, conversation history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, SelectionList
from textual.widgets.option_list import Option

from loop_tui.errors import UserError
from loop_tui.safe_text import literal
from loop_tui.ui.failures import WorkerFailures
from loop_tui.ui.messages import WorkFailed

if TYPE_CHECKING:
    from loop_tui.agent import Conversation, PageContext
    from loop_tui.config import Settings
    from loop_tui.store import Workspace

OFFLINE = "offline"


def model_choices(settings: Settings) -> list[tuple[str, str]]:
    """(name, label) for every allowlisted model plus the offline model; the label says if a key is missing."""
    from loop_tui.llm import resolve_model

    choices = []
    for name in [*settings.models.allowlist, OFFLINE]:
        try:
            resolved = resolve_model(name, settings)
        except UserError as err:
            choices.append((name, f"{name}  (unusable: {err})"))
            continue
        if resolved.provider == OFFLINE:
            label = f"{name}  (built-in, answers a fixed set of requests)"
        elif resolved.key_available():
            label = f"{name}  ({resolved.endpoint})"
        else:
            label = f"{name}  ({resolved.endpoint}, no key: set ${resolved.api_key_env})"
        choices.append((name, label))
    return choices


class _PickerBase(ModalScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="loop.picker.cancel")]

    def action_cancel(self) -> None:
        """Close without a choice."""
        self.dismiss(None)


class ModelPickerModal(_PickerBase):
    """Pick Loop's model: only names from `models.allowlist` (and the offline model) are offered."""

    def __init__(self, settings: Settings, current: str | None) -> None:
        super().__init__(classes="loop-picker")
        self.settings = settings
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="loop-picker-box"):
            yield Label("Loop's model (from models.allowlist)", classes="loop-picker-title")
            options = [Option(literal(("● " if name == self.current else "  ") + label), id=name)
                       for name, label in model_choices(self.settings)]
            yield OptionList(*options, id="loop-models")
            yield Label("enter chooses · esc cancels", classes="loop-picker-hint")

    @on(OptionList.OptionSelected, "#loop-models")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ToolTogglesModal(_PickerBase):
    """Turn tools on and off; what is off is removed from Loop's view (settings tools.disabled)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+s", "apply", "Apply", id="loop.tools.apply")]

    def __init__(self, settings: Settings) -> None:
        super().__init__(classes="loop-picker")
        self.settings = settings

    def compose(self) -> ComposeResult:
        from loop_tui.agent.tools import ALL_TOOLS

        disabled = set(self.settings.tools.disabled)
        denied = {n for n, p in self.settings.tools.policies.items() if p == "deny"}
        with Vertical(classes="loop-picker-box"):
            yield Label("Loop's tools (space toggles · ctrl+s applies · esc cancels)", classes="loop-picker-title")
            items = []
            for cls in ALL_TOOLS:
                first = cls.description.split(". ")[0].rstrip(".")
                flag = " [changes data]" if cls.mutates else ""
                # literal: as a str, "[changes data]" would be read as a markup tag and vanish
                items.append((literal(f"{cls.name}{flag}: {first[:70]}"), cls.name, cls.name not in disabled | denied))
            yield SelectionList[str](*items, id="loop-tools")

    def action_apply(self) -> None:
        """Close, returning the tools now switched off."""
        from loop_tui.agent.tools import TOOL_NAMES

        selected = set(self.query_one("#loop-tools", SelectionList).selected)
        self.dismiss([name for name in TOOL_NAMES if name not in selected])


def save_disabled_tools(app: App, settings: Settings, disabled: list[str]) -> None:
    """Set `tools.disabled` (in memory at once, on disk in a thread) and tell the app settings changed."""
    settings.tools.disabled = list(disabled)
    for name in disabled:  # an explicit allow/ask policy would otherwise fight the toggle
        settings.tools.policies.pop(name, None)

    def save() -> None:
        from loop_tui.config import config_path, load_settings, save_settings

        try:
            # The file as it is now, with only the tools changed: what an editor wrote to it while the app
            # ran stays (an invalid file is said, and not written over).
            path = config_path()
            on_disk = load_settings(path)
            on_disk.tools.disabled = list(disabled)
            for name in disabled:
                on_disk.tools.policies.pop(name, None)
            save_settings(on_disk, path)
        except (OSError, UserError) as err:  # post_message is safe from a thread; WorkFailed shows as a toast
            app.post_message(WorkFailed("settings", f"could not save settings: {err}"))

    app.run_worker(save, thread=True, group="loop-settings", exit_on_error=False)


class ConversationHistoryModal(WorkerFailures, _PickerBase):
    """Earlier conversations of this project (this page's first); enter resumes one."""

    @dataclass
    class ConversationsRead(Message):
        """The project's saved conversations, this page's first (`error`: why they could not be read)."""

        conversations: list[Conversation]
        error: str

    def __init__(self, workspace: Workspace, context: PageContext) -> None:
        super().__init__(classes="loop-picker")
        self.workspace = workspace
        self.context = context
        self._conversations: dict[str, Conversation] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="loop-picker-box"):
            yield Label(literal(f"Loop conversations · {self.context.project or 'all projects'}"), classes="loop-picker-title")
            yield OptionList(id="loop-history")
            yield Label("enter resumes · esc cancels", classes="loop-picker-hint")

    def on_mount(self) -> None:
        self.query_one("#loop-history", OptionList).loading = True
        self._load()

    @work(thread=True, exclusive=True, group="loop-history", exit_on_error=False)
    def _load(self) -> None:
        from loop_tui.agent import list_conversations

        try:
            project_id = self.workspace.project(self.context.project).id if self.context.project else ""
            found = list_conversations(self.workspace, project_id)
        except UserError as err:
            self.post_message(self.ConversationsRead([], str(err)))
            return
        page = self.context.page
        found.sort(key=lambda c: (c.page != page, _desc(c.created)))
        self.post_message(self.ConversationsRead(found, ""))

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """A failed read is said in the list, where the conversations would have been."""
        self._show([], sentence)

    @on(ConversationsRead)
    def _show_read(self, message: ConversationsRead) -> None:
        self._show(message.conversations, message.error)

    def _show(self, conversations: list[Conversation], error: str) -> None:
        options = self.query_one("#loop-history", OptionList)
        options.loading = False
        self._conversations = {c.id: c for c in conversations}
        if error or not conversations:
            options.add_option(Option(literal(error or "No saved conversations yet."), disabled=True))
            return
        options.add_options(
            Option(literal(f"{c.page:<11} {c.created[:16].replace('T', ' ')}  {c.title or '(untitled)'}"), id=c.id)
            for c in conversations
        )
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected, "#loop-history")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._conversations.get(event.option.id or ""))


def _desc(created: str) -> Any:
    # Newest first inside each group: invert the ISO timestamp's characters.
    return tuple(-ord(ch) for ch in created)
