"""Playground: a task (prompt messages with mustache variables, model, params) run over a dataset
with scorers. ctrl+r runs it as an experiment with a live progress bar, rows filling in as they
finish; ctrl+s saves the prompt as a new version; F4 compares the last run with the one before.

A run that produced nothing (every row failed: a bad key, an endpoint that is down, which also stops the run
early) is not kept as an experiment, so it cannot top the experiment list; ctrl+k keeps it when the user
wants it. enter on a result row shows it in full, its whole error first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, ProgressBar, Select, SelectionList, TextArea

from loop_tui.ui.messages import WorkFailed
from loop_tui.ui.prompt_text import messages_to_text, parse_params, text_to_messages
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.arrow_table import ArrowTable


@dataclass
class PlaygroundState:
    """What the playground page was opened with (read in a worker)."""

    playground: Any | None
    prompt: Any | None
    prompt_data: dict[str, Any]
    datasets: list[Any]
    dataset_id: str | None
    scorers: list[str]
    scorer_choices: list[str]
    experiments: list[Any]


def read_state(ws: Any, project_id: str) -> PlaygroundState:
    """The project's first playground (else its first prompt), datasets, scorers and experiments."""
    from loop_tui.evals.registry import builtin_names

    playgrounds = ws.objects("playground", project_id)
    prompts = ws.objects("prompt", project_id)
    playground = playgrounds[0] if playgrounds else None
    data = playground.data if playground else {}
    prompt = next((p for p in prompts if p.id == data.get("prompt_id")), prompts[0] if prompts else None)
    prompt_data = data.get("prompt") or (prompt.data if prompt else {})
    datasets = ws.objects("dataset", project_id)
    saved_scorers = [s.name for s in ws.objects("scorer", project_id)]
    return PlaygroundState(
        playground,
        prompt,
        dict(prompt_data),
        datasets,
        data.get("dataset_id") or (datasets[0].id if datasets else None),
        list(data.get("scorers") or []),
        [*saved_scorers, *builtin_names()],
        ws.objects("experiment", project_id),
    )


