"""One experiment: score summary vs its base (diff, improvements, regressions, CI), metrics, and its
rows beside the base rows, biggest regression first. Enter opens a row's full trace."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import DataTable

from loop_tui.errors import UserError
from loop_tui.safe_text import literal
from loop_tui.ui.messages import WorkFailed
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.modals import ChoiceModal, ConfirmModal


def root_row_ids(ws: Any, experiment_ids: list[str]) -> dict[str, str]:
    """Each root span's row id in these experiments (rows are fetched by id; traces are keyed by root span)."""
    found = ws.query(
        "SELECT id, root_span_id FROM experiment WHERE is_root AND experiment_id IN (SELECT unnest(?::VARCHAR[]))",
        [experiment_ids],
    )
    return {r["root_span_id"]: r["id"] for r in found}


class ExperimentScreen(PageScreen):
    """Summary and rows of one experiment."""

    ROOT_PAGE = False
    YIELD_TO_LOOP = frozenset({"cancel_rerun"})  # ctrl+g in the chat is Loop's continue

    PAGE = "experiments"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,backspace", "back", "Back", id="experiment.back"),
        Binding("b", "choose_base", "Base", id="experiment.base"),
        Binding("s", "toggle_sort", "Sort", id="experiment.sort"),
        Binding("r", "rerun", "Re-run exactly", id="experiment.rerun"),
        Binding("ctrl+g", "cancel_rerun", "Cancel re-run", show=False, id="experiment.cancel_rerun", priority=True),
    ]

    @dataclass
    class RerunProgress(Message):
        """A row of the re-run finished."""

        progress: Any

    @dataclass
    class RerunFinished(Message):
        """The re-run ended: its result, or why it could not run."""

        result: Any
        error: str | None

    @dataclass
    class Loaded(Message):
        """Summary and row diffs computed."""

        summary: Any
        diffs: list[Any]
        display: Any
        row_ids: dict[str, str]

    @dataclass
    class BasesListed(Message):
        """The experiments this one can be compared against, as (name, id) choices."""

        choices: list[tuple[str, str]]

    @dataclass
    class RerunPlanned(Message):
        """A re-run was planned and priced: ask before starting it."""

        plan: Any
        detail: str

    def __init__(self, experiment: Any, base_id: str | None = None) -> None:
        super().__init__()
        self.experiment = experiment
        self.base_id = base_id
        self.diffs: list[Any] = []
        self.row_ids: dict[str, str] = {}  # root_span_id -> row id, for Loop's selected rows
        self.sort_by_regression = True
        self.rerun: Any = None  # the re-run going on, if any

    def compose_page(self) -> ComposeResult:
        with Horizontal(id="experiment-summary"):
            scores: DataTable[str] = DataTable(id="experiment-scores", cursor_type="row", classes="pane")
            scores.border_title = literal(f"{self.experiment.name} · scores")
            yield scores
            metrics: DataTable[str] = DataTable(id="experiment-metrics", cursor_type="row", classes="pane")
            metrics.border_title = "metrics (lower is better)"
            yield metrics
        rows = ArrowTable(empty_text="Loading rows…", id="experiment-rows", classes="pane")
        rows.border_title = "rows · biggest regression first · enter opens the trace"
        yield rows

    def refresh_if_stale(self) -> None:
        self.show_project()
        if self._loaded_key is None:
            self._loaded_key = (None, 0)
            self._load(self.experiment.id, self.base_id)

    @work(thread=True, exclusive=True, group="experiment", exit_on_error=False)
    def _load(self, experiment_id: str, base_id: str | None) -> None:
        from loop_tui.evals import compare_rows, summarize
        from loop_tui.ui.experiments_data import row_diffs_table

        summary = summarize(self.workspace, experiment_id, base_id)  # a failure: see WorkerFailures
        diffs = compare_rows(self.workspace, experiment_id, summary.base_id)
        row_ids = root_row_ids(self.workspace, [experiment_id])
        self.post_message(self.Loaded(summary, diffs, row_diffs_table(diffs), row_ids))

    @on(Loaded)
    async def _show(self, message: Loaded) -> None:
        from loop_tui.ui.experiments_data import metric_rows, summary_rows

        summary = message.summary
        scores = self.query_one("#experiment-scores", DataTable)
        scores.clear(columns=True)
        scores.add_columns("score", "mean", "base", "diff", "improved", "regressed", "95% CI of diff")
        scores.add_rows([[literal(cell) for cell in row] for row in summary_rows(summary)])  # score names are data
        base = summary.base_name or "no base"
        scores.border_subtitle = literal(f"{summary.rows} rows · {summary.errors} errors · vs {base} (b changes)")
        metrics = self.query_one("#experiment-metrics", DataTable)
        metrics.clear(columns=True)
        metrics.add_columns("metric", "value", "vs base", "better", "worse")
        metrics.add_rows([[literal(cell) for cell in row] for row in metric_rows(summary)])
        self.diffs = message.diffs
        self.row_ids = message.row_ids
        await self.query_one("#experiment-rows", ArrowTable).show(message.display, focus=True)

    def loop_context(self) -> dict[str, object]:
        """Loop works on this experiment (against the base shown) and the row under the cursor."""
        context: dict[str, object] = {"experiment_id": self.experiment.id}
        index = self.query_one("#experiment-rows", ArrowTable).cursor_row
        if index is not None and index < len(self.diffs):
            root = self.diffs[index].root_span_id
            context["selected_row_ids"] = [self.row_ids.get(root, root)]
        return context

    def loop_request_note(self, workflow_id: str) -> str:
        """Tell Loop which base the page compares against when the user chose one (b)."""
        if self.base_id is None:
            return ""
        return f"\n\nCompare against the base experiment I chose on the page: id {self.base_id}."

    def action_back(self) -> None:
        """Back to the list (esc in a text field or Loop's panel only leaves it)."""
        if not self.leave_field_first():
            self.dismiss()

    def action_toggle_sort(self) -> None:
        """Biggest regression first ↔ biggest improvement first."""
        from loop_tui.ui.experiments_data import row_diffs_table

        self.sort_by_regression = not self.sort_by_regression
        self.diffs.sort(key=lambda d: (not d.deltas, d.worst_delta if self.sort_by_regression else -max(d.deltas.values(), default=0)))
        title = "biggest regression first" if self.sort_by_regression else "biggest improvement first"
        rows = self.query_one("#experiment-rows", ArrowTable)
        rows.border_title = f"rows · {title} · enter opens the trace"
        self.run_worker(rows.show(row_diffs_table(self.diffs), focus=True), exclusive=True, group="exp-sort", exit_on_error=False)

    def action_choose_base(self) -> None:
        """Compare against another experiment."""
        self._list_bases(self.experiment.project_id, self.experiment.id)

    @work(thread=True, exclusive=True, group="experiment-base", exit_on_error=False)
    def _list_bases(self, project_id: str, experiment_id: str) -> None:
        experiments = self.workspace.objects("experiment", project_id)
        self.post_message(self.BasesListed([(e.name, e.id) for e in experiments if e.id != experiment_id]))

    @on(BasesListed)
    def _offer_bases(self, message: BasesListed) -> None:
        self.app.push_screen(ChoiceModal("Compare against which experiment?", message.choices), self._set_base)

    def _set_base(self, base_id: object) -> None:
        if isinstance(base_id, str):
            self.base_id = base_id
            self._load(self.experiment.id, base_id)

    @on(ArrowTable.RowChosen, "#experiment-rows")
    def _open_trace(self, message: ArrowTable.RowChosen) -> None:
        if message.index < len(self.diffs):
            from loop_tui.ui.screens.trace import TraceScreen

            diff = self.diffs[message.index]
            self.app.push_screen(
                TraceScreen(f"experiment('{self.experiment.id}')", diff.root_span_id, page="experiments")
            )

    # ----- re-run ---------------------------------------------------------------------------------
    def action_rerun(self) -> None:
        """Re-run this experiment exactly (after a confirmation that says what it will cost)."""
        if self.rerun is not None:
            self.notify("a re-run is already going (ctrl+g cancels it)", severity="warning")
            return
        self._plan_rerun(self.experiment, self.loop_app.settings)

    @work(thread=True, exclusive=True, group="experiment-rerun-plan", exit_on_error=False)
    def _plan_rerun(self, experiment: Any, settings: Any) -> None:
        from loop_tui.evals.estimate import estimate_eval_cost
        from loop_tui.evals.experiments import dataset_rows
        from loop_tui.evals.rerun import plan_rerun

        try:
            plan = plan_rerun(self.workspace, experiment.project_id, experiment.id, settings=settings)
            rows = dataset_rows(self.workspace, plan.dataset, as_of=plan.dataset_version)
            cost = estimate_eval_cost(plan.prompt, rows, plan.scorers, model=plan.model, trials=plan.trials,
                                      settings=settings)
        except UserError as exc:  # anything else is a bug: WorkerFailures logs it
            self.post_message(WorkFailed("re-run", str(exc)))
            return
        price = f"about ${cost.usd:.4f}" if cost.usd is not None else "cost unknown (unpriced model)"
        detail = (f"{len(rows)} rows × {plan.trials} trial(s) with {plan.model}, {cost.calls} model calls, {price}. "
                  "The new experiment is compared with this one." + "".join(f"\nNote: {n}." for n in plan.notes))
        self.post_message(self.RerunPlanned(plan, detail))

    @on(RerunPlanned)
    def _confirm_rerun(self, message: RerunPlanned) -> None:
        self.app.push_screen(
            ConfirmModal(f"Re-run {self.experiment.name} exactly?", message.detail),
            partial(self._start_rerun, message.plan),
        )

    def _start_rerun(self, plan: Any, confirmed: bool | None) -> None:
        from loop_tui.ui.playground_run import experiment_rerun

        if not confirmed or self.rerun is not None:
            return
        # The plan the user just confirmed (its scorers, dataset version, cost), not a second reading.
        self.rerun = experiment_rerun(self.workspace, self.experiment.project_id, self.experiment.id,
                                      self.loop_app.settings, plan)
        self.query_one("#experiment-rows", ArrowTable).border_subtitle = "re-running… ctrl+g cancels"
        self._run_rerun(self.rerun)

    @work(thread=True, exclusive=True, group="experiment-rerun", exit_on_error=False)
    def _run_rerun(self, run: Any) -> None:
        run.run_and_report(lambda progress: self.post_message(self.RerunProgress(progress)),
                           lambda result, error: self.post_message(self.RerunFinished(result, error)))

    @on(RerunProgress)
    def _rerun_progress(self, message: RerunProgress) -> None:
        p = message.progress
        self.query_one("#experiment-rows", ArrowTable).border_subtitle = (
            f"re-running: {p.done}/{p.total} rows · {p.errors} errors · ${p.running_cost:.4f} · ctrl+g cancels"
        )

    @on(RerunFinished)
    def _rerun_finished(self, message: RerunFinished) -> None:
        self.rerun = None
        rows = self.query_one("#experiment-rows", ArrowTable)
        rows.border_subtitle = ""
        if message.error:
            self.notify(f"re-run failed: {message.error}", severity="error")
            return
        result = message.result
        if result is None or result.cancelled:
            self.notify("re-run cancelled; the rows that finished are saved in its experiment")
            return
        self.notify(f"re-run done: {result.name} ({len(result.rows)} rows), compared with {self.experiment.name}")
        if self.is_current:  # the user may have moved on: then the notice is enough
            new = self.workspace.object_by_id(result.experiment_id)
            self.app.push_screen(ExperimentScreen(new, self.experiment.id))

    def on_unmount(self) -> None:
        # Leaving the experiment stops its re-run: nothing could show or cancel it any more, and the app
        # would wait for it on quit. The rows finished so far stay recorded.
        if self.rerun is not None:
            self.rerun.cancel()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+g cancels a re-run while one goes; otherwise it is Loop's continue."""
        if action == "cancel_rerun" and self.rerun is None:
            return False
        return super().check_action(action, parameters)

    def action_cancel_rerun(self) -> None:
        """Stop the re-run; rows finished so far stay recorded."""
        if self.rerun is not None:
            self.rerun.cancel()
            self.query_one("#experiment-rows", ArrowTable).border_subtitle = "cancelling…"
