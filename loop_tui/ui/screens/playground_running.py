"""The playground's runs: ctrl+r runs the task over the dataset as an experiment with a live progress bar,
rows filling in as they finish; ctrl+g cancels.

A run that produced nothing (every row failed: a bad key, an endpoint that is down, which also stops the run
early) is not kept as an experiment, so it cannot top the experiment list; ctrl+k keeps it when the user wants
it. Its whole reason is shown, wrapped; enter on a result row shows that row in full, its error first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.message import Message
from textual.widgets import Label, ProgressBar, Select, SelectionList

from loop_tui.errors import UserError
from loop_tui.safe_text import literal
from loop_tui.ui.messages import WorkFailed
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.arrow_table import ArrowTable


class PlaygroundRunning(PageScreen):
    """The running half of the playground page (`PlaygroundScreen` adds the task editor and saving)."""

    @dataclass
    class RowFinished(Message):
        """A row of the run finished (progress counts + the row)."""

        progress: Any

    @dataclass
    class RunFinished(Message):
        """The run ended (result None: failed or cancelled before starting); `discarded`: the write that
        deleted its experiment because it produced nothing (see `playground_run.discard_if_empty`)."""

        result: Any
        error: str | None
        discarded: int | None = None

    @dataclass
    class RunSummarized(Message):
        """The finished run's scores, one line ("accuracy 80.0% (+5.0pp vs base)")."""

        scores: str

    @dataclass
    class FailedRunKept(Message):
        """A run that produced nothing was kept as an experiment after all (ctrl+k)."""

        name: str

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []
        self.current_run: Any = None
        self.last_result: Any = None
        self._rows_dirty = False
        self._shown_rows: list[Any] = []  # the rows in the results table, in its order
        self.discarded: tuple[int, str] | None = None  # (the deleting write, the name) of a failed run not kept
        self.run_line = ""  # the last run's score line or failure, which the page's error line shows when valid

    def show_run_line(self, text: str) -> None:
        """The last run's outcome on the page's error line (text from data: shown literally); a prompt that
        turns invalid takes the line, and the outcome comes back once the prompt is valid again."""
        self.run_line = text
        self.query_one("#pg-error", Label).update(literal(text))

    def _prompt_data(self) -> dict[str, Any] | None:
        """The task as edited, or None when it is invalid (the page shows why)."""
        raise NotImplementedError

    def action_run(self) -> None:
        """Run the task over the dataset with the chosen scorers."""
        from loop_tui.evals import PromptSpec
        from loop_tui.ui.playground_run import playground_run

        if self.current_run is not None:
            self.notify("a run is already going (ctrl+g cancels it)", severity="warning")
            return
        data = self._prompt_data()
        dataset = self.query_one("#pg-dataset", Select).value
        if data is None or self.project is None:
            return
        if not isinstance(dataset, str):
            self.query_one("#pg-error", Label).update("choose a dataset to run the task over")
            return
        scorers = [str(s) for s in self.query_one("#pg-scorers", SelectionList).selected]
        try:
            prompt = PromptSpec.from_dict(data)
        except Exception as exc:  # noqa: BLE001 - UserError from the prompt checks
            self.query_one("#pg-error", Label).update(literal(exc))
            return
        base = self.last_result.experiment_id if self.last_result is not None else None
        self.current_run = playground_run(
            self.workspace, self.project.id, prompt, dataset, scorers, data["model"], self.loop_app.settings, base
        )
        self.rows = []
        self._forget_discarded()
        self.show_run_line("")
        self.query_one(ProgressBar).update(total=None, progress=0)
        self.query_one("#pg-status", Label).update("starting… ctrl+g cancels")
        self._run_task(self.current_run)
        self._refresh_timer = self.set_interval(0.3, self._refresh_rows)

    @work(thread=True, exclusive=True, group="pg-run", exit_on_error=False)
    def _run_task(self, run: Any) -> None:
        from loop_tui.ui.playground_run import discard_if_empty

        def ended(result: Any, error: str | None) -> None:
            self.post_message(self.RunFinished(result, error, discard_if_empty(self.workspace, result)))

        run.run_and_report(lambda progress: self.post_message(self.RowFinished(progress)), ended)

    @on(RowFinished)
    def _row_finished(self, message: RowFinished) -> None:
        progress = message.progress
        if progress.row is not None:
            self.rows.append(progress.row)
            self._rows_dirty = True
        self.query_one(ProgressBar).update(total=progress.total, progress=progress.done)
        self.query_one("#pg-status", Label).update(
            f"{progress.done}/{progress.total} rows · {progress.errors} errors · ${progress.running_cost:.4f}"
        )

    def _refresh_rows(self) -> None:
        # Rows arrive one message each; the table is rebuilt at most every 0.3 s.
        if self._rows_dirty:
            from loop_tui.ui.playground_run import result_rows_table

            self._rows_dirty = False
            self._shown_rows = sorted(self.rows, key=lambda r: (r.index, r.trial))
            self.run_worker(self.query_one("#pg-results", ArrowTable).show(result_rows_table(self._shown_rows)),
                            exclusive=True, group="pg-table", exit_on_error=False)

    @on(ArrowTable.RowChosen, "#pg-results")
    def _show_row(self, message: ArrowTable.RowChosen) -> None:
        """enter on a result row: the row in full, its whole error first (a grid cell cuts it)."""
        from loop_tui.ui.playground_run import row_details
        from loop_tui.ui.widgets.text_view import TextViewModal

        if 0 <= message.index < len(self._shown_rows):
            row = self._shown_rows[message.index]
            title = f"row {row.index + 1} · error" if row.error else f"row {row.index + 1}"
            self.app.push_screen(TextViewModal(title, row_details(row)))

    @on(RunFinished)
    def _run_finished(self, message: RunFinished) -> None:
        self.current_run = None
        timer = getattr(self, "_refresh_timer", None)
        if timer is not None:
            timer.stop()
        self._rows_dirty = True
        self._refresh_rows()
        status = self.query_one("#pg-status", Label)
        bar = self.query_one(ProgressBar)
        if bar.total is None:
            bar.update(total=1, progress=0)  # still waiting for a first row: stop the waiting animation
        result = message.result
        if message.discarded is not None and result is not None:
            self.discarded = (message.discarded, result.name)
            self.refresh_bindings()
        kept = " Not saved: ctrl+k keeps it." if self.discarded else ""
        if message.error:
            self.show_run_line(message.error)  # a provider's reply, quoted
            status.update("run failed")
            return
        if result is None or getattr(result, "cancelled", False):
            status.update(f"cancelled after {len(self.rows)} rows" + (" · not saved (ctrl+k keeps it)" if kept else
                                                                      " (they are saved in the experiment)"))
            return
        self._show_outcome(result, kept)

    def _show_outcome(self, result: Any, kept: str = "", by: str = "") -> None:
        """A finished run's status, and its score line or why it failed; `by` names who ran it ("Loop")."""
        status = self.query_one("#pg-status", Label)
        ran = f" · run by {by}" if by else ""
        if result.stopped or self.discarded or (by and result.rows and result.errors == len(result.rows)):
            failed = sum(1 for r in result.rows if r.error)
            reason = f"run failed: {result.stopped}" if result.stopped else "run failed: every row failed."
            self.show_run_line(f"{reason}{kept} enter on a row shows its whole error.")
            status.update(f"run failed{ran} · {failed} of {len(result.rows)} rows failed")
            if not self.discarded:
                self.last_result = result
            return
        self.last_result = result
        self.query_one("#pg-results", ArrowTable).border_title = literal(f"results · experiment {result.name}{ran}")
        status.update(f"done{ran}: {len(result.rows)} rows · {result.errors} errors · ${result.total_cost:.4f} · "
                      "F4 compares")
        self._summarize(result.experiment_id)

    def show_loop_run(self, result: Any) -> None:
        """Loop ran this page's task (run_eval): its rows, status and score line fill the page as a ctrl+r run's
        would, so F4 compares with it too. The user's own run, if one is going, keeps the page."""
        if self.current_run is not None:
            self.notify(f"Loop's eval finished as experiment {result.name}; your run keeps the results grid",
                        markup=False)
            return
        self.rows = list(result.rows)
        self._forget_discarded()
        self._rows_dirty = True
        self._refresh_rows()
        bar = self.query_one(ProgressBar)
        bar.update(total=max(len(self.rows), 1), progress=len(self.rows))
        self.show_run_line("")
        self._show_outcome(result, by="Loop")

    @work(thread=True, exclusive=True, group="pg-summary", exit_on_error=False)
    def _summarize(self, experiment_id: str) -> None:
        from loop_tui.evals import summarize

        summary = summarize(self.workspace, experiment_id)
        parts = []
        for s in summary.scores.values():
            if s.score is None:
                continue
            diff = f" ({s.diff * 100:+.1f}pp vs {summary.base_name})" if s.diff is not None else ""
            parts.append(f"{s.name} {s.score * 100:.1f}%{diff}")
        self.post_message(self.RunSummarized(" · ".join(parts)))

    @on(RunSummarized)
    def _show_summary(self, message: RunSummarized) -> None:
        self.show_run_line(message.scores)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+g cancels a run; with none going and Loop paused at its step limit, it continues Loop. ctrl+k
        is offered only while a failed run is waiting to be kept."""
        if action == "cancel_run" and self.current_run is None and self.loop_paused():
            return False
        if action == "keep_failed_run" and self.discarded is None:
            return False
        return super().check_action(action, parameters)

    # ----- a failed run the user wants to keep ---------------------------------------------------
    def _forget_discarded(self) -> None:
        if self.discarded is not None:
            self.discarded = None
            self.refresh_bindings()

    def action_keep_failed_run(self) -> None:
        """Keep the last run, which produced nothing, as a (failed) experiment after all."""
        if self.discarded is not None:
            discarded_by, name = self.discarded
            self._forget_discarded()
            self._keep(discarded_by, name)

    @work(thread=True, exclusive=True, group="pg-keep", exit_on_error=False)
    def _keep(self, discarded_by: int, name: str) -> None:
        from loop_tui.ui.playground_run import keep_discarded

        try:
            keep_discarded(self.workspace, discarded_by)
        except UserError as exc:  # anything else is a bug: WorkerFailures logs it
            self.post_message(WorkFailed("keep the failed run", str(exc)))
            return
        self.post_message(self.FailedRunKept(name))

    @on(FailedRunKept)
    def _kept(self, message: FailedRunKept) -> None:
        self.notify(f"kept the failed run as experiment {message.name}")
        self.query_one("#pg-status", Label).update(f"run failed · kept as experiment {message.name}")

    def on_unmount(self) -> None:
        # The app is closing: stop the run (its rows so far are kept) rather than wait for every row.
        if self.current_run is not None:
            self.current_run.cancel()

    def action_cancel_run(self) -> None:
        """Stop the running eval."""
        if self.current_run is not None:
            self.current_run.cancel()
            self.query_one("#pg-status", Label).update("cancelling…")
