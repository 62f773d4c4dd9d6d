"""Markdown for Loop's answers: tables that stay readable in a narrow side panel.

Textual's Markdown table shrinks every column with an ellipsis when the panel is narrower than the table,
so in a 50-column chat panel a six-column score table showed "0.7…" and "-0.…": the numbers, which are
the point, were cut. `ResponsiveTable` keeps the grid while it fits and otherwise shows each row as one
stacked entry ("**Factuality** · mean 0.73 · diff -0.16 · …") that wraps instead of truncating.

Built on Textual's public Markdown API only: `Markdown.BLOCKS` names the block class for each token, a
`MarkdownBlock` receives its inline text through `set_content` and hands over its child blocks from
`compose`. The grid is drawn like Textual's own table (same layout and styles).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from textual import events
from textual.app import ComposeResult
from textual.content import Content
from textual.layout import Layout
from textual.layouts.grid import GridLayout
from textual.widget import Widget
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownBlock

# Per column: the cell padding (one each side) and the grid gutter of the table (between columns).
_COLUMN_CHROME = 3


class TableRow(MarkdownBlock):
    """A table row while parsing (never mounted: `ResponsiveTable` reads its cells)."""


class TableCell(MarkdownBlock):
    """A body cell while parsing: keeps the inline content the parser gives it."""

    cell: Content = Content()

    def set_content(self, content: Content) -> None:
        self.cell = content
        super().set_content(content)


class TableHeaderCell(TableCell):
    """A header cell while parsing."""


class TableCellView(Static):
    """One cell of the grid; a link in it opens like any link in the Markdown."""

    def action_link(self, href: str) -> None:
        """Pass a clicked link on to the Markdown, as its other blocks do."""
        markdown = next((node for node in self.ancestors if isinstance(node, Markdown)), None)
        if markdown is not None:
            self.post_message(Markdown.LinkClicked(markdown, href))


class TableGrid(Widget):
    """The table as a grid, laid out and styled as Textual's Markdown table."""

    DEFAULT_CSS = """
    TableGrid {
        width: 1fr;
        height: auto;
        layout: grid;
        grid-columns: auto;
        grid-rows: auto;
        grid-gutter: 1 1;
        keyline: thin $foreground 20%;

        & > .cell {
            margin: 0 0;
            height: auto;
            padding: 0 1;
            text-overflow: ellipsis;
        }
        & > .header {
            height: auto;
            margin: 0 0;
            padding: 0 1;
            color: $primary;
            text-overflow: ellipsis;
            content-align: left bottom;
        }
    }
    """

    def __init__(self, headers: list[Content], rows: list[list[Content]]) -> None:
        super().__init__()
        self.headers = headers
        self.rows = rows

    def pre_layout(self, layout: Layout) -> None:
        if isinstance(layout, GridLayout):  # columns as wide as their cells, shrunk to fit the width
            layout.auto_minimum = True
            layout.expand = not self.styles.is_auto_width
            layout.shrink = True
            layout.stretch_height = True

    def compose(self) -> ComposeResult:
        for header in self.headers:
            yield TableCellView(header, classes="header").with_tooltip(header)
        for row_index, row in enumerate(self.rows, 1):
            for cell in row:
                yield TableCellView(cell, classes=f"row{row_index} cell").with_tooltip(cell.plain)

    def on_mount(self) -> None:
        self.styles.grid_size_columns = max(1, len(self.headers))


class ResponsiveTable(MarkdownBlock):
    """A Markdown table that stacks its rows when the width cannot show every column in full."""

    DEFAULT_CSS = """
    ResponsiveTable {
        width: 1fr;
        margin-bottom: 1;
        &:light { background: white 30%; }
    }
    ResponsiveTable > .loop-table-stacked {
        display: none;
        height: auto;
        padding: 0 1;
    }
    ResponsiveTable.-stacked > TableGrid { display: none; }
    ResponsiveTable.-stacked > .loop-table-stacked { display: block; }
    """

    headers: list[Content] = []
    rows: list[list[Content]] = []

    def compose(self) -> ComposeResult:
        self.headers, self.rows = _headers_and_rows(super().compose())
        yield TableGrid(self.headers, self.rows)
        yield Static(self._stacked(), classes="loop-table-stacked")

    def natural_width(self) -> int:
        """The width the grid needs to show every cell in full."""
        columns = [self.headers, *self.rows]
        widths = [0] * max((len(r) for r in columns), default=0)
        for row in columns:
            for i, cell in enumerate(row):
                widths[i] = max(widths[i], cell.cell_length)
        return sum(w + _COLUMN_CHROME for w in widths) - 1 if widths else 0  # no gutter after the last

    def _stacked(self) -> Content:
        """Each row as one entry: its first cell in bold, then `header value` pairs."""
        entries = []
        for row in self.rows:
            if not row:
                continue
            parts = [Content.styled(row[0].plain, "bold")]
            for header, cell in zip(self.headers[1:], row[1:], strict=False):
                label = header.plain.strip()
                parts.append(Content.assemble((f"{label} ", "dim"), cell) if label else cell)
            entries.append(Content(" · ").join(parts))
        return Content("\n").join(entries)

    def _choose_layout(self) -> None:
        width = self.content_size.width or self.size.width
        self.set_class(bool(width) and self.natural_width() > width, "-stacked")

    def on_mount(self) -> None:
        self._choose_layout()

    def on_resize(self, _: events.Resize) -> None:
        self._choose_layout()


def _blocks_under(blocks: Iterable[Widget]) -> Iterator[Widget]:
    """Every block below `blocks`, depth first (each parsed block hands over its children from `compose`)."""
    for block in blocks:
        yield block
        if isinstance(block, MarkdownBlock):
            yield from _blocks_under(list(block.compose()))


def _headers_and_rows(blocks: Iterable[Widget]) -> tuple[list[Content], list[list[Content]]]:
    headers: list[Content] = []
    rows: list[list[Content]] = []
    for block in _blocks_under(blocks):
        if isinstance(block, TableHeaderCell):
            headers.append(block.cell)
        elif isinstance(block, TableRow):
            rows.append([])
        elif isinstance(block, TableCell) and rows:
            rows[-1].append(block.cell)
    return headers, [row for row in rows if row]  # the header row holds header cells only


class LoopMarkdown(Markdown):
    """Markdown with `ResponsiveTable` for tables."""

    BLOCKS = {
        **Markdown.BLOCKS,
        "table_open": ResponsiveTable,
        "tr_open": TableRow,
        "th_open": TableHeaderCell,
        "td_open": TableCell,
    }


__all__ = ["LoopMarkdown", "ResponsiveTable", "TableGrid"]
