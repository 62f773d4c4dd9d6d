"""Playground: a task (prompt messages with mustache variables, model, params) run over a dataset
with scorers. ctrl+r runs it as an experiment with a live progress bar, rows filling in as they
finish (see `playground_running`); ctrl+s saves the prompt as a new version; F4 compares the last run
with the one before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, ProgressBar, Select, SelectionList, TextArea

from loop_tui.errors import UserError
from loop_tui.safe_text import literal, visible
from loop_tui.ui.messages import WorkFailed
from loop_tui.ui.prompt_text import messages_to_text, parse_params, text_to_messages
from loop_tui.ui.screens.playground_running import PlaygroundRunning
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


def _default_task_model(settings: Any) -> str | None:
    """A new task's model: the settings' default, else the first allowlisted model with a key (what Loop uses
    too), so a first run does not fail for want of a key the user never set; None when only offline is left."""
    from loop_tui.llm import resolve_model

    try:
        resolved = resolve_model(None, settings)
    except UserError:
        return None
    return None if resolved.provider == "offline" else resolved.name


class PlaygroundScreen(PlaygroundRunning):
    """Edit a task and run it over a dataset."""

    PAGE = "playground"
    YIELD_TO_LOOP = frozenset({"run", "cancel_run", "save_prompt"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r,f5", "run", "Run", id="playground.run", priority=True),
        Binding("ctrl+g", "cancel_run", "Cancel", id="playground.cancel", priority=True),
        Binding("ctrl+s", "save_prompt", "Save version", id="playground.save", priority=True),
        Binding("f4", "compare_previous", "Compare prev", id="playground.compare"),
        Binding("e,i", "edit_prompt", "Edit prompt", id="playground.edit"),
        Binding("ctrl+k", "keep_failed_run", "Keep failed run", id="playground.keep"),
    ]

    @dataclass
    class StateLoaded(Message):
        """The project's playground, prompt, datasets and scorers."""

        state: PlaygroundState

    @dataclass
    class PromptSaved(Message):
        """The prompt was saved as a new version (and the playground pointed at it)."""

        prompt: Any
        playground: Any | None
        versions: int

    @dataclass
    class PreviousRunFound(Message):
        """The run to compare the last one with (None: there is no earlier run on the dataset)."""

        base: Any | None
        latest: Any

    def __init__(self) -> None:
        super().__init__()
        self.state: PlaygroundState | None = None
        self._loaded_text: str | None = None  # the prompt as last loaded, to tell unsaved edits apart

    def compose_page(self) -> ComposeResult:
        with Horizontal(id="pg-top"):
            # Read-only until the user asks to edit (e or i): tab can pass through it without enter or a
            # letter changing the prompt by surprise; leaving it (esc, tab) makes it read-only again.
            messages = TextArea("", id="pg-messages", soft_wrap=True, tab_behavior="focus", read_only=True,
                                placeholder="Loading the playground…")
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
            yield Label("Loading the playground…", id="pg-status", markup=False)
        results = ArrowTable(
            empty_text="Results appear here as rows finish.", awaiting_rows=False, id="pg-results", classes="pane"
        )
        results.border_title = "results"
        yield results

    # ----- loading -------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the project's playground."""
        if self.project is not None:
            self._load_state(self.project.id)

    @work(thread=True, exclusive=True, group="pg-state", exit_on_error=False)
    def _load_state(self, project_id: str) -> None:
        state = read_state(self.workspace, project_id)  # a failure: see WorkerFailures, show_worker_failure
        self.post_message(self.StateLoaded(state))

    @on(StateLoaded)
    def _fill(self, message: StateLoaded) -> None:
        state = self.state = message.state
        data = state.prompt_data
        editor = self.query_one("#pg-messages", TextArea)
        text = visible(messages_to_text(data.get("messages") or [{"role": "user", "content": "{{input}}"}]))
        unsaved = self._loaded_text is not None and editor.text != self._loaded_text
        # A reload after someone else's write (Loop's data edit, an undo) keeps the user's unsaved prompt
        # edits unless the stored prompt itself changed (then the accepted change wins, and we say so).
        if not unsaved or text != self._loaded_text:
            if unsaved and editor.text != text:
                self.notify("the prompt changed in the workspace: your unsaved edits were replaced", severity="warning")
            editor.load_text(text)
        self._loaded_text = text
        allow = list(self.loop_app.settings.models.allowlist)
        model = data.get("model") or _default_task_model(self.loop_app.settings) or (allow[0] if allow else None)
        if model and model not in allow:
            allow.insert(0, model)  # the prompt's own model stays selectable
        model_select = self.query_one("#pg-model", Select)
        model_select.set_options([(literal(m), m) for m in allow])  # the prompt's model comes from data
        if model:
            model_select.value = model
        import json

        self.query_one("#pg-params", Input).value = json.dumps(data.get("params") or {})
        dataset_select = self.query_one("#pg-dataset", Select)
        dataset_select.set_options([(literal(d.name), d.id) for d in state.datasets])
        if state.dataset_id:
            dataset_select.value = state.dataset_id
        scorers = self.query_one("#pg-scorers", SelectionList)
        scorers.clear_options()
        scorers.add_options([(literal(name), name, name in state.scorers) for name in state.scorer_choices])
        name = state.playground.name if state.playground else (state.prompt.name if state.prompt else "new task")
        editor.border_subtitle = literal(name)
        editor.placeholder = "write the prompt: ## system / ## user blocks, {{input}} variables"
        if self.current_run is None and self.last_result is None:  # a run's progress or outcome owns the line
            self.query_one("#pg-status", Label).update("ctrl+r runs the task over the dataset")

    def _still_loading(self) -> bool:
        """Before the task is read, a run or a save would use a prompt nobody wrote: say so instead."""
        if self.state is None:
            self.notify("the playground is still loading; try again once its prompt is shown", severity="warning")
            return True
        return False

    def action_run(self) -> None:
        """Run the task over the dataset with the chosen scorers (once the playground is loaded)."""
        if not self._still_loading():
            super().action_run()

    def show_empty(self, message: str) -> None:
        self.query_one("#pg-error", Label).update(literal(message))

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """The page's error line is where the prompt's load, a run's outcome and its score summary appear."""
        self.query_one("#pg-error", Label).update(literal(sentence))
        if not in_place:
            super().show_worker_failure(sentence, in_place)

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

    def on_loop_chat_tool_produced(self, message: Any) -> None:
        """Loop's run_eval on this page's playground finished: the run fills the results grid (LoopChat.ToolProduced)."""
        from loop_tui.agent.tools.prompt_tools import PlaygroundRun

        run = message.artifact
        playground = self.state.playground if self.state is not None else None
        if isinstance(run, PlaygroundRun) and playground is not None and run.playground_id == playground.id:
            self.show_loop_run(run.result)

    def action_edit_prompt(self) -> None:
        """Put the cursor in the prompt editor (esc leaves it)."""
        editor = self.query_one("#pg-messages", TextArea)
        editor.read_only = False
        editor.focus()

    @on(events.DescendantBlur, "#pg-messages")
    def _stop_editing_prompt(self, event: events.DescendantBlur) -> None:
        event.widget.read_only = True  # type: ignore[attr-defined]

    # ----- validation ----------------------------------------------------------------------------
    @on(TextArea.Changed, "#pg-messages")
    @on(Input.Changed, "#pg-params")
    def _validate(self) -> bool:
        _, error = text_to_messages(self.query_one("#pg-messages", TextArea).text)
        _, params_error = parse_params(self.query_one("#pg-params", Input).value)
        self.query_one("#pg-params", Input).set_class(params_error is not None, "-invalid")
        self.query_one("#pg-error", Label).update(literal(error or params_error or self.run_line))
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

    # ----- saving and comparing ------------------------------------------------------------------
    def action_save_prompt(self) -> None:
        """Save the prompt as a new version (and point the playground at it)."""
        if self._still_loading():
            return
        data = self._prompt_data()
        if data is not None and self.project is not None and self.state is not None:
            self._save(data)

    @work(thread=True, exclusive=True, group="pg-save", exit_on_error=False)
    def _save(self, data: dict[str, Any]) -> None:
        state = self.state
        assert state is not None and self.project is not None
        ws = self.workspace
        playground = state.playground
        try:
            name = state.prompt.name if state.prompt else "playground-prompt"
            prompt = ws.save_object("prompt", self.project.id, name, data, id=state.prompt.id if state.prompt else None)
            if playground is not None:
                pg_data = {**playground.data, "prompt_id": prompt.id, "prompt": data}
                playground = ws.save_object("playground", self.project.id, playground.name, pg_data, id=playground.id)
            versions = len(ws.object_versions(prompt.id))
        except UserError as exc:  # anything else is a bug: WorkerFailures logs it
            self.post_message(WorkFailed("save prompt", str(exc)))
            return
        self.post_message(self.PromptSaved(prompt, playground, versions))

    @on(PromptSaved)
    def _saved(self, message: PromptSaved) -> None:
        if self.state is not None:
            self.state.prompt, self.state.playground = message.prompt, message.playground
        self.notify(f"saved prompt {message.prompt.name} as version {message.versions}")

    def action_compare_previous(self) -> None:
        """Compare the last run with the run before it."""
        if self.last_result is None:
            self.notify("run the task first (ctrl+r)", severity="warning")
            return
        self._find_previous(self.last_result.experiment_id, self.last_result.base_id)

    @work(thread=True, exclusive=True, group="pg-compare", exit_on_error=False)
    def _find_previous(self, experiment_id: str, base_id: str | None) -> None:
        from loop_tui.evals.summary import previous_experiment

        ws = self.workspace
        latest = ws.object_by_id(experiment_id)
        base_id = base_id or previous_experiment(ws, latest)
        self.post_message(self.PreviousRunFound(ws.object_by_id(base_id) if base_id else None, latest))

    @on(PreviousRunFound)
    def _compare(self, message: PreviousRunFound) -> None:
        from loop_tui.ui.screens.compare import CompareScreen

        if message.base is None:
            self.notify("there is no earlier run on this dataset to compare with")
            return
        self.app.push_screen(CompareScreen([message.base, message.latest]))


PAGE_SCREEN = PlaygroundScreen


def _pushed() -> tuple[type, ...]:
    from loop_tui.ui.widgets.text_view import TextViewModal

    return (TextViewModal,)


PUSHED_SCREENS = _pushed()
