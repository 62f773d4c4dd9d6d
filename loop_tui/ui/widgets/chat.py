"""`ChatPanel`: the side panel where Loop, the assistant, lives on every page.

The panel is the frame (border, width, show/hide with ctrl+l); inside it is `LoopChat` from
`loop_tui.ui.loop`, which streams Loop's answers, shows tool cards and asks before any change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from loop_tui.safe_text import literal
from loop_tui.ui.removal import finish_removal

if TYPE_CHECKING:
    from loop_tui.agent import PageContext
    from loop_tui.config import Settings
    from loop_tui.store import Workspace


class ChatPanel(Vertical):
    """The Loop side panel on a page: a frame around the page's `LoopChat`."""

    page: reactive[str] = reactive("", init=False)
    """The page this panel sits on (Loop's page context)."""
    project_name: reactive[str] = reactive("", init=False)
    """The project shown on the page (shown in the border)."""

    def __init__(
        self,
        page: str,
        *,
        workspace: Workspace,
        settings: Settings | None = None,
        context_provider: Callable[[], PageContext],
        id: str | None = None,  # noqa: A002
    ) -> None:
        super().__init__(id=id)
        self.set_reactive(ChatPanel.page, page)
        self._workspace = workspace
        self._settings = settings
        self._context_provider = context_provider
        self.border_title = "Loop"

    def compose(self) -> ComposeResult:
        if getattr(self.app, "loop_ready", True):
            yield self._chat()
        else:  # the app mounts the chat once the first page shows its data (`mount_chat`)
            yield Static("Loop is starting…", id=f"loop-starting-{self.page}", classes="loop-starting")

    def _chat(self) -> Widget:
        from loop_tui.ui.loop import LoopChat

        # Without settings of its own, the panel's chat shares the app's one Settings object, read only now:
        # the app checks its settings file in full (pydantic) after the first rows, just before Loop mounts.
        settings = self._settings if self._settings is not None else self.app.settings  # type: ignore[attr-defined]
        return LoopChat(self._workspace, settings, self._context_provider, id=f"loop-chat-{self.page}")

    async def mount_chat(self) -> None:
        """Put Loop's chat in the panel in place of "Loop is starting…" (once; the app calls this when Loop
        has loaded)."""
        starting = self.query(".loop-starting")
        if not starting:
            return
        await finish_removal(starting.remove())
        await self.mount(self._chat())

    def watch_project_name(self, name: str) -> None:
        self.border_title = literal(f"Loop · {name}") if name else "Loop"
