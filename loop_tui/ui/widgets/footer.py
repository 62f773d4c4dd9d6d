"""`PageFooter`: the key hints of every page, in one widget that draws them itself.

It shows what Textual's compact footer shows (the screen's bindings, a key group with its label, the
command palette hint on the right) and acts the same (a click presses the key, a disabled key rings the
bell, a hint's tooltip), with two differences: a hint that does not fit whole is left out, with everything
after it, so the order never changes ("Ask Loo▏^p palette" and "Pages^o Project" were seen with Textual's);
and it is one widget: Textual's footer is a widget per hint (~20 on a page), rebuilt, styled and measured
before a page's first rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import events
from textual.color import Color
from textual.screen import Screen
from textual.widget import Widget

if TYPE_CHECKING:
    from textual.binding import Binding


@dataclass(frozen=True)
class Hint:
    """One clickable key in the footer (a grouped key shows no description; its group's label follows)."""

    key: str
    display: str
    description: str
    enabled: bool
    tooltip: str
    kind: str = "key"
    """"key", "grouped" (one key of a group), or "palette" (the command palette's, on the right)."""


@dataclass(frozen=True)
class _Part:
    """A run of cells: a hint, a group's label, or the space around them."""

    text: str
    role: str  # "space", "label", "key" (a hint), "border" (the palette hint's left edge)
    hint: Hint | None = None

    @property
    def width(self) -> int:
        return cell_len(self.text) if self.hint is None else _hint_width(self.hint)


def _hint_width(hint: Hint) -> int:
    return cell_len(hint.display) + (1 + cell_len(hint.description) if hint.description else 0)


class PageFooter(Widget, can_focus=False):
    """The footer of every page: the screen's key hints, whole ones only, the palette's on the right."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "page-footer--key", "page-footer--description", "page-footer--label", "page-footer--border",
        "page-footer--item", "page-footer--hover",
    }
    """Styled in styles/app.tcss with Textual's footer colours (`$footer-*`)."""

    def __init__(self) -> None:
        super().__init__()
        self._hints: list[list[_Part]] = []  # the hints left to right, a key group with its label as one
        self._palette: list[_Part] = []
        self._hovered: Hint | None = None
        self._shown: list[tuple[int, int, Hint]] = []  # (first cell, end, hint) as last drawn
        self._ready = False  # Textual's footer too shows nothing until the screen's keys are known

    def bindings_changed(self, screen: Screen) -> None:
        """The screen's key bindings may have changed (its `FooterScreen.refresh_bindings` says so)."""
        self._ready = True
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._read_bindings()

    def _read_bindings(self) -> None:
        """Make the hints from the screen's active bindings, as Textual's footer groups them."""
        app = self.app
        active = self.screen.active_bindings
        by_action: defaultdict[str, list[tuple[Binding, bool, str]]] = defaultdict(list)
        for _node, binding, enabled, tooltip in active.values():
            if binding.show:
                by_action[binding.action].append((binding, enabled, tooltip))
        hints: list[list[_Part]] = []
        for group, same_group in groupby(by_action.values(), lambda bindings: bindings[0][0].group):
            actions = list(same_group)
            if group is not None and len(actions) > 1:
                keys = [_Part("", "key", Hint(b.key, app.get_key_display(b), "", enabled, tooltip or b.description,
                                              "grouped")) for b, enabled, tooltip in (a[0] for a in actions)]
                hints.append([_Part(" ", "space"), *keys, _Part(" ", "space"), _Part(group.description, "label"),
                              _Part(" ", "space")])
                continue
            for binding, enabled, tooltip in (a[0] for a in actions):
                hint = Hint(binding.key, app.get_key_display(binding), binding.description, enabled, tooltip)
                hints.append([_Part("", "key", hint), _Part(" ", "space")])
        palette: list[_Part] = []
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, _tooltip = active[app.COMMAND_PALETTE_BINDING]
            hint = Hint(binding.key, app.get_key_display(binding), binding.description, enabled,
                        binding.tooltip or binding.description, "palette")
            palette = [_Part("▏", "border"), _Part("", "key", hint), _Part(" ", "space")]
        if (hints, palette) != (self._hints, self._palette):
            self._hints, self._palette = hints, palette
            self.refresh()

    def render(self) -> Text:
        width = self.size.width
        line = Text(no_wrap=True, end="")
        self._shown = []
        if not self._ready or not width:
            return line
        room = width - sum(part.width for part in self._palette)
        used = 0
        for parts in self._hints:
            if used + sum(part.width for part in parts) > room:
                break  # this hint and every one after it: the order never changes
            for part in parts:
                used = self._draw(line, part, used)
        if self._palette:
            line.append(" " * max(0, room - used), self.rich_style)
            used = max(used, room)
            for part in self._palette:
                used = self._draw(line, part, used)
        return line

    def _draw(self, line: Text, part: _Part, at: int) -> int:
        """Append `part` at cell `at`; returns the cell after it."""
        hint = part.hint
        _, footer = self.background_colors
        if hint is None:
            if part.role == "space":  # a margin: the footer's own colours
                line.append(part.text, self.rich_style)
            elif part.role == "label":
                line.append(part.text, self._part_style("page-footer--label", footer)[0])
            else:  # the palette hint's left edge, on the hint's background
                item = footer + self.get_component_styles("page-footer--item").background
                line.append(part.text, self._part_style("page-footer--border", item)[0])
            return at + part.width
        item = footer + self.get_component_styles("page-footer--item").background
        if hint is self._hovered:
            item = item + self.get_component_styles("page-footer--hover").background
        dim = Style(dim=not hint.enabled)
        line.append(hint.display, self._part_style("page-footer--key", item)[0] + dim)
        if hint.description:
            line.append(" " + hint.description, self._part_style("page-footer--description", item)[0] + dim)
        self._shown.append((at, at + part.width, hint))
        return at + part.width

    def _part_style(self, name: str, under: Color) -> tuple[Style, Color]:
        """The Rich style of component `name` drawn over `under` (its colours blended as Textual blends them),
        and its background."""
        styles = self.get_component_styles(name)
        background = under + styles.background
        color = background + styles.color
        return Style(color=color.rich_color, bgcolor=background.rich_color) + styles.text_style, background

    def _hint_at(self, x: int) -> Hint | None:
        return next((hint for start, end, hint in self._shown if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        hint = self._hint_at(event.x)
        if hint is not self._hovered:
            self._hovered = hint
            self.tooltip = hint.tooltip if hint is not None and hint.tooltip else None
            self.refresh()

    def on_leave(self, event: events.Leave) -> None:
        if self._hovered is not None:
            self._hovered = None
            self.tooltip = None
            self.refresh()

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """A click on a hint presses its key (a disabled one rings the bell), as Textual's footer does."""
        hint = self._hint_at(event.x)
        if hint is None:
            return
        if hint.enabled:
            self.app.simulate_key(hint.key)
        else:
            self.app.bell()

    def on_resize(self) -> None:
        self.refresh()


class FooterScreen(Screen):
    """A screen showing a `PageFooter`: it tells the footer each time Textual refreshes its bindings (a focus
    change, a binding's check, a screen coming back all go through `refresh_bindings`)."""

    def refresh_bindings(self) -> None:
        """Refresh the bindings, then the footer's hints."""
        super().refresh_bindings()
        # Not while the screen is being set up or taken down (as Textual's own footer is told through the
        # screen's bindings signal): its bindings are not the app's to read then.
        if not self.is_attached or not all(node.is_running for node in self.ancestors_with_self):
            return
        for footer in self.query(PageFooter):
            if footer.is_running and footer.is_attached:
                footer.bindings_changed(self)
