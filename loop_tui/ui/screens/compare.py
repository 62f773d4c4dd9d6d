"""Compare two or more experiments side by side: per-row scores of each, deltas against the first
(the base), sorted by the biggest regression; the selected row's outputs are diffed below."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from loop_tui.safe_text import literal, visible
from loop_tui.ui.formatting import pretty_json, preview
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.arrow_table import ArrowTable


@dataclass
class CompareRow:
    """One dataset row across the compared experiments."""

    key: str
    input: Any
    outputs: list[Any]
    scores: list[dict[str, float]]
    deltas: list[dict[str, float]]
    root_span_ids: list[str | None]

    @property
    def worst_delta(self) -> float:
        """The most negative score change against the base in any compared experiment."""
        return min((v for d in self.deltas for v in d.values()), default=0.0)


def build_compare_rows(ws: Any, experiment_ids: list[str]) -> list[CompareRow]:
    """Pair every experiment's rows with the first experiment's (via `evals.compare_rows`)."""
    from loop_tui.evals import compare_rows

    base_id, others = experiment_ids[0], experiment_ids[1:]
    rows: dict[str, CompareRow] = {}
    for position, exp_id in enumerate(others, start=1):
        for diff in compare_rows(ws, exp_id, base_id):
            row = rows.get(diff.key)
            if row is None:
                n = len(experiment_ids)
                row = rows[diff.key] = CompareRow(diff.key, diff.input, [None] * n, [{}] * n, [{}] * n, [None] * n)
                row.outputs[0], row.scores[0], row.root_span_ids[0] = diff.base_output, diff.base_scores, diff.base_root_span_id
            row.outputs[position] = diff.output
            row.scores[position] = diff.scores
            row.deltas[position] = diff.deltas
            row.root_span_ids[position] = diff.root_span_id
    return sorted(rows.values(), key=lambda r: (r.worst_delta, r.key))


def experiment_letter(index: int) -> str:
    """A, B, C… : short column labels for the compared experiments (the legend names them)."""
    return chr(ord("A") + index) if index < 26 else f"E{index + 1}"


def compare_table(rows: list[CompareRow], names: list[str]) -> Any:
    """Display columns: input, then per experiment its output preview and scores (with Δ vs base)."""
    import pyarrow as pa

    score_names = sorted({s for r in rows for d in r.scores for s in d})
    columns: dict[str, list[str]] = {"input": [preview(r.input, 30) for r in rows]}
    # Scores first (what people sort and scan), each score's experiments side by side; outputs last.
    for score in score_names:
        for i in range(len(names)):
            cells = []
            for r in rows:
                value = r.scores[i].get(score)
                delta = r.deltas[i].get(score) if i else None
                cells.append("" if value is None else f"{value:.2f}" + (f" ({delta:+.2f})" if delta else ""))
            columns[f"{score} {experiment_letter(i)}"] = cells
    for i in range(len(names)):
        columns[f"output {experiment_letter(i)}"] = [preview(r.outputs[i], 28) for r in rows]
    return pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})


def output_diff(base: Any, other: Any, label: str) -> Text:
    """A coloured unified diff of two outputs."""
    lines = difflib.unified_diff(
        pretty_json(base).splitlines(), pretty_json(other).splitlines(), "base", visible(label), lineterm="", n=2
    )
    text = Text()
    for line in lines:
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim" if line.startswith("@") else ""
        text.append(line + "\n", style=style)
    return text if text.plain else Text("outputs are identical\n", style="dim")


class CompareScreen(PageScreen):
    """Side-by-side comparison of experiments."""

    ROOT_PAGE = False

    PAGE = "experiments"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="compare.back"),
    ]

    @dataclass
    class Loaded(Message):
        """Rows paired across the experiments."""

        rows: list[CompareRow]
        display: Any
        row_ids: dict[str, str]

    def __init__(self, experiments: list[Any]) -> None:
        super().__init__()
        self.experiments = experiments
        self.rows: list[CompareRow] = []
        self.row_ids: dict[str, str] = {}  # root_span_id -> row id, for Loop's selected rows

    def compose_page(self) -> ComposeResult:
        table = ArrowTable(empty_text="Pairing rows…", id="compare-table", classes="pane")
        legend = " · ".join(f"{experiment_letter(i)} = {e.name}" for i, e in enumerate(self.experiments))
        table.border_title = literal(f"{legend} (A is the base) · biggest regression first")
        yield table
        diff = VerticalScroll(Static("", id="compare-diff-text"), id="compare-diff", classes="pane")
        diff.border_title = "output diff vs base"
        yield diff

    def refresh_if_stale(self) -> None:
        self.show_project()
        if self._loaded_key is None:
            self._loaded_key = (None, 0)
            self._load([e.id for e in self.experiments])

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _load(self, ids: list[str]) -> None:
        from loop_tui.ui.screens.experiment_view import root_row_ids

        rows = build_compare_rows(self.workspace, ids)  # a failure: see WorkerFailures
        row_ids = root_row_ids(self.workspace, ids)
        self.post_message(self.Loaded(rows, compare_table(rows, [e.name for e in self.experiments]), row_ids))

    @on(Loaded)
    async def _show(self, message: Loaded) -> None:
        self.rows = message.rows
        self.row_ids = message.row_ids
        await self.query_one(ArrowTable).show(message.display, focus=True)
        if self.rows:
            self._show_diff(0)

    @on(ArrowTable.RowHighlighted, "#compare-table")
    def _highlighted(self, message: ArrowTable.RowHighlighted) -> None:
        self._show_diff(message.index)

    def _show_diff(self, index: int) -> None:
        if index >= len(self.rows):
            return
        row = self.rows[index]
        text = Text()
        for i, exp in enumerate(self.experiments[1:], start=1):
            text.append(visible(f"{experiment_letter(i)} = {exp.name}\n"), style="bold")
            text.append_text(output_diff(row.outputs[0], row.outputs[i], exp.name))
        self.query_one("#compare-diff-text", Static).update(text)

    def loop_context(self) -> dict[str, object]:
        """Loop works on the last compared experiment (B, C… against A as its base) and the highlighted row.

        With more than two experiments, the workflows' requests name every one (`loop_request_note`).
        """
        context: dict[str, object] = {
            "experiment_id": self.experiments[-1].id,
            "base_experiment_id": self.experiments[0].id,
        }
        index = self.query_one("#compare-table", ArrowTable).cursor_row
        if index is not None and index < len(self.rows):
            root = self.rows[index].root_span_ids[-1]
            if root:
                context["selected_row_ids"] = [self.row_ids.get(root, root)]
        return context

    def loop_request_note(self, workflow_id: str) -> str:
        """Name the compared experiments, so Loop summarises the comparison, not one experiment."""
        base = self.experiments[0]
        others = ", ".join(f"{e.name} (id {e.id})" for e in self.experiments[1:])
        return (f"\n\nI am comparing {others} against the base {base.name} (id {base.id}): use "
                f"get_summarized_results with experiment=<each of them> and base={base.id!r}.")

    def action_back(self) -> None:
        """Back to the list (esc in a text field or Loop's panel only leaves it)."""
        if not self.leave_field_first():
            self.dismiss()

    @on(ArrowTable.RowChosen, "#compare-table")
    def _open_trace(self, message: ArrowTable.RowChosen) -> None:
        row = self.rows[message.index] if message.index < len(self.rows) else None
        span = next((s for s in reversed(row.root_span_ids) if s), None) if row else None
        if row and span:
            from loop_tui.ui.screens.trace import TraceScreen

            exp = next(e for e, s in zip(self.experiments, row.root_span_ids, strict=True) if s == span)
            self.app.push_screen(TraceScreen(f"experiment('{exp.id}')", span, page="experiments"))
