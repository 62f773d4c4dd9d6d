"""The widgets a Loop transcript is made of: user turns, streamed answers, tool cards and notices.

Answers stream through `Markdown.get_stream()` (only the last block is ever re-parsed) and, once a stretch
is finished, freeze into their rendered lines (one cheap widget instead of a widget per block); a tool call
is a one-line card updated in place when its result arrives, expanded with Enter or a click.
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual._compositor import Compositor
from textual._styles_cache import StylesCache
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.highlight import highlight
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from loop_tui.safe_text import visible
from loop_tui.ui.failures import WorkerFailures
from loop_tui.ui.loop.md_table import LoopMarkdown
from loop_tui.ui.loop.summaries import call_summary, pretty, pretty_args, result_summary


class UserTurn(Static):
    """What the user asked."""

    def __init__(self, text: str) -> None:
        super().__init__(Content.assemble(("you ", "bold $accent"), visible(text)), classes="loop-user")
        self.text = text


class AssistantAnswer(WorkerFailures, Widget):
    """One stretch of the assistant's answer: streamed into a live `Markdown`, then frozen into its lines.

    While text arrives it goes through `Markdown.get_stream()` into a live Markdown child (only the last
    block is ever re-parsed). Once the stretch is finished and laid out, its rendered lines are copied and
    the Markdown (one widget per block) is removed: a long transcript then costs one cheap widget per
    stretch, so layout and garbage collection stay bounded while the tail streams. A new width or theme
    thaws it (a fresh Markdown renders the same text) and it freezes again.
    """

    FREEZE_RETRY_S = 0.1

    def __init__(self, markdown: str = "", *, classes: str = "") -> None:
        super().__init__(classes=f"loop-answer {classes}".strip())
        markdown = visible(markdown)  # an answer may quote a row's escape sequences
        self._parts: list[str] = [markdown] if markdown else []
        self._chars = len(markdown)
        self._fences = markdown.count("```")
        self._live: Markdown | None = LoopMarkdown(classes="loop-answer-md")
        self._stream: MarkdownStream | None = None
        self._finished = bool(markdown)  # a complete answer (replay, report) freezes once it is laid out
        # The frozen rendering: per line, (text, style number) pairs. Tuples of strings and ints are not
        # tracked by the garbage collector, so frozen lines add nothing to its full collections.
        self._lines: tuple[tuple[tuple[str, int], ...], ...] | None = None
        self._styles: list[Style | None] = []
        self._line_texts: list[str] = []
        self._frozen_width = 0
        self._freeze_scheduled = False

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
        return self._lines is not None

    @property
    def rendered_source(self) -> str:
        """The Markdown the widget has taken in so far (the live Markdown's source, or all of it frozen)."""
        if self._lines is not None or self._live is None:
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
        self._finished = True
        self._schedule_freeze()

    # ----- freezing ------------------------------------------------------------------------------
    def _schedule_freeze(self) -> None:
        if not self._freeze_scheduled and self._lines is None:
            self._freeze_scheduled = True
            self.call_after_refresh(self._try_freeze)

    async def _try_freeze(self) -> None:
        self._freeze_scheduled = False
        live = self._live
        if self._lines is not None or live is None or not self._finished or not self.is_attached:
            return
        strips = self._capture(live)
        if strips is None:  # not laid out at this width yet (or hidden): try again shortly
            self.set_timer(self.FREEZE_RETRY_S, self._schedule_freeze)
            return
        self._lines, self._styles = _compact(strips)
        self._line_texts = [strip.text.rstrip() for strip in strips]
        self._frozen_width = live.outer_size.width
        self._live = None
        self._styles_cache.clear()
        self.refresh(layout=True)
        self._forget_lines_out_of_view()
        await live.remove()
        # Textual caches the child list and the last arrangements and refreshes them only when they are
        # read again; a frozen answer has no children, so nothing would, and they would keep the removed
        # Markdown and all its blocks alive.
        _ = self.displayed_children
        self._clear_arrangement_cache()
        # Textual 8.2.8 memoises `StylesCache.get_inner_outer` on the instance (an lru_cache of 1024 entries on
        # a method), which keeps removed widgets' rendered lines alive: the streamed Markdown replaces its last
        # block on every append, so forget them here (the cache holds two Styles per entry, cheap to rebuild).
        StylesCache.get_inner_outer.cache_clear()

    def _capture(self, live: Markdown) -> list[Strip] | None:
        """The live Markdown's lines exactly as the screen draws them, or None if its layout is stale."""
        size = live.outer_size
        if not live.display or not size.width or size.width != self.size.width:
            return None
        if live.lock.is_locked:  # an append is still replacing blocks (a stopped stream lets it finish)
            return None
        blocks = list(live.walk_children(with_self=False))
        if not all(block.is_mounted for block in blocks):  # a block still composing its children
            return None
        if live.get_content_height(size, size, size.width) + live.gutter.height != size.height:
            return None  # the screen has not laid out the latest blocks yet
        compositor = Compositor()
        compositor.reflow(live, size)
        placed = compositor.full_map
        for block in blocks:
            # Each block renders from what the screen last laid out: copy only if every block is placed
            # and every size agrees with that layout.
            geometry = placed.get(block)
            if geometry is None:
                if block.display and block.parent is not None and block.parent.display:
                    return None
            elif geometry.region.size != block.outer_size:
                return None
        return compositor.render_strips(size)

    def _forget_lines_out_of_view(self) -> None:
        """Drop the drawn-line caches of earlier frozen answers scrolled out of view (redrawn on demand)."""
        parent = self.parent
        if not isinstance(parent, Widget):
            return
        view = parent.scrollable_content_region
        for sibling in parent.children:
            if sibling is self:
                break
            if isinstance(sibling, AssistantAnswer) and sibling.frozen and not sibling.region.overlaps(view):
                sibling._styles_cache.clear()

    def _theme_changed(self, _theme: object) -> None:
        self._thaw()

    def on_resize(self) -> None:
        if self._lines is not None and self.size.width != self._frozen_width:
            self._thaw()
        elif self._lines is None and self._finished:
            self._schedule_freeze()

    def _thaw(self) -> None:
        """Render the text again through a fresh (hidden until ready) Markdown, then freeze again."""
        if self._lines is None or self._live is not None:
            return
        live = LoopMarkdown(classes="loop-answer-md")
        live.display = False
        self._live = live
        self.run_worker(self._rebuild(live), group="loop-answer-thaw", exit_on_error=False)

    async def _rebuild(self, live: Markdown) -> None:
        await self.mount(live)
        await live.update(self.text)
        with self.app.batch_update():
            live.display = True
            self._lines = None
            self._line_texts = []
            self._styles_cache.clear()
            self.refresh(layout=True)
        self._schedule_freeze()

    # ----- drawing the frozen lines --------------------------------------------------------------
    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self._lines is not None:
            return len(self._lines)
        return super().get_content_height(container, viewport, width)

    def render_line(self, y: int) -> Strip:
        if self._lines is None:
            return super().render_line(y)
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width)
        styles = self._styles
        strip = Strip([Segment(text, styles[style]) for text, style in self._lines[y]], self._frozen_width)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(y)) is not None:
            strip = _highlight(strip, self._line_texts[y], span, self.screen.get_component_rich_style("screen--selection"))
        if width != self._frozen_width:
            strip = strip.crop_extend(0, width, None)
        return strip.apply_offsets(0, y)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text of a frozen answer (what is on screen, line by line)."""
        if self._lines is None:
            return None
        return selection.extract("\n".join(self._line_texts)), "\n"

    def action_link(self, href: str) -> None:
        """A link in a frozen answer was clicked: open it, as the live Markdown does."""
        self.app.open_url(href)

    def selection_updated(self, selection: Selection | None) -> None:
        if self._lines is not None:
            self._styles_cache.clear()
            self.refresh()


def _compact(strips: list[Strip]) -> tuple[tuple[tuple[tuple[str, int], ...], ...], list[Style | None]]:
    """Copied lines as (text, style number) pairs and their styles, without the blocks' selection offsets."""
    styles: list[Style | None] = []
    numbers: dict[Style | None, int] = {}
    lines = []
    for strip in strips:
        line = []
        for text, style, _control in strip:
            if style is not None and style._meta:  # drop the block's text-selection offset (we add ours)
                meta = {key: value for key, value in style.meta.items() if key != "offset"}
                plain = style.clear_meta_and_links()
                style = plain + Style.from_meta(meta) if meta else plain
            number = numbers.get(style)
            if number is None:
                number = numbers[style] = len(styles)
                styles.append(style)
            line.append((text, number))
        lines.append(tuple(line))
    return tuple(lines), styles


def _highlight(strip: Strip, text: str, span: tuple[int, int], style: Style) -> Strip:
    """`strip` with the characters `span` (end -1: to the end of the line) in the selection style."""
    start, end = span
    end = len(text) if end == -1 else min(end, len(text))
    if end <= start:
        return strip
    left, right = cell_len(text[:start]), cell_len(text[:end])
    head, middle, tail = strip.divide([left, right, strip.cell_length])
    return Strip.join([head, middle.apply_style(style), tail])


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
        super().__init__(visible(text), classes=f"loop-notice -{kind}", markup=False)
        self.kind = kind
        self.text = text
