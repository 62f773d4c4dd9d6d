"""`ArrowTable`: an Arrow-backed grid (textual-fastdatatable) that can be refilled from a worker.

fastdatatable tables are immutable (its `clear()` raises), so new data means mounting a new table.
The raw result rows are kept beside the display table so a page can read the row under the cursor.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from loop_tui.safe_text import literal, visible
from loop_tui.ui.removal import finish_removal

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
                Binding("right", "scroll_sideways(1)", "Scroll right", show=False, id="grid.right"),
                Binding("left", "scroll_sideways(-1)", "Scroll left", show=False, id="grid.left"),
                Binding("y", "copy_row", "Copy row", show=False, id="grid.copy_row"),
                Binding("Y", "copy_field", "Copy a field", show=False, id="grid.copy_field"),
            ]

            def action_copy_field(self) -> None:
                """Pick one field (cell) of the row under the cursor and copy its full value."""
                from loop_tui.ui.clipboard import copy_out, field_choices
                from loop_tui.ui.widgets.modals import ChoiceModal

                table = self.parent
                row = table.raw_row() if isinstance(table, ArrowTable) else None
                if row is None:
                    self.notify("no row to copy from", severity="warning")
                    return
                choices = field_choices(row)

                def chosen(text: object) -> None:
                    if isinstance(text, str):
                        label = next(label for label, value in choices if value is text)
                        copy_out(self.app, text, f"the field {label.split(':', 1)[0]}")

                self.app.push_screen(ChoiceModal("Copy which field? (enter copies, esc cancels)", choices), chosen)

            def action_copy_row(self) -> None:
                """Copy the row under the cursor as JSON (the stored row, not the cut-down cells)."""
                from loop_tui.ui.clipboard import copy_out, row_json

                table = self.parent
                row = table.raw_row() if isinstance(table, ArrowTable) else None
                if row is None:
                    self.notify("no row to copy", severity="warning")
                    return
                copy_out(self.app, row_json(row), "the row as JSON")

            def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
                """Sideways only while there is more to see that way: at the left edge, left is the page's
                (on the datasets page it goes back to the list)."""
                if action == "scroll_sideways":
                    return self.scroll_x > 0 if parameters[0] == -1 else self.scroll_x < self.max_scroll_x
                return super().check_action(action, parameters)

            def watch_virtual_size(self, old: Any, new: Any) -> None:
                # The grid measures its rows on its first idle, after it is mounted; a screen laid out in
                # between (the page was busy: a reload after Loop's eval, a loaded machine) gave the grid its
                # height from no rows at all, 0 lines, and nothing asked again: an empty box until a resize.
                if old.height != new.height:
                    self.call_after_refresh(self.refresh, layout=True)

            def action_scroll_sideways(self, direction: int) -> None:
                """Scroll a quarter of the view sideways (the grid's own step is a column's two letters)."""
                step = max(4, self.scrollable_content_region.width // 4)
                # Immediately, not after the next refresh: a deferred scroll computed from a stale scroll_x
                # (keys pressed faster than the screen repaints) lost steps, and one that waited on a refresh
                # that did not come never landed.
                self.scroll_to(x=self.scroll_x + direction * step, animate=False, immediate=True)

        _grid_class = Grid
    return _grid_class


# Grid keys a user may press before the first rows arrive (on a page just opened), as grid actions.
_EARLY_KEYS = {
    "j": "cursor_down", "down": "cursor_down", "k": "cursor_up", "up": "cursor_up",
    "g": "scroll_home", "home": "scroll_home", "G": "scroll_end", "end": "scroll_end",
    "pagedown": "page_down", "pageup": "page_up", "enter": "select_cursor",
}


class TableMessage(Static, can_focus=True):
    """Why the table has no grid (loading, empty, an error). It can hold the cursor, so a table that goes
    empty while focused keeps it: page keys keep working instead of focus falling into the next text field.

    While the first rows are loading it also keeps the grid keys typed ahead (j, enter...): they are
    played on the grid once it is shown, so no key is lost on a page that was just opened.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, f"type_ahead('{action}')", show=False) for key, action in _EARLY_KEYS.items()
    ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys are kept only while the table waits for its first rows (otherwise the page's bindings apply)."""
        table = self.parent
        return isinstance(table, ArrowTable) and table.awaiting_rows

    def action_type_ahead(self, action: str) -> None:
        """Remember a grid action to play when the rows arrive."""
        table = self.parent
        if isinstance(table, ArrowTable):
            table.typed_ahead.append(action)


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

    def __init__(
        self,
        *,
        empty_text: str = "Loading…",
        awaiting_rows: bool = True,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.raw: pa.Table | None = None
        self.empty_text = empty_text
        self.awaiting_rows = awaiting_rows
        """True until the first rows (or a message) are shown: grid keys typed meanwhile are kept."""
        self.typed_ahead: list[str] = []
        """Grid actions typed while awaiting the first rows, played when the grid appears."""
        self._generation = 0
        # One replacement at a time: a message and a grid replacing each other at once lost the focus (the
        # second read it while the first had removed the focused widget, and Textual had moved it away).
        self._replacing = asyncio.Lock()

    def compose(self) -> ComposeResult:
        yield TableMessage(self.empty_text, classes="empty-message")

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

    async def show(
        self, display: pa.Table, raw: pa.Table | None = None, *, focus: bool = False, empty_text: str | None = None
    ) -> None:
        """Replace the grid with `display` (its raw rows `raw`, default the same table); with no rows,
        show `empty_text` (default "No rows match.")."""
        async with self._replacing:
            await self._show(display, raw, focus=focus, empty_text=empty_text)

    async def _show(self, display: pa.Table, raw: pa.Table | None, *, focus: bool, empty_text: str | None) -> None:
        self.raw = raw if raw is not None else display
        had_focus = self.has_focus_within
        if focus and not had_focus and self._typing_elsewhere():
            focus = False  # a reload (after Loop wrote, say) never takes the cursor from a field the user types in
        typed_ahead, self.typed_ahead, self.awaiting_rows = self.typed_ahead, [], False
        await finish_removal(self.remove_children())
        if display.num_rows == 0:
            await self._mount_message(empty_text or "No rows match.", had_focus or focus)
            return
        self._generation += 1
        display, widths = _visible_strings(display)
        grid = grid_class()(
            backend=_backend(display, widths),
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
        # Ask for the layout again once the grid is in: on a busy machine a grid was seen mounted with its rows
        # but never laid out (an empty box until the next key), in headless runs under load.
        self.call_after_refresh(self.refresh, layout=True)
        if focus or had_focus:
            self._take_focus(grid)
            for action in typed_ahead:
                await grid.run_action(action)

    def _typing_elsewhere(self) -> bool:
        """Whether the cursor is in a text field outside this table (Loop's chat, a filter)."""
        from textual.widgets import Input, TextArea

        focused = self.screen.focused
        return isinstance(focused, Input | TextArea) and self not in focused.ancestors

    async def show_message(self, text: str) -> None:
        """Replace the grid with a message (an error, or why it is empty)."""
        async with self._replacing:
            self.raw = None
            had_focus = self.has_focus_within
            self.typed_ahead, self.awaiting_rows = [], False
            await finish_removal(self.remove_children())
            await self._mount_message(text, had_focus)

    async def _mount_message(self, text: str, focus: bool) -> None:
        message = TableMessage(literal(text), classes="empty-message")  # may quote the query or the data
        await self.mount(message)
        if focus:
            self._take_focus(message)

    def _take_focus(self, widget: Widget) -> None:
        # At once, not through `focus()` (which waits its turn in the app's queue): when the focused widget was
        # removed just before, Textual gave the focus to a neighbour (the datasets list), and a focus still
        # queued could come before or after that, depending on the machine's load.
        self.screen.set_focus(widget)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.RowChosen(self, event.cursor_row))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.RowHighlighted(self, event.cursor_row))

    def focus_grid(self) -> None:
        """Focus the grid, or the message that stands in for it (so the cursor leaves any text field)."""
        messages = self.query(TableMessage)
        target = self.grid or (messages.first() if messages else None)
        if target is not None:
            target.focus()


def _visible_strings(table: pa.Table) -> tuple[pa.Table, list[int] | None]:
    """`table` with control characters in its string columns made visible (the grid shows strings as they are),
    and the widest cell of each column, in terminal cells, when every column holds strings (else None).

    Pages show one page of rows (hundreds), so a pass in Python costs well under a millisecond per column,
    and a column is only rebuilt when one of its values changed. Measured in the same pass, the grid needs
    no pyarrow.compute to measure them (~50 ms of Python to import, before the page's first rows).
    """
    import pyarrow as pa

    widths: list[int] | None = []
    for index, field in enumerate(table.schema):
        if not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            widths = None
            continue
        values = table.column(index).to_pylist()
        shown = [None if v is None else visible(v) for v in values]
        if shown != values:
            table = table.set_column(index, field, pa.array(shown, type=field.type))
        if widths is not None:
            widths.append(max((_cell_width(v) for v in shown if v is not None), default=0))
    return table, widths


def _cell_width(text: str) -> int:
    """Cells `text` takes in the grid (shown literally, no markup): as fastdatatable measures it."""
    if text.isprintable():  # one line, no control or format characters: its cells are its characters'
        return len(text) if text.isascii() else cell_len(text)
    from textual_fastdatatable.format import measure_width

    return measure_width(text, render_markup=False)


def _backend(display: pa.Table, widths: list[int] | None) -> Any:
    """The grid's Arrow backend over `display`, with its columns' widths when they are known already."""
    global _measured_backend_class
    from textual_fastdatatable import ArrowBackend

    if widths is None:
        return ArrowBackend(display)
    if _measured_backend_class is None:

        class MeasuredBackend(ArrowBackend):
            """An ArrowBackend whose column widths were measured with its rows (see `_visible_strings`)."""

            def __init__(self, data: pa.Table, widths: list[int]) -> None:
                super().__init__(data)
                self.measured_widths = widths

            @property
            def column_content_widths(self) -> list[int]:
                return self.measured_widths

        _measured_backend_class = MeasuredBackend
    return _measured_backend_class(display, widths)


_measured_backend_class: Any = None
