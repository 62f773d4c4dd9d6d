"""The widgets a Loop transcript is made of: user turns, streamed answers, tool cards and notices.

Answers stream through `Markdown.get_stream()` (only the last block is ever re-parsed) and, once a stretch
is finished, freeze into their rendered lines (one cheap widget instead of a widget per block); a tool call
is a one-line card updated in place when its result arrives, expanded with Enter or a click.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.highlight import highlight
from textual.selection import Selection
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from loop_tui.gc_pause import collect_what_the_run_dropped
from loop_tui.safe_text import visible
from loop_tui.ui.failures import WorkerFailures
from loop_tui.ui.loop.frozen import FrozenLines, capture_lines_in_steps, compact
from loop_tui.ui.loop.md_table import LoopMarkdown
from loop_tui.ui.loop.summaries import call_summary, pretty, pretty_args, result_summary
from loop_tui.ui.removal import finish_removal


class UserTurn(Static):
    """What the user asked."""

    def __init__(self, text: str) -> None:
        super().__init__(Content.assemble(("you ", "bold $accent"), visible(text)), classes="loop-user")
        self.text = text


class AssistantAnswer(WorkerFailures, Widget):
    """One stretch of the assistant's answer: streamed into a live `Markdown`, then frozen into its lines.

    While text arrives it goes through `Markdown.get_stream()` into a live Markdown child (only the last
    block is ever re-parsed). Once the stretch is finished and laid out, its rendered lines are copied into
    a `FrozenLines` child and the Markdown (one widget per block) is removed: a long transcript then costs
    one cheap widget per stretch, so layout and garbage collection stay bounded while the tail streams. A
    new width or theme thaws it (a fresh Markdown renders the same text) and it freezes again.
    """

    FREEZE_RETRY_S = 0.1
    COLLECT_AFTER_FREEZE_S = 0.05

    def __init__(self, markdown: str = "", *, classes: str = "") -> None:
        super().__init__(classes=f"loop-answer {classes}".strip())
        markdown = visible(markdown)  # an answer may quote a row's escape sequences
        self._parts: list[str] = [markdown] if markdown else []
        self._chars = len(markdown)
        self._fences = markdown.count("```")
        self._live: Markdown | None = LoopMarkdown(classes="loop-answer-md")
        self._stream: MarkdownStream | None = None
        self._finished = bool(markdown)  # a complete answer (replay, report) freezes once it is laid out
        self._frozen: FrozenLines | None = None
        self._freeze_scheduled = False
        self._freezing = False

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

    @property
    def frozen(self) -> bool:
        """Whether the answer is shown from its copied lines (no live Markdown widgets)."""
        return self._frozen is not None

    @property
    def _frozen_width(self) -> int:
        return self._frozen.frozen_width if self._frozen is not None else 0

    @property
    def rendered_source(self) -> str:
        """The Markdown the widget has taken in so far (the live Markdown's source, or all of it frozen)."""
        if self._frozen is not None or self._live is None:
            return self.text
        return self._live.source

    def compose(self) -> ComposeResult:
        if self._live is not None:
            yield self._live

    async def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        if self._finished and self._live is not None:
            await self._live.update(self.text)
            self._schedule_freeze()

    async def write(self, fragment: str) -> None:
        """Append a fragment through the Markdown stream."""
        if self._stream is None:
            assert self._live is not None, "write after finish"
            self._stream = Markdown.get_stream(self._live)
        fragment = visible(fragment)
        self._parts.append(fragment)
        self._chars += len(fragment)
        self._fences += fragment.count("```")
        await self._stream.write(fragment)

    async def finish(self) -> None:
        """Flush what is pending, stop the stream, and freeze once the last lines are laid out."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            await stream.stop()
            # Textual's MarkdownStream.stop() can return while its last append (shielded from the cancel) still
            # runs; every append holds the Markdown's lock, so it is free once they are all in. A freeze before
            # then copied the answer without its last fragment (seen in CI: 20 words missing from a stretch).
            assert self._live is not None
            async with self._live.lock:
                pass
        self._finished = True
        self._schedule_freeze()

    # ----- freezing ------------------------------------------------------------------------------
    def _schedule_freeze(self) -> None:
        if not self._freeze_scheduled and self._frozen is None:
            self._freeze_scheduled = True
            self.call_after_refresh(self._try_freeze)

    async def _try_freeze(self) -> None:
        self._freeze_scheduled = False
        live = self._live
        if self._freezing or self._frozen is not None or live is None or not self._finished or not self.is_attached:
            return
        self._freezing = True  # the copy lets the event loop run: a second attempt must wait for this one
        try:
            strips = await capture_lines_in_steps(live)
        finally:
            self._freezing = False
        if self._frozen is not None or self._live is not live or not self.is_attached:
            return  # thawed, frozen or removed while the lines were copied
        if strips is None:  # not laid out at this width yet (or hidden): try again shortly
            self.set_timer(self.FREEZE_RETRY_S, self._schedule_freeze)
            return
        lines, styles = compact(strips)
        frozen = FrozenLines(lines, styles, [strip.text.rstrip() for strip in strips], live.outer_size.width)
        self._frozen, self._live = frozen, None
        with self.app.batch_update():  # one frame shows the Markdown, the next the same lines frozen
            live.display = False
            await self.mount(frozen)
        for block in live.walk_children(Widget):
            # Textual keeps a widget's drawing cache referenced after the widget is removed (a class-wide
            # memo of up to 1024 of them): a refresh empties it, so only an empty shell stays behind and
            # full garbage collections do not walk the removed blocks' drawn lines.
            block.refresh()
        await finish_removal(live.remove())
        # A child's layout refresh makes Textual forget its parents' cached arrangements, which would
        # otherwise keep the removed Markdown and all its blocks alive.
        frozen.refresh(layout=True)
        self._forget_lines_out_of_view()
        # The removed blocks are a cycle-bound tree: collect them now, apart from the frames that draw.
        self.set_timer(self.COLLECT_AFTER_FREEZE_S, collect_what_the_run_dropped)

    def _forget_lines_out_of_view(self) -> None:
        """Drop the drawn-line caches of earlier frozen answers scrolled out of view (redrawn on demand)."""
        parent = self.parent
        if not isinstance(parent, Widget):
            return
        view = parent.scrollable_content_region
        for sibling in parent.children:
            if sibling is self:
                break
            if isinstance(sibling, AssistantAnswer) and sibling._frozen is not None and not sibling.region.overlaps(view):
                sibling._frozen.refresh()

    def _theme_changed(self, _theme: object) -> None:
        self._thaw()

    def on_resize(self) -> None:
        if self._frozen is not None and self.size.width != self._frozen.frozen_width:
            self._thaw()
        elif self._frozen is None and self._finished:
            self._schedule_freeze()

    def _thaw(self) -> None:
        """Render the text again through a fresh (hidden until ready) Markdown, then freeze again."""
        if self._frozen is None or self._live is not None:
            return
        live = LoopMarkdown(classes="loop-answer-md")
        live.display = False
        self._live = live
        self.run_worker(self._rebuild(live), group="loop-answer-thaw", exit_on_error=False)

    async def _rebuild(self, live: Markdown) -> None:
        await self.mount(live)
        await live.update(self.text)
        frozen, self._frozen = self._frozen, None
        with self.app.batch_update():
            live.display = True
            if frozen is not None:
                frozen.display = False
        if frozen is not None:
            await finish_removal(frozen.remove())
        self._schedule_freeze()

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The text of a frozen answer (what is on screen, line by line) within `selection`."""
        if self._frozen is None:
            return None
        return self._frozen.get_selection(selection)


class ToolCard(Widget, can_focus=True):
    """A tool call: a one-line summary that expands (Enter / click) to arguments and result."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "toggle_card", "Expand", id="loop.card_toggle", show=False),
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
            (visible(self.tool_name), "bold"),  # the model names the tool, even one that does not exist
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
            shown = Content(visible(body or "")) if self.error or not body else highlight(body, language="json")
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

    def action_toggle_card(self) -> None:
        """Expand or collapse the arguments and result."""
        self.expanded = not self.expanded
        self._refresh_view()

    def on_click(self) -> None:
        self.focus()
        self.action_toggle_card()


class Notice(Static):
    """A line from the app itself (auto-accepted, cancelled, paused, undo offered, failures)."""

    def __init__(self, text: str, kind: str = "info") -> None:
        super().__init__(visible(text), classes=f"loop-notice -{kind}", markup=False)
        self.kind = kind
        self.text = text
