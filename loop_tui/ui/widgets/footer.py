"""`PageFooter`: Textual's compact footer, with whole key hints only.

Textual's footer lays its hints out in one row and lets the last ones run under the command-palette hint
docked on the right: at 120 columns the logs page showed "Ask Loo▏^p palette", and in compact mode a
group's label touched the next key ("Pages^o Project"). Here a label keeps a space after it, and a hint
that does not fit whole is hidden (with everything after it, so the order never changes); the palette
hint and the help (`?`) still list every key.
"""

from __future__ import annotations

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

    def on_resize(self) -> None:
        self._refit()

    async def recompose(self) -> None:
        """Rebuild the hints (the bindings changed), then hide those that do not fit."""
        await super().recompose()
        self._refit()

    def _refit(self) -> None:
        # Show every hint, let Textual lay them out, then measure: widths depend on the theme and keymap.
        for child in self.children:
            child.display = True
        self.call_after_refresh(self._hide_overflow)

    def _hide_overflow(self) -> None:
        hints = [child for child in self.children if not child.has_class("-command-palette")]
        palette = [child for child in self.children if child.has_class("-command-palette")]
        right = self.region.right - sum(p.outer_size.width for p in palette)
        overflow = False
        for index, hint in enumerate(hints):
            end = hint.region.right + hint.styles.margin.right
            # A key group and its label ("123456 Pages") fit together or not at all.
            if _is_group(hint) and index + 1 < len(hints):
                end = max(end, hints[index + 1].region.right)
            overflow = overflow or end > right
            if overflow:
                hint.display = False


def _is_group(widget: Widget) -> bool:
    return type(widget).__name__ == "KeyGroup"
