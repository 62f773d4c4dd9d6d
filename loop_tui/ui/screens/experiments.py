"""Experiments page: every experiment of the project with score means, diffs vs base and histograms.

Enter opens an experiment; space marks experiments and `c` compares the marked ones (2+) side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Label

from loop_tui.safe_text import literal
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.arrow_table import ArrowTable


class ExperimentsScreen(PageScreen):
    """The list of experiments."""

    PAGE = "experiments"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "mark", "Mark", id="experiments.mark"),
        Binding("c", "compare", "Compare marked", id="experiments.compare"),
        Binding("r", "refresh", "Refresh", show=False, id="experiments.refresh"),
    ]

    @dataclass
    class ListLoaded(Message):
        """The experiments and their display table."""

        display: Any
        experiments: list[Any]

    def __init__(self) -> None:
        super().__init__()
        self.experiments: list[Any] = []
        self.marked: list[str] = []

    def compose_page(self) -> ComposeResult:
        table = ArrowTable(empty_text="Loading experiments…", id="experiments-table", classes="pane")
        table.border_title = "experiments · score mean, Δ vs base, histogram of row scores (0 → 1)"
        yield table
        yield Label("enter opens · space marks · c compares the marked experiments", id="experiments-status",
                    classes="status-line")

    def load(self) -> None:
        """Read the project's experiments."""
        if self.project is not None:
            self.marked = []
            self._load_list(self.project.id)

    @work(thread=True, exclusive=True, group="experiments", exit_on_error=False)
    def _load_list(self, project_id: str) -> None:
        from loop_tui.ui.experiments_data import experiments_table

        display, experiments = experiments_table(self.workspace, project_id)  # a failure: see WorkerFailures
        self.post_message(self.ListLoaded(display, experiments))

    @on(ListLoaded)
    async def _show_list(self, message: ListLoaded) -> None:
        self.experiments = message.experiments
        table = self.query_one(ArrowTable)
        if not message.experiments:
            await table.show_message("No experiments yet. Run one from the Playground (1) or `loop-tui eval`.")
            return
        await table.show(message.display, focus=True)
        self._show_marks()

    def show_empty(self, message: str) -> None:
        self.call_later(self.query_one(ArrowTable).show_message, message)

    def _current(self) -> Any | None:
        index = self.query_one(ArrowTable).cursor_row
        return self.experiments[index] if index is not None and index < len(self.experiments) else None

    def loop_context(self) -> dict[str, object]:
        """Loop works on the experiment under the cursor."""
        exp = self._current()
        return {"experiment_id": exp.id} if exp is not None else {}

    def _show_marks(self) -> None:
        names = [e.name for e in self.experiments if e.id in self.marked]
        text = f"marked: {', '.join(names)} · c compares" if names else "enter opens · space marks · c compares"
        self.query_one("#experiments-status", Label).update(literal(text))

    def action_mark(self) -> None:
        """Mark or unmark the experiment under the cursor for comparison."""
        exp = self._current()
        if exp is None:
            return
        if exp.id in self.marked:
            self.marked.remove(exp.id)
        else:
            self.marked.append(exp.id)
        self._show_marks()

    def action_compare(self) -> None:
        """Compare the marked experiments (the first marked is the base)."""
        if len(self.marked) < 2:
            self.notify("mark two or more experiments with space first", severity="warning")
            return
        from loop_tui.ui.screens.compare import CompareScreen

        chosen = [e for e_id in self.marked for e in self.experiments if e.id == e_id]
        self.app.push_screen(CompareScreen(chosen))

    def action_refresh(self) -> None:
        """Reload the list."""
        self.mark_stale()
        self.refresh_if_stale()

    @on(ArrowTable.RowChosen, "#experiments-table")
    def _open(self, message: ArrowTable.RowChosen) -> None:
        if message.index < len(self.experiments):
            from loop_tui.ui.screens.experiment_view import ExperimentScreen

            self.app.push_screen(ExperimentScreen(self.experiments[message.index]))


def _pushed() -> tuple[type, ...]:
    from loop_tui.ui.screens.compare import CompareScreen
    from loop_tui.ui.screens.experiment_view import ExperimentScreen

    return (ExperimentScreen, CompareScreen)


PAGE_SCREEN = ExperimentsScreen
PUSHED_SCREENS = _pushed()
