"""`ArrowTable`: an Arrow-backed grid (textual-fastdatatable) that can be refilled from a worker.

fastdatatable tables are immutable (its `clear()` raises), so new data means mounting a new table.
The raw result rows are kept beside the display table so a page can read the row under the cursor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from loop_tui.safe_text import literal, visible

if TYPE_CHECKING:
    import pyarrow as pa
    from textual_fastdatatable import DataTable

_grid_class: type | None = None


def grid_class() -> type:
    """The grid widget class, built on first use: importing fastdatatable imports pyarrow (~120 ms),
    which must not delay the app's first frame."""
    global _grid_class
    if _grid_class is None:
        from textual_fastdatatable import DataTable

        class Grid(DataTable):
            """fastdatatable with the list keys users expect (j/k, g/G)."""

            BINDINGS: ClassVar[list[BindingType]] = [
                Binding("j", "cursor_down", "Down", show=False, id="grid.down"),
                Binding("k", "cursor_up", "Up", show=False, id="grid.up"),
                Binding("g", "scroll_home", "Top", show=False, id="grid.top"),
                Binding("G", "scroll_end", "Bottom", show=False, id="grid.bottom"),
            ]

        _grid_class = Grid
    return _grid_class


class ArrowTable(Vertical):
    """A labelled, replaceable Arrow grid; posts `RowChosen` on enter."""

    class _RowMessage(Message):
        """Something happened on row `index` of `table`."""

        def __init__(self, table: ArrowTable, index: int) -> None:
            super().__init__()
            self.table = table
            self.index = index

        @property
        def control(self) -> ArrowTable:
            """The table."""
            return self.table

    class RowChosen(_RowMessage):
        """The user pressed enter on a row."""

    class RowHighlighted(_RowMessage):
        """The cursor moved to a row."""

    def __init__(self, *, empty_text: str = "Loading…", id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.raw: pa.Table | None = None
        self.empty_text = empty_text
        self._generation = 0

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(self.empty_text, classes="empty-message")

    @property
    def grid(self) -> DataTable | None:
        """The current grid, if data was shown."""
        grids = self.query("Grid")
        return grids.first() if grids else None  # type: ignore[return-value]

    @property
    def row_count(self) -> int:
        """Rows shown."""
        return 0 if self.raw is None else self.raw.num_rows

    @property
    def cursor_row(self) -> int | None:
        """The row under the cursor."""
        grid = self.grid
        return grid.cursor_row if grid is not None and self.row_count else None

    def raw_row(self, index: int | None = None) -> dict[str, Any] | None:
        """The raw result row at `index` (default: under the cursor) as a dict."""
        index = self.cursor_row if index is None else index
        if self.raw is None or index is None or not 0 <= index < self.raw.num_rows:
            return None
        return self.raw.slice(index, 1).to_pylist()[0]

    async def show(self, display: pa.Table, raw: pa.Table | None = None, *, focus: bool = False) -> None:
        """Replace the grid with `display` (its raw rows `raw`, default the same table)."""
        self.raw = raw if raw is not None else display
        had_focus = self.has_focus_within
        await self.remove_children()
        if display.num_rows == 0:
            await self.mount(Static(self.empty_text if self.raw is None else "No rows match.", classes="empty-message"))
            return
        from textual_fastdatatable import ArrowBackend

        self._generation += 1
        display = _visible_strings(display)
        grid = grid_class()(
            backend=ArrowBackend(display),
            # str labels would be parsed as markup: a column named `[/` (a BTQL alias, a metadata key) is data
            column_labels=[literal(name) for name in display.column_names],
            cursor_type="row",
            zebra_stripes=True,
            show_row_labels=False,
            max_column_content_width=60,
            render_markup=False,
            null_rep="∅",
            id=f"grid-{self._generation}",
        )
        await self.mount(grid)
        if focus or had_focus:
            grid.focus()

    async def show_message(self, text: str) -> None:
        """Replace the grid with a message (an error, or why it is empty)."""
        self.raw = None
        await self.remove_children()
        await self.mount(Static(literal(text), classes="empty-message"))  # may quote the query or the data

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.RowChosen(self, event.cursor_row))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.RowHighlighted(self, event.cursor_row))

    def focus_grid(self) -> None:
        """Focus the grid (if there is one)."""
        grid = self.grid
        if grid is not None:
            grid.focus()


def _visible_strings(table: pa.Table) -> pa.Table:
    """`table` with control characters in its string columns made visible (the grid shows strings as they are).

    Pages show one page of rows (hundreds), so a pass in Python costs well under a millisecond per column,
    and a column is only rebuilt when one of its values changed.
    """
    import pyarrow as pa

    for index, field in enumerate(table.schema):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            continue
        values = table.column(index).to_pylist()
        shown = [None if v is None else visible(v) for v in values]
        if shown != values:
            table = table.set_column(index, field, pa.array(shown, type=field.type))
    return table
