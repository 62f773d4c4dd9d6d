"""`LoopHarnessApp`: a minimal app around one `LoopChat`, for tests, the chat benchmark and trying Loop alone.

    python -m loop_tui.ui.loop.harness [--workspace DIR] [--page logs] [--project support-bot] [--model M]
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Footer, Static

from loop_tui.agent import PageContext
from loop_tui.safe_text import literal
from loop_tui.ui.loop.chat import LoopChat
from loop_tui.ui.loop.shell import LoopPageMixin, loop_stylesheet
from loop_tui.ui.theme_variables import with_our_variables

if TYPE_CHECKING:
    from loop_tui.config import Settings
    from loop_tui.store import Workspace


class HarnessPage(LoopPageMixin, Static, can_focus=True):
    """A stand-in page: shows the context Loop sees and carries the page's workflow keys."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("i", "focus_chat", "Chat", id="harness.chat")]

    def __init__(self, app_context: PageContext) -> None:
        super().__init__(id="harness-page")
        self.context = app_context
        self.PAGE = app_context.page

    def on_mount(self) -> None:
        self.update(literal("page: " + ", ".join(f"{k}={v}" for k, v in self.context.to_dict().items())))

    def action_focus_chat(self) -> None:
        """Focus the chat input."""
        self.app.query_one(LoopChat).input.focus()


class LoopHarnessApp(App[None]):
    """One page stand-in and one Loop chat over a workspace."""

    CSS = """
    #harness-page { width: 1fr; height: 1fr; padding: 1; color: $text-muted; border: round $panel-lighten-2; }
    #harness-page:focus { border: round $primary; }
    #harness-chat { width: 64; border: round $panel-lighten-2; }
    #harness-chat:focus-within { border: round $primary; }
    """

    def get_css_variables(self) -> dict[str, str]:
        """Textual's theme variables and the app's own, which `styles/loop.tcss` uses."""
        return with_our_variables(self, super().get_css_variables())

    def __init__(self, workspace: Workspace, settings: Settings, context: PageContext, *, model: str | None = None) -> None:
        super().__init__(css_path=[loop_stylesheet()])
        self.workspace = workspace
        self.settings = settings
        self.context = context
        self.model = model
        self.accepted_queries: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield HarnessPage(self.context)
            yield LoopChat(self.workspace, self.settings, lambda: self.context, model=self.model, id="harness-chat")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(LoopChat).input.focus()

    def on_loop_chat_query_accepted(self, message: LoopChat.QueryAccepted) -> None:
        """Stand in for the BTQL editor: keep the accepted query (shown on the page)."""
        self.accepted_queries.append(message.query)
        self.context.btql_query = message.query

    @property
    def chat(self) -> LoopChat:
        """The chat under test."""
        return self.query_one(LoopChat)


def main(argv: list[str] | None = None) -> int:
    """Run the harness on a workspace (for trying Loop over tmux without the full app)."""
    from loop_tui.config import load_settings
    from loop_tui.store import open_workspace

    parser = argparse.ArgumentParser(prog="python -m loop_tui.ui.loop.harness")
    parser.add_argument("--workspace")
    parser.add_argument("--page", default="logs")
    parser.add_argument("--project", default="support-bot")
    parser.add_argument("--model")
    parser.add_argument("--query", help="BTQL query in the page context (btql page)")
    parser.add_argument("--error", help="BTQL error in the page context (btql page)")
    args = parser.parse_args(argv)
    context = PageContext(page=args.page, project=args.project, btql_query=args.query, btql_error=args.error)
    LoopHarnessApp(open_workspace(args.workspace), load_settings(), context, model=args.model).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
