"""Markdown for Loop's answers: tables that stay readable in a narrow side panel.

Textual's Markdown table shrinks every column with an ellipsis when the panel is narrower than the table,
so in a 50-column chat panel a six-column score table showed "0.7…" and "-0.…": the numbers, which are
the point, were cut. `ResponsiveTable` keeps the grid while it fits and otherwise shows each row as one
stacked entry ("**Factuality** · mean 0.73 · diff -0.16 · …") that wraps instead of truncating.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Markdown, Static
from textual.widgets._markdown import MarkdownBlock, MarkdownTable, MarkdownTableContent

# Per column: the cell padding (one each side) and the grid gutter of Textual's table (between columns).
_COLUMN_CHROME = 3


class ResponsiveTable(MarkdownTable):
    """A Markdown table that stacks its rows when the width cannot show every column in full."""

    DEFAULT_CSS = """
    ResponsiveTable > .loop-table-stacked {
        display: none;
        height: auto;
        padding: 0 1;
    }
    ResponsiveTable.-stacked > MarkdownTableContent { display: none; }
    ResponsiveTable.-stacked > .loop-table-stacked { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield Static(self._stacked(), classes="loop-table-stacked")

    def natural_width(self) -> int:
        """The width the grid needs to show every cell in full."""
        columns = [self._headers, *self._rows]
        widths = [0] * max((len(r) for r in columns), default=0)
        for row in columns:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell.cell_length)
        return sum(w + _COLUMN_CHROME for w in widths) - 1 if widths else 0  # no gutter after the last

    def _stacked(self) -> Content:
        """Each row as one entry: its first cell in bold, then `header value` pairs."""
        entries = []
        for row in self._rows:
            if not row:
                continue
            parts = [Content.styled(row[0].plain, "bold")]
            for header, cell in zip(self._headers[1:], row[1:], strict=False):
                label = header.plain.strip()
                parts.append(Content.assemble((f"{label} ", "dim"), cell) if label else cell)
            entries.append(Content(" · ").join(parts))
        return Content("\n").join(entries)

    def _choose_layout(self) -> None:
        width = self.content_size.width or self.size.width
        self.set_class(bool(width) and self.natural_width() > width, "-stacked")

    def on_resize(self, _: events.Resize) -> None:
        self._choose_layout()

    async def _update_from_block(self, block: MarkdownBlock) -> None:
        await super()._update_from_block(block)  # a streamed table gains rows in place
        if self.is_attached:
            for stacked in self.query(".loop-table-stacked").results(Static):
                stacked.update(self._stacked())
            self._choose_layout()


class LoopMarkdown(Markdown):
    """Markdown with `ResponsiveTable` for tables."""

    BLOCKS = {**Markdown.BLOCKS, "table_open": ResponsiveTable}


__all__ = ["LoopMarkdown", "MarkdownTableContent", "ResponsiveTable"]
