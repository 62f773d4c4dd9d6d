"""A finished answer frozen into its rendered lines: how they are captured and how they are drawn.

`capture_lines` copies what a live Markdown (one widget per block) draws, through Textual's public API
only: each widget's `region` from the screen's last layout and its `render_lines`. `FrozenLines` draws
the copy as one leaf widget, with the mouse selection and links working as in the live Markdown.
"""

from __future__ import annotations

import asyncio
import time

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Markdown

# A frozen line: (text, style number) pairs. Tuples of strings and ints are not tracked by the garbage
# collector, so frozen lines add nothing to its full collections.
FrozenLine = tuple[tuple[str, int], ...]


class FrozenLines(Widget):
    """A finished answer's rendered lines, drawn as they were: one leaf widget instead of a widget per block.

    Text in it can be selected with the mouse (and copied) like any text in the app; links still open.
    """

    DEFAULT_CSS = """
    FrozenLines { height: auto; width: 1fr; background: transparent; }
    """

    def __init__(self, lines: tuple[FrozenLine, ...], styles: list[Style | None], texts: list[str], width: int) -> None:
        super().__init__()
        self.lines = lines
        self.styles_table = styles
        self.texts = texts
        """Each line's plain text (what a selection copies)."""
        self.frozen_width = width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self.lines):
            return Strip.blank(width)
        styles = self.styles_table
        strip = Strip([Segment(text, styles[style]) for text, style in self.lines[y]], self.frozen_width)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(y)) is not None:
            strip = _highlight(strip, self.texts[y], span, self._selection_style())
        if width != self.frozen_width:
            strip = strip.crop_extend(0, width, None)
        return strip.apply_offsets(0, y)  # where each cell is, for the mouse selection

    def _selection_style(self) -> Style:
        """The screen's selection colours. Its text colour is "transparent" by default (keep the text's
        own), which as a Rich style would paint the text in the background colour: then leave it out."""
        screen = self.screen
        style = screen.get_component_rich_style("screen--selection")
        foreground = screen.get_visual_style("screen--selection", partial=True).foreground
        return Style(bgcolor=style.bgcolor, color=style.color if foreground is not None and foreground.a > 0 else None)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text (what is on screen, line by line)."""
        return selection.extract("\n".join(self.texts)), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()

    def action_link(self, href: str) -> None:
        """A link was clicked: open it, as the live Markdown does."""
        self.app.open_url(href)


# One piece of a capture: a widget, the part of it to draw (in its own coordinates) and where that part goes
# on the canvas (x, y from the live widget's top left).
_Piece = tuple[Widget, Region, int, int]

# How long a capture may hold the event loop before it lets the screen and the stream run.
CAPTURE_STEP_S = 0.006


def _plan(live: Widget) -> tuple[Size, list[_Piece]] | None:
    """Where each descendant of `live` is drawn, relative to `live`, or None if the screen's last layout is
    stale: a widget not placed yet or placed at another size."""
    size = live.outer_size
    if not live.display or not size.width or not isinstance(live.parent, Widget):
        return None
    if live.parent.scrollable_content_region.width != size.width:  # laid out at an older width
        return None
    if isinstance(live, Markdown) and live.lock.is_locked:  # an append is still replacing blocks
        return None
    if live.get_content_height(size, size, size.width) + live.gutter.height != size.height:
        return None  # the screen has not laid out the latest blocks yet
    origin = live.region
    if origin.size != size:
        return None
    pieces: list[_Piece] = []
    clips: dict[Widget, Region] = {live: origin}
    for widget in live.walk_children(Widget, with_self=False):
        parent = widget.parent
        clip = clips.get(parent) if isinstance(parent, Widget) else None
        if clip is None or not widget.display:
            continue  # inside a hidden widget, or hidden itself
        if not widget.is_mounted:
            return None  # a block still composing its children
        region = widget.region
        if region.size != widget.outer_size:
            return None  # not placed by the screen's last layout, or placed at an older size
        clips[widget] = visible_part = region.intersection(clip)
        if not visible_part or not widget.visible:
            continue
        crop = visible_part.translate((-region.x, -region.y))
        pieces.append((widget, crop, visible_part.x - origin.x, visible_part.y - origin.y))
    return size, pieces


def _paste(canvas: list[Strip], piece: _Piece, width: int) -> None:
    widget, crop, x, y = piece
    for row, line in enumerate(widget.render_lines(crop), y):
        base = canvas[row]
        canvas[row] = Strip.join([base.crop(0, x), line.crop_extend(0, crop.width, None), base.crop(x + crop.width, width)])


def capture_lines(live: Widget) -> list[Strip] | None:
    """`live`'s lines as the screen draws them (its own and its descendants', each where the screen's last
    layout placed it), or None if that layout is stale.

    Uses only what Textual makes public: each widget's `region` (from the screen's layout) and
    `render_lines`, pasted parents first, clipped to each parent, as the screen's compositor does.
    """
    plan = _plan(live)
    if plan is None:
        return None
    size, pieces = plan
    canvas = live.render_lines(Region(0, 0, size.width, size.height))
    for piece in pieces:
        _paste(canvas, piece, size.width)
    return canvas


async def capture_lines_in_steps(live: Widget, step_s: float = CAPTURE_STEP_S) -> list[Strip] | None:
    """`capture_lines`, letting the event loop run every `step_s` so a long answer never freezes the screen
    while it is copied; None if the layout was stale or changed while it was copied (try again later)."""
    plan = _plan(live)
    if plan is None:
        return None
    size, pieces = plan
    theme = live.app.theme
    canvas = live.render_lines(Region(0, 0, size.width, size.height))
    started = time.perf_counter()
    for piece in pieces:
        _paste(canvas, piece, size.width)
        if time.perf_counter() - started > step_s:
            await asyncio.sleep(0)
            started = time.perf_counter()
    # Scrolling moves every piece alike; only a new width, new blocks or a new theme change the picture.
    again = _plan(live)
    if again is None or again[0] != size or live.app.theme != theme:
        return None
    if [(id(w), crop, x, y) for w, crop, x, y in again[1]] != [(id(w), crop, x, y) for w, crop, x, y in pieces]:
        return None
    return canvas


def compact(strips: list[Strip]) -> tuple[tuple[FrozenLine, ...], list[Style | None]]:
    """Copied lines as (text, style number) pairs and their styles, without the blocks' selection offsets."""
    styles: list[Style | None] = []
    numbers: dict[Style | None, int] = {}
    lines = []
    for strip in strips:
        line = []
        for text, style, _control in strip:
            number = numbers.get(style)
            if number is None:
                number = len(styles)
                numbers[style] = number
                styles.append(_without_offset(style))
            line.append((text, number))
        lines.append(tuple(line))
    return tuple(lines), styles


def _without_offset(style: Style | None) -> Style | None:
    """`style` without the block's text-selection offset (the frozen widget adds its own)."""
    if style is None or "offset" not in (meta := style.meta):
        return style
    rest = {key: value for key, value in meta.items() if key != "offset"}
    plain = style.clear_meta_and_links()
    return plain + Style.from_meta(rest) if rest else plain


def _highlight(strip: Strip, text: str, span: tuple[int, int], style: Style) -> Strip:
    """`strip` with the characters `span` (end -1: to the end of the line) in the selection style."""
    start, end = span
    end = len(text) if end == -1 else min(end, len(text))
    if end <= start:
        return strip
    left, right = cell_len(text[:start]), cell_len(text[:end])
    head, middle, tail = strip.divide([left, right, strip.cell_length])
    # Over the text's own colours (a style applied under them, as `Strip.apply_style` does, was hidden).
    selected = Strip(Segment.apply_style(list(middle), post_style=style), middle.cell_length)
    return Strip.join([head, selected, tail])
