"""Datasets page: the project's datasets (left) and the chosen dataset's rows (right).

Rows are read with `Workspace.read_rows` in a worker. Every edit (add, edit, delete, tag) is one
store write; `h` lists the dataset's writes and undoes one, `u` undoes the latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from loop_tui.errors import UserError
from loop_tui.safe_text import literal
from loop_tui.ui.formatting import fmt_time, parse_json_text, preview
from loop_tui.ui.messages import WorkFailed
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.modals import ConfirmModal, TextPromptModal, if_chosen

MAX_ROWS = 10_000


def dataset_display(raw: Any) -> Any:
    """Display columns for dataset rows."""
    import pyarrow as pa

    rows = raw.select(["input", "expected", "metadata", "tags", "created"]).to_pylist()
    return pa.table(
        {
            "input": [preview(r["input"], 40) for r in rows],
            "expected": [preview(r["expected"], 40) for r in rows],
            "metadata": [preview(r["metadata"], 28) for r in rows],
            "tags": [", ".join(r["tags"] or []) for r in rows],
            "created": [fmt_time(r["created"])[:16] for r in rows],
        }
    )


def row_fields(row: dict[str, Any]) -> dict[str, Any]:
    """A stored dataset row as editable Python values."""
    return {
        "id": row["id"],
        "input": parse_json_text(row.get("input")),
        "expected": parse_json_text(row.get("expected")),
        "metadata": parse_json_text(row.get("metadata")) or {},
        "tags": list(row.get("tags") or []),
    }


class DatasetsScreen(PageScreen):
    """Datasets and their rows."""

    PAGE = "datasets"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "edit_row", "Edit row", show=False, id="datasets.edit"),
        Binding("n", "new_row", "New row", id="datasets.new_row"),
        Binding("x,delete", "delete_row", "Delete row", id="datasets.delete_row"),
        Binding("t", "tag_row", "Tag", id="datasets.tag"),
        Binding("h", "history", "History", id="datasets.history"),
        Binding("u", "undo_last", "Undo", id="datasets.undo"),
        Binding("plus", "new_dataset", "New dataset", id="datasets.new_dataset"),
        Binding("left", "focus_list", "Datasets", show=False, id="datasets.focus_list"),
        Binding("right", "focus_rows", "Rows", show=False, id="datasets.focus_rows"),
    ]

    @dataclass
    class ListLoaded(Message):
        """The project's datasets with row counts."""

        datasets: list[Any]
        counts: dict[str, int]

    @dataclass
    class RowsLoaded(Message):
        """One dataset's rows."""

        dataset_id: str
        raw: Any
        display: Any
        total: int

    @dataclass
    class Written(Message):
        """A write to a dataset (an edit, an undo) was committed: say so and re-read the list."""

        notice: str
        project_id: str

    @dataclass
    class HistoryRead(Message):
        """A dataset's writes, newest first: all of them for `h`, only the latest for `u`."""

        dataset: Any
        entries: list[Any]
        latest_only: bool

    @dataclass
    class DatasetCreated(Message):
        """A new dataset was saved: open it."""

        dataset: Any

    def __init__(self) -> None:
        super().__init__()
        self.datasets: list[Any] = []
        self.current: Any | None = None

    def compose_page(self) -> ComposeResult:
        with Horizontal(id="datasets-body"):
            options = OptionList(id="datasets-list", classes="pane")
            options.border_title = "datasets"
            yield options
            rows = ArrowTable(empty_text="Loading datasets…", awaiting_rows=False, id="dataset-rows", classes="pane")
            rows.border_title = "rows"
            yield rows
        yield Label("enter edit · n new · x delete · t tag · h history/undo · u undo last · + new dataset",
                    id="datasets-status", classes="status-line")

    # ----- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the project's datasets."""
        if self.project is not None:
            self._load_list(self.project.id)

    @work(thread=True, exclusive=True, group="datasets", exit_on_error=False)
    def _load_list(self, project_id: str) -> None:
        datasets = self.workspace.objects("dataset", project_id)
        counts = {
            r["dataset_id"]: int(r["n"])
            for r in self.workspace.query(
                "SELECT dataset_id, count(*) AS n FROM dataset WHERE project_id = ? GROUP BY 1", [project_id]
            )
        }
        self.post_message(self.ListLoaded(datasets, counts))

    @on(ListLoaded)
    def _show_list(self, message: ListLoaded) -> None:
        self.datasets = message.datasets
        options = self.query_one("#datasets-list", OptionList)
        options.clear_options()
        options.add_options(
            [Option(literal(f"{d.name}  ({message.counts.get(d.id, 0)})"), id=d.id) for d in message.datasets]
        )
        if not message.datasets:
            self.call_later(self.query_one(ArrowTable).show_message, "No datasets yet: + creates one.")
            options.focus()
            return
        keep = self.current.id if self.current else None
        index = next((i for i, d in enumerate(message.datasets) if d.id == keep), 0)
        options.highlighted = index
        self._open_dataset(message.datasets[index])

    def show_empty(self, message: str) -> None:
        self.call_later(self.query_one(ArrowTable).show_message, message)

    @on(OptionList.OptionHighlighted, "#datasets-list")
    def _dataset_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        chosen = next((d for d in self.datasets if d.id == event.option.id), None)
        if chosen is not None and (self.current is None or chosen.id != self.current.id):
            self._open_dataset(chosen)

    @on(OptionList.OptionSelected, "#datasets-list")
    def _dataset_selected(self) -> None:
        self.action_focus_rows()

    def _open_dataset(self, dataset: Any) -> None:
        table = self.query_one(ArrowTable)
        if self.current is None or self.current.id != dataset.id:
            # Another dataset's rows must not sit under this one's title while its rows are read.
            self.call_later(table.show_message, "Loading rows…")
            table.border_subtitle = ""
        self.current = dataset
        table.border_title = literal(f"rows of {dataset.name}")
        self._load_rows(dataset.id)

    @work(thread=True, exclusive=True, group="dataset-rows", exit_on_error=False)
    def _load_rows(self, dataset_id: str) -> None:
        raw = self.workspace.read_rows("dataset", dataset_id)
        total = raw.num_rows
        raw = raw.slice(0, MAX_ROWS)
        self.post_message(self.RowsLoaded(dataset_id, raw, dataset_display(raw), total))

    @on(RowsLoaded)
    async def _show_rows(self, message: RowsLoaded) -> None:
        if self.current is None or message.dataset_id != self.current.id:
            return
        table = self.query_one(ArrowTable)
        cursor = table.cursor_row
        await table.show(message.display, message.raw, empty_text="This dataset is empty: n adds a row.")
        shown = f"showing {message.raw.num_rows:,} of {message.total:,}" if message.total > MAX_ROWS else f"{message.total:,} rows"
        table.border_subtitle = shown
        if cursor is not None and table.grid is not None and message.raw.num_rows:
            table.grid.move_cursor(row=min(cursor, message.raw.num_rows - 1))

    # ----- edits ---------------------------------------------------------------------------------
    def _row(self) -> dict[str, Any] | None:
        return self.query_one(ArrowTable).raw_row()

    def loop_context(self) -> dict[str, object]:
        """Loop works on the open dataset and the row under the cursor."""
        if self.current is None:
            return {}
        row = self._row()
        return {"dataset_id": self.current.id, "selected_row_ids": [row["id"]] if row else []}

    def action_focus_list(self) -> None:
        """Focus the datasets list."""
        self.query_one("#datasets-list", OptionList).focus()

    def action_focus_rows(self) -> None:
        """Focus the rows."""
        self.query_one(ArrowTable).focus_grid()

    @on(ArrowTable.RowChosen, "#dataset-rows")
    def action_edit_row(self) -> None:
        """View and edit the row under the cursor."""
        from loop_tui.ui.screens.dataset_row import DatasetRowEditor

        row = self._row()
        if row is None or self.current is None:
            return
        fields = row_fields(row)

        def save(edited: dict[str, Any]) -> None:
            self._write("update", [{"id": row["id"], **edited}], "edit row")

        self.app.push_screen(DatasetRowEditor(fields, f"Row {row['id'][:8]} of {self.current.name}"), if_chosen(save))

    def action_new_row(self) -> None:
        """Add a row."""
        from loop_tui.ui.screens.dataset_row import DatasetRowEditor

        if self.current is None:
            self.notify("choose or create a dataset first", severity="warning")
            return
        self.app.push_screen(
            DatasetRowEditor(None, f"New row in {self.current.name}"),
            if_chosen(lambda new: self._write("insert", [new], "add row")),
        )

    def action_delete_row(self) -> None:
        """Delete the row under the cursor (undoable)."""
        row = self._row()
        if row is None:
            return
        self.app.push_screen(
            ConfirmModal("Delete this row?", preview(row.get("input"), 70) + "\n(undo with u)"),
            if_chosen(lambda _yes: self._write("delete", [row["id"]], "delete row")),
        )

    def action_tag_row(self) -> None:
        """Add tags to the row under the cursor."""
        row = self._row()
        if row is None:
            return

        def add_tags(text: str | None) -> None:
            new = [t.strip() for t in (text or "").split(",") if t.strip()]
            if new:
                tags = list(dict.fromkeys([*(row.get("tags") or []), *new]))
                self._write("update", [{"id": row["id"], "tags": tags}], "tag row")

        self.app.push_screen(TextPromptModal("Add tags (comma separated)", placeholder="needs-review, hard"), add_tags)

    def _write(self, op: str, payload: list[Any], description: str) -> None:
        if self.current is not None:
            self._write_rows(self.current, op, payload, description)

    @work(thread=True, exclusive=False, group="dataset-write", exit_on_error=False)
    def _write_rows(self, dataset: Any, op: str, payload: list[Any], description: str) -> None:
        ws = self.workspace
        try:
            if op == "insert":
                ws.insert_rows("dataset", dataset.id, payload, project_id=dataset.project_id, description=description)
            elif op == "update":
                ws.update_rows("dataset", dataset.id, payload, project_id=dataset.project_id, description=description)
            else:
                ws.delete_rows("dataset", dataset.id, payload, project_id=dataset.project_id, description=description)
        except UserError as exc:  # anything else is a bug: WorkerFailures logs it
            self.post_message(WorkFailed("datasets", str(exc)))
            return
        self.post_message(self.Written(f"{description}: saved (u undoes)", dataset.project_id))

    @on(Written)
    def _written(self, message: Written) -> None:
        self.notify(message.notice)
        self._load_list(message.project_id)

    def action_history(self) -> None:
        """List this dataset's writes; enter undoes one."""
        if self.current is not None:
            self._read_history(self.current, limit=200)

    def action_undo_last(self) -> None:
        """Undo the latest write to this dataset."""
        if self.current is not None:
            self._read_history(self.current, limit=1)

    @work(thread=True, exclusive=True, group="dataset-history", exit_on_error=False)
    def _read_history(self, dataset: Any, limit: int) -> None:
        entries = self.workspace.history(table="dataset", object_id=dataset.id, limit=limit)
        self.post_message(self.HistoryRead(dataset, entries, latest_only=limit == 1))

    @on(HistoryRead)
    def _offer_undo(self, message: HistoryRead) -> None:
        from loop_tui.ui.screens.history import HistoryModal

        project_id = message.dataset.project_id
        if not message.latest_only:
            self.app.push_screen(
                HistoryModal(message.entries, f"History of {message.dataset.name}"),
                if_chosen(lambda xact: self._undo(xact, project_id)),
            )
            return
        if not message.entries:
            self.notify("nothing to undo")
            return
        entry = message.entries[0]
        self.app.push_screen(
            ConfirmModal(f"Undo “{entry.description or entry.op}” ({entry.count} rows)?"),
            if_chosen(lambda _yes: self._undo(entry.xact_id, project_id)),
        )

    @work(thread=True, exclusive=False, group="dataset-write", exit_on_error=False)
    def _undo(self, xact_id: int, project_id: str) -> None:
        try:
            self.workspace.undo(xact_id)
        except UserError as exc:  # anything else is a bug: WorkerFailures logs it
            self.post_message(WorkFailed("undo", str(exc)))
            return
        self.post_message(self.Written(f"undid write {xact_id}", project_id))

    def action_new_dataset(self) -> None:
        """Create a dataset."""

        def create(name: str | None) -> None:
            if name and self.project is not None:
                self._create_dataset(name, self.project.id)

        self.app.push_screen(TextPromptModal("Name of the new dataset"), create)

    @work(thread=True, exclusive=False, group="dataset-write", exit_on_error=False)
    def _create_dataset(self, name: str, project_id: str) -> None:
        try:
            created = self.workspace.save_object("dataset", project_id, name, {"description": "", "metadata": {}})
        except UserError as exc:  # anything else is a bug: WorkerFailures logs it
            self.post_message(WorkFailed("datasets", str(exc)))
            return
        self.post_message(self.DatasetCreated(created))

    @on(DatasetCreated)
    def _open_created(self, message: DatasetCreated) -> None:
        self.current = message.dataset
        self._load_list(message.dataset.project_id)


def _pushed() -> tuple[type, ...]:
    from loop_tui.ui.screens.dataset_row import DatasetRowEditor
    from loop_tui.ui.screens.history import HistoryModal

    return (DatasetRowEditor, HistoryModal)


PAGE_SCREEN = DatasetsScreen
PUSHED_SCREENS = _pushed()
