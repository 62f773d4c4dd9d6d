"""The widgets a Loop transcript is made of: user turns, streamed answers, tool cards and notices.

Answers stream through `Markdown.get_stream()` (only the last block is ever re-parsed); a tool call is a
one-line card updated in place when its result arrives, expanded with Enter or a click.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.highlight import highlight
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from loop_tui.ui.loop.summaries import call_summary, pretty, pretty_args, result_summary


class UserTurn(Static):
    """What the user asked."""

    def __init__(self, text: str) -> None:
        super().__init__(Content.assemble(("you ", "bold $accent"), text), classes="loop-user")
        self.text = text


class AssistantAnswer(Markdown):
    """One stretch of the assistant's answer, streamed (text after a tool call starts a new one)."""

    def __init__(self, markdown: str = "", *, classes: str = "") -> None:
        super().__init__(markdown, classes=f"loop-answer {classes}".strip())
        self._stream: MarkdownStream | None = None
        self._parts: list[str] = [markdown] if markdown else []
        self._chars = len(markdown)
        self._fences = markdown.count("```")

    @property
    def text(self) -> str:
        """Everything written so far (including what the stream has not painted yet)."""
        return "".join(self._parts)

    @property
    def size_chars(self) -> int:
        """How much text this widget holds."""
        return self._chars

    @property
    def in_code_fence(self) -> bool:
        """Whether the text so far ends inside an open ``` fence."""
        return self._fences % 2 == 1

    async def write(self, fragment: str) -> None:
        """Append a fragment through the Markdown stream."""
        if self._stream is None:
            self._stream = Markdown.get_stream(self)
        self._parts.append(fragment)
        self._chars += len(fragment)
        self._fences += fragment.count("```")
        await self._stream.write(fragment)

    async def finish(self) -> None:
        """Flush what is pending and stop the stream."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()


class ToolCard(Widget, can_focus=True):
    """A tool call: a one-line summary that expands (Enter / click) to arguments and result."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "toggle", "Expand", id="loop.card_toggle", show=False),
    ]
    """Enter or space expands and collapses the card."""

    STATUS_ICONS: ClassVar[dict[str, str]] = {
        "running": "⋯", "waiting": "?", "ok": "✓", "error": "✗", "declined": "⊘", "cancelled": "⊘",
    }

    def __init__(self, call_id: str, name: str, arguments: dict, *, mutates: bool = False) -> None:
        super().__init__(classes="loop-tool")
        self.call_id = call_id
        self.tool_name = name
        self.arguments = arguments
        self.mutates = mutates
        self.status = "running"
        self.result: str | None = None
        self.error: str | None = None
        self.note = ""
        self.expanded = False

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="loop-tool-title")
        with Vertical(classes="loop-tool-body"):
            yield Static(classes="loop-tool-args")
            yield Static(classes="loop-tool-result")

    def _title(self) -> Content:
        icon = self.STATUS_ICONS.get(self.status, "·")
        arrow = "▾" if self.expanded else "▸"
        summary = call_summary(self.tool_name, self.arguments)
        outcome = self.note or (result_summary(self.result, self.error) if self.status in ("ok", "error") else "")
        style = {"error": "$error", "ok": "$success", "waiting": "$warning"}.get(self.status, "$text-muted")
        return Content.assemble(
            (f"{arrow} {icon} ", style),
            (self.tool_name, "bold"),
            (f"  {summary}" if summary else "", "$text-muted"),
            (f"  → {outcome}" if outcome else "", style),
        )

    def _refresh_view(self) -> None:
        if not self.is_mounted:
            return
        self.query_one(".loop-tool-title", Static).update(self._title())
        self.set_class(self.expanded, "-expanded")
        self.set_class(self.status == "error", "-error")
        if self.expanded:
            self.query_one(".loop-tool-args", Static).update(
                Content.assemble(("arguments\n", "bold"), highlight(pretty_args(self.arguments), language="json"))
            )
            body = self.error if self.error else pretty(self.result)
            label = "error\n" if self.error else ("result\n" if self.result is not None else "waiting for the result…")
            shown = Content(body or "") if self.error or not body else highlight(body, language="json")
            self.query_one(".loop-tool-result", Static).update(Content.assemble((label, "bold"), shown))

    def on_mount(self) -> None:
        self._refresh_view()

    def set_status(self, status: str, note: str = "") -> None:
        """Change the state shown in the title (running, waiting, ok, error, declined, cancelled)."""
        self.status = status
        self.note = note
        self._refresh_view()

    def finish(self, result: str | None, error: str | None, note: str = "") -> None:
        """Show the call's result (or error), in place."""
        self.result, self.error = result, error
        self.set_status("error" if error else ("declined" if note == "declined" else "ok"), note)

    def action_toggle(self) -> None:
        """Expand or collapse the arguments and result."""
        self.expanded = not self.expanded
        self._refresh_view()

    def on_click(self) -> None:
        self.focus()
        self.action_toggle()


class Notice(Static):
    """A line from the app itself (auto-accepted, cancelled, paused, undo offered, failures)."""

    def __init__(self, text: str, kind: str = "info") -> None:
        super().__init__(text, classes=f"loop-notice -{kind}", markup=False)
        self.kind = kind
        self.text = text