class PlaygroundScreen(PageScreen):
    """Edit a task and run it over a dataset."""

    PAGE = "playground"
    YIELD_TO_LOOP = frozenset({"run", "cancel_run", "save_prompt"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r,f5", "run", "Run", id="playground.run", priority=True),
        Binding("ctrl+g", "cancel_run", "Cancel", id="playground.cancel", priority=True),
        Binding("ctrl+s", "save_prompt", "Save version", id="playground.save", priority=True),
        Binding("f4", "compare_previous", "Compare prev", id="playground.compare"),
        Binding("e", "edit_prompt", "Edit prompt", id="playground.edit"),
        Binding("ctrl+k", "keep_failed_run", "Keep failed run", id="playground.keep"),
    ]

    @dataclass
    class StateLoaded(Message):
        """The project's playground, prompt, datasets and scorers."""

        state: PlaygroundState

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

    def __init__(self) -> None:
        super().__init__()
        self.state: PlaygroundState | None = None
        self.rows: list[Any] = []
        self.current_run: Any = None
        self.last_result: Any = None
        self._rows_dirty = False
        self._shown_rows: list[Any] = []  # the rows in the results table, in its order
        self.discarded: tuple[int, str] | None = None  # (the deleting write, the name) of a failed run not kept
        self._loaded_text: str | None = None  # the prompt as last loaded, to tell unsaved edits apart

    def compose_page(self) -> ComposeResult:
        with Horizontal(id="pg-top"):
            messages = TextArea("", id="pg-messages", soft_wrap=True, tab_behavior="focus")
            messages.border_title = "prompt · ## system / ## user blocks · {{input.question}} variables"
            yield messages
            with Vertical(id="pg-config", classes="pane"):
                yield Label("model", classes="section-title")
                yield Select([], id="pg-model", prompt="model", compact=True)
                yield Label("params (JSON)", classes="section-title")
                yield Input("", id="pg-params", placeholder='{"temperature": 0.2}', compact=True)
                yield Label("dataset", classes="section-title")
                yield Select([], id="pg-dataset", prompt="dataset", compact=True)
                yield Label("scorers (space toggles)", classes="section-title")
                yield SelectionList(id="pg-scorers")
        # Errors and statuses carry text from data (a model's message, a row's error): never read as markup.
        yield Label("", id="pg-error", classes="error-line", markup=False)
        with Horizontal(id="pg-progress-row"):
            yield ProgressBar(total=1, id="pg-progress", show_eta=False)
            yield Label("ctrl+r runs the task over the dataset", id="pg-status", markup=False)
        results = ArrowTable(empty_text="Results appear here as rows finish.", id="pg-results", classes="pane")
        results.border_title = "results"
        yield results

    # ----- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the project's playground."""
        if self.project is not None:
            self._load_state(self.project.id)

    @work(thread=True, exclusive=True, group="pg-state", exit_on_error=False)
    def _load_state(self, project_id: str) -> None:
        try:
            state = read_state(self.workspace, project_id)
        except Exception as exc:  # noqa: BLE001 - shown as one sentence
            self.post_message(WorkFailed("playground", str(exc)))
            return
        self.post_message(self.StateLoaded(state))

    @on(StateLoaded)
    def _fill(self, message: StateLoaded) -> None:
        state = self.state = message.state
        data = state.prompt_data
        editor = self.query_one("#pg-messages", TextArea)
        text = messages_to_text(data.get("messages") or [{"role": "user", "content": "{{input}}"}])
        unsaved = self._loaded_text is not None and editor.text != self._loaded_text
        # A reload after someone else's write (Loop's data edit, an undo) keeps the user's unsaved prompt
        # edits unless the stored prompt itself changed (then the accepted change wins, and we say so).
        if not unsaved or text != self._loaded_text:
            if unsaved and editor.text != text:
                self.notify("the prompt changed in the workspace: your unsaved edits were replaced", severity="warning")
            editor.load_text(text)
        self._loaded_text = text
        allow = list(self.loop_app.settings.models.allowlist)
        model = data.get("model") or self.loop_app.settings.models.default or (allow[0] if allow else None)
        if model and model not in allow:
            allow.insert(0, model)  # the prompt's own model stays selectable
        model_select = self.query_one("#pg-model", Select)
        model_select.set_options([(m, m) for m in allow])
        if model:
            model_select.value = model
        import json

        self.query_one("#pg-params", Input).value = json.dumps(data.get("params") or {})
        dataset_select = self.query_one("#pg-dataset", Select)
        dataset_select.set_options([(d.name, d.id) for d in state.datasets])
        if state.dataset_id:
            dataset_select.value = state.dataset_id
        scorers = self.query_one("#pg-scorers", SelectionList)
        scorers.clear_options()
        scorers.add_options([(name, name, name in state.scorers) for name in state.scorer_choices])
        name = state.playground.name if state.playground else (state.prompt.name if state.prompt else "new task")
        self.query_one("#pg-messages", TextArea).border_subtitle = name

    def show_empty(self, message: str) -> None:
        self.query_one("#pg-error", Label).update(message)

    def loop_context(self) -> dict[str, object]:
        """Loop works on this playground and the dataset chosen on the page."""
        state = self.state
        if state is None:
            return {}
        dataset = self.query_one("#pg-dataset", Select).value
        return {
            "playground_id": state.playground.id if state.playground else None,
            "dataset_id": dataset if isinstance(dataset, str) else state.dataset_id,
        }

    def action_edit_prompt(self) -> None:
        """Put the cursor in the prompt editor (esc leaves it)."""
        self.query_one("#pg-messages", TextArea).focus()

    # ----- validation ----------------------------------------------------------------------------
    @on(TextArea.Changed, "#pg-messages")
    @on(Input.Changed, "#pg-params")
    def _validate(self) -> bool:
        _, error = text_to_messages(self.query_one("#pg-messages", TextArea).text)
        _, params_error = parse_params(self.query_one("#pg-params", Input).value)
        self.query_one("#pg-params", Input).set_class(params_error is not None, "-invalid")
        self.query_one("#pg-error", Label).update(error or params_error or "")
        return error is None and params_error is None

    def _prompt_data(self) -> dict[str, Any] | None:
        if not self._validate():
            return None
        messages, _ = text_to_messages(self.query_one("#pg-messages", TextArea).text)
        params, _ = parse_params(self.query_one("#pg-params", Input).value)
        model = self.query_one("#pg-model", Select).value
        return {
            "messages": messages,
            "model": model if isinstance(model, str) else None,
            "params": params,
            "template_format": "mustache",
        }

    # ----- running -------------------------------------------------------------------------------
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
            self.query_one("#pg-error", Label).update(str(exc))
            return
        base = self.last_result.experiment_id if self.last_result is not None else None
        self.current_run = playground_run(
            self.workspace, self.project.id, prompt, dataset, scorers, data["model"], self.loop_app.settings, base
        )
        self.rows = []
        self._forget_discarded()
        self.query_one("#pg-error", Label).update("")
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
                            exclusive=True, group="pg-table")

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
        kept = " Nothing was saved: ctrl+k keeps it as an experiment." if self.discarded else ""
        if message.error:
            self.query_one("#pg-error", Label).update(message.error)
            status.update("run failed")
            return
        if result is None or getattr(result, "cancelled", False):
            status.update(f"cancelled after {len(self.rows)} rows" + (" · not saved (ctrl+k keeps it)" if kept else
                                                                      " (they are saved in the experiment)"))
            return
        if result.stopped or self.discarded:
            failed = sum(1 for r in result.rows if r.error)
            reason = f"run failed: {result.stopped}" if result.stopped else "run failed: every row failed."
            self.query_one("#pg-error", Label).update(f"{reason}{kept} enter on a result row shows its whole error.")
            status.update(f"run failed · {failed} of {len(result.rows)} rows failed")
            if not self.discarded:
                self.last_result = result
            return
        self.last_result = result
        self.query_one("#pg-results", ArrowTable).border_title = f"results · experiment {result.name}"
        status.update(f"done: {len(result.rows)} rows · {result.errors} errors · ${result.total_cost:.4f} · F4 compares")
        self._summarize(result.experiment_id)

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
        self.app.call_from_thread(self.query_one("#pg-error", Label).update, " · ".join(parts))

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
        except Exception as exc:  # noqa: BLE001 - store errors are one sentence
            self.post_message(WorkFailed("keep the failed run", str(exc)))
            return
        self.app.call_from_thread(self.notify, f"kept the failed run as experiment {name}")
        self.app.call_from_thread(self.query_one("#pg-status", Label).update, f"run failed · kept as experiment {name}")

    def on_unmount(self) -> None:
        # The app is closing: stop the run (its rows so far are kept) rather than wait for every row.
        if self.current_run is not None:
            self.current_run.cancel()

    def action_cancel_run(self) -> None:
        """Stop the running eval."""
        if self.current_run is not None:
            self.current_run.cancel()
            self.query_one("#pg-status", Label).update("cancelling…")

    # ----- saving and comparing ------------------------------------------------------------------
    def action_save_prompt(self) -> None:
        """Save the prompt as a new version (and point the playground at it)."""
        data = self._prompt_data()
        if data is not None and self.project is not None and self.state is not None:
            self._save(data)

    @work(thread=True, exclusive=True, group="pg-save", exit_on_error=False)
    def _save(self, data: dict[str, Any]) -> None:
        state = self.state
        assert state is not None and self.project is not None
        ws = self.workspace
        try:
            name = state.prompt.name if state.prompt else "playground-prompt"
            prompt = ws.save_object("prompt", self.project.id, name, data, id=state.prompt.id if state.prompt else None)
            if state.playground is not None:
                pg_data = {**state.playground.data, "prompt_id": prompt.id, "prompt": data}
                state.playground = ws.save_object(
                    "playground", self.project.id, state.playground.name, pg_data, id=state.playground.id
                )
            state.prompt = prompt
            versions = len(ws.object_versions(prompt.id))
        except Exception as exc:  # noqa: BLE001 - store errors are one sentence
            self.post_message(WorkFailed("save prompt", str(exc)))
            return
        self.app.call_from_thread(self.notify, f"saved prompt {name} as version {versions}")

    @work(thread=True, exclusive=True, group="pg-compare", exit_on_error=False)
    def action_compare_previous(self) -> None:
        """Compare the last run with the run before it."""
        from loop_tui.evals.summary import previous_experiment

        if self.last_result is None:
            self.app.call_from_thread(self.notify, "run the task first (ctrl+r)", severity="warning")
            return
        ws = self.workspace
        latest = ws.object_by_id(self.last_result.experiment_id)
        base_id = self.last_result.base_id or previous_experiment(ws, latest)
        if base_id is None:
            self.app.call_from_thread(self.notify, "there is no earlier run on this dataset to compare with")
            return
        from loop_tui.ui.screens.compare import CompareScreen

        self.app.call_from_thread(self.app.push_screen, CompareScreen([ws.object_by_id(base_id), latest]))


PAGE_SCREEN = PlaygroundScreen
