"""`PageFooter`: Textual's compact footer, with whole key hints only.

Textual's footer lays its hints out in one row and lets the last ones run under the command-palette hint
docked on the right: at 120 columns the logs page showed "Ask Loo▏^p palette", and in compact mode a
group's label touched the next key ("Pages^o Project"). Here a label keeps a space after it, and a hint
that does not fit whole is hidden (with everything after it, so the order never changes); the palette
hint and the help (`?`) still list every key.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Footer


class PageFooter(Footer):
    """The footer of every page: compact, never cutting a hint or running two together."""

    DEFAULT_CSS = """
    PageFooter.-compact FooterLabel {
        margin-right: 1;
    }
    """

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._composed_for: Hashable = None

    def on_resize(self) -> None:
        self._refit()

    async def recompose(self) -> None:
        """Rebuild the hints if the keys they show changed, then hide those that do not fit.

        Textual asks for a rebuild on every focus change, and a page that is opening moves focus several
        times (the table's loading line, then its rows): each rebuild made ~25 widgets again for the same
        keys, ~20 ms of the UI thread apiece before the first rows were on screen.
        """
        if not self.is_attached:
            return  # its screen was closed before the rebuild it asked for came round
        if self.children and self._shown_keys() == self._composed_for:
            self._refit()
            return
        await super().recompose()
        self._refit()

    def compose(self) -> ComposeResult:
        # What the hints are made of, read in the same step as Textual's compose reads the bindings: a
        # rebuild that overlapped another (focus moving twice) can never leave a stale record behind.
        # (Each hint passes straight through: a key group collects the keys yielded inside it as they come.)
        self._composed_for = None  # no hints until the screen's keys are ready
        for hint in super().compose():
            if self._composed_for is None:
                self._composed_for = self._shown_keys()
            if self.compact:
                # Born compact: Textual's footer binds each key's `compact` to its own, and the binding
                # setting the class once the key is mounted styled every key a second time (~2 ms apiece).
                hint.add_class("-compact", update=False)
            yield hint

    def _shown_keys(self) -> Hashable:
        """What the hints are made from: each shown binding's key, label, action, group and state."""
        app = self.app
        return (
            self.compact,
            self.show_command_palette,
            tuple(
                (
                    binding.key,
                    app.get_key_display(binding),
                    binding.description,
                    binding.action,
                    binding.group,
                    enabled,
                    tooltip,
                )
                for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
                if binding.show or binding.key == app.COMMAND_PALETTE_BINDING
            ),
        )

    def _refit(self) -> None:
        """Show the hints that fit whole, in order, and hide the rest.

        Widths come from each hint's content and CSS box (margin, padding, border), not from its region on
        screen: regions are only right after a layout pass, and measuring them after a refresh read stale
        ones when the screen was not the active one (a page in the background rebuilding its footer), which
        left "Ask Loo" under the palette hint or a key group without its label.
        """
        width = self.size.width
        if not width:
            return  # not laid out yet: on_resize comes back with a width
        hints = [child for child in self.children if not child.has_class("-command-palette")]
        palette = [child for child in self.children if child.has_class("-command-palette")]
        room = width - sum(self._outer_width(p) for p in palette)
        used = 0
        overflow = False
        for index, hint in enumerate(hints):
            need = self._outer_width(hint)
            # A key group and its label ("123456 Pages") fit together or not at all.
            if _is_group(hint) and index + 1 < len(hints):
                need += self._outer_width(hints[index + 1])
            overflow = overflow or used + need > room
            hint.display = not overflow
            used += self._outer_width(hint)

    def _outer_width(self, widget: Widget) -> int:
        """Columns `widget` takes in the footer row: its content, padding, border and margin."""
        content = widget.get_content_width(Size(self.size.width, 1), self.app.size)
        styles = widget.styles
        return content + styles.gutter.width + styles.margin.width


def _is_group(widget: Widget) -> bool:
    return type(widget).__name__ == "KeyGroup"
