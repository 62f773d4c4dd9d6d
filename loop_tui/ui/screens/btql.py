"""BTQL sandbox: write a query (either syntax), see parse/bind errors in place as you type, run it
(ctrl+r or F5; ctrl+enter where the terminal sends it) in a worker you can cancel (ctrl+g), and page
through the results grid. f4 switches the source between the local copy and Braintrust (`ui/btql_run.py`).

The editor takes the cursor only when the user asks for it (e, i, / or enter; a click) and esc gives it
back, so the page's keys (digits, letters) are never typed into the query by surprise.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Label, Static

from loop_tui.safe_text import literal
from loop_tui.ui.btql_run import LOCAL_LABEL, REMOTE_LABEL, braintrust_missing, display_arrow, run_page
from loop_tui.ui.btql_text import project_logs_source, replace_source, source_of
from loop_tui.ui.screens.base import PageScreen
from loop_tui.ui.widgets.arrow_table import ArrowTable
from loop_tui.ui.widgets.btql_editor import BtqlEditor
from loop_tui.ui.widgets.modals import ChoiceModal

RESULT_LIMIT = 1000


def error_span(err: Any) -> tuple[int, int, int, int]:
    """A BtqlError's 1-based span as 0-based (line, col, end_line, end_col)."""
    return (err.line - 1, err.col - 1, (err.end_line or err.line) - 1, (err.end_col or err.col + 1) - 1)


class BtqlScreen(PageScreen):
    """The query sandbox."""

    PAGE = "btql"
    YIELD_TO_LOOP = frozenset({"run_query", "cancel_query"})
    BINDINGS: ClassVar[list[BindingType]] = [
        # ctrl+r first: the footer shows the first key, and most terminals never send ctrl+enter.
        Binding("ctrl+r,f5,ctrl+enter,ctrl+j", "run_query", "Run", id="btql.run", priority=True),
        Binding("ctrl+g", "cancel_query", "Cancel", id="btql.cancel", priority=True),
        Binding("ctrl+n", "next_page", "Next page", show=False, id="btql.next_page"),
        Binding("f2", "history", "History", id="btql.history"),
        Binding("f3", "choose_source", "Source", id="btql.source"),
        Binding("f4", "toggle_remote", "Remote", id="btql.remote"),
        Binding("escape", "leave_editor", "Leave editor", show=False, id="btql.leave_editor"),
        Binding("e,i,slash,enter", "edit_query", "Edit query", id="btql.edit"),
        Binding("y", "copy_query", "Copy query", show=False, id="btql.copy_query"),
    ]

    @dataclass
    class Checked(Message):
        """As-you-type validation finished."""

        query: str
        errors: list[Any]

    @dataclass
    class Ran(Message):
        """A query ran (or failed)."""

        query: str
        raw: Any
        display: Any
        cursor: str | None
        warnings: list[str]
        error: Any
        seconds: float
        page: int
        failure: str | None = None  # Braintrust unreachable or refusing the key: a sentence, not a query error
        token: Any = None  # the run's cancel token: a result of a run since replaced is dropped

    @dataclass
    class SchemaLoaded(Message):
        """Field paths of the query's source, for completion."""

        source: str
        fields: list[str]

    @dataclass
    class ChoicesRead(Message):
        """Choices for a picker were read: previous queries (`history`) or data sources (`source`)."""

        kind: str
        choices: list[tuple[str, str]]

    def __init__(self) -> None:
        super().__init__()
        self._debounce: Timer | None = None
        self._cancel: Any = None
        self._schema_source: str | None = None
        self._next_cursor: str | None = None
        self._page = 0
        self._last_query = ""
        self._error: Any = None  # the BtqlError shown in place (Loop's btql_error)
        self.remote = False  # f4: queries run on Braintrust's /btql instead of the local copy

    def compose_page(self) -> ComposeResult:
        with Horizontal(id="btql-top"):
            editor = BtqlEditor(id="btql-editor")
            editor.border_title = "query (BTQL or SQL)"
            editor.border_subtitle = LOCAL_LABEL  # where the query runs (f4 switches)
            yield editor
            with Vertical(id="btql-side", classes="pane"):
                yield Label("completions", classes="section-title")
                yield Static("", id="btql-completions")
        yield Static("", id="btql-error", classes="error-line hidden")
        yield Label("", id="btql-status", classes="status-line")
        results = ArrowTable(empty_text="Run a query to see results.", awaiting_rows=False, id="btql-results", classes="pane")
        results.border_title = "results"
        yield results

    @property
    def editor(self) -> BtqlEditor:
        """The query editor."""
        return self.query_one(BtqlEditor)

    def load(self) -> None:
        """Offer a starting query over the project's logs and load the function list."""
        from loop_tui.btql.functions import FUNCTIONS

        self.editor.functions = sorted(FUNCTIONS)
        if not self.editor.text.strip() and self.project is not None:
            self.editor.load_text(replace_source("", project_logs_source(self.project.name, self.project.id)))
        self._schedule_check()

    def show_empty(self, message: str) -> None:
        self.query_one("#btql-status", Label).update(literal(message))

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """A failed check or run is told on the status line under the editor (a run's also in the results)."""
        self.query_one("#btql-status", Label).update(literal(sentence))
        super().show_worker_failure(sentence, in_place)

    # ----- as-you-type checks --------------------------------------------------------------------
    @on(BtqlEditor.Changed, "#btql-editor")
    def _schedule_check(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.3, lambda: self._check(self.editor.text))

    @work(thread=True, exclusive=True, group="btql-check", exit_on_error=False)
    def _check(self, query: str) -> None:
        from loop_tui.btql import check

        if not query.strip() or self.remote:  # on Braintrust, Braintrust checks the query when it runs
            self.post_message(self.Checked(query, []))
            return
        errors = check(query, self.workspace, self.project.id if self.project else None)
        self.post_message(self.Checked(query, errors))

    @on(Checked)
    def _show_check(self, message: Checked) -> None:
        source = source_of(message.query) if message.query.strip() else None
        if source and source != self._schema_source:
            self._load_schema(source)
        if message.query != self.editor.text:
            return
        if not message.errors and message.query == self._last_query and (
            self.remote or getattr(self._error, "kind", None) == "runtime"
        ):
            return  # a late check (parse and bind only, none when remote) must not hide what the run found
        self._show_error(message.errors[0] if message.errors else None)
        status = self.query_one("#btql-status", Label)
        if not message.errors and message.query != self._last_query and "error" in str(status.render()):
            status.update("the query checks out · ctrl+r (or F5) runs it")  # the last run's error is history

    def _show_error(self, err: Any | None) -> None:
        self._error = err
        box = self.query_one("#btql-error", Static)
        if err is None:
            self.editor.mark_error(None)
            box.add_class("hidden")
            return
        self.editor.mark_error(error_span(err))
        hint = f"\nhint: {err.hint}" if getattr(err, "hint", None) else ""
        box.update(literal(f"{err.kind} error at line {err.line}, column {err.col}: {err.message}{hint}"))  # quotes the query
        box.remove_class("hidden")

    @work(thread=True, exclusive=True, group="btql-schema", exit_on_error=False)
    def _load_schema(self, source: str) -> None:
        from loop_tui.btql import BtqlError, infer_schema

        try:
            fields = [f.path for f in infer_schema(self.workspace, source, self.project.id if self.project else None)]
        except BtqlError:
            return  # the check shows what is wrong with the source
        self.post_message(self.SchemaLoaded(source, fields))

    @on(SchemaLoaded)
    def _use_schema(self, message: SchemaLoaded) -> None:
        self._schema_source = message.source
        self.editor.fields = message.fields

    @on(BtqlEditor.CompletionsChanged)
    def _show_completions(self, message: BtqlEditor.CompletionsChanged) -> None:
        text = "\n".join(message.candidates[:12]) if message.candidates else "(type to see completions)"
        if message.candidates:
            text += "\n\n→/tab accepts · ctrl+n next"
        self.query_one("#btql-completions", Static).update(literal(text))  # field names come from the data

    # ----- running -------------------------------------------------------------------------------
    def action_run_query(self) -> None:
        """Run the editor's query."""
        query = self.editor.text
        if not query.strip():
            return
        from loop_tui.btql import CancelToken
        from loop_tui.ui.btql_history import remember

        self._cancel = CancelToken()
        self._last_query = query
        self.query_one("#btql-status", Label).update("running… ctrl+g cancels")
        self.query_one(ArrowTable).loading = True
        self._run(query, None, 0, self._cancel, self.loop_app.settings if self.remote else None)
        self.run_worker(lambda: remember(query), thread=True, group="btql-remember", exit_on_error=False)

    def action_next_page(self) -> None:
        """Fetch the next page of the last query's results."""
        if self._next_cursor and self._last_query:
            from loop_tui.btql import CancelToken

            self._cancel = CancelToken()
            self._run(self._last_query, self._next_cursor, self._page + 1, self._cancel,
                      self.loop_app.settings if self.remote else None)

    @work(thread=True, exclusive=True, group="btql-run", exit_on_error=False)
    def _run(self, query: str, cursor: str | None, page: int, cancel: Any, remote_settings: Any = None) -> None:
        import time

        from loop_tui.btql import BtqlError
        from loop_tui.remote.errors import RemoteError

        started = time.perf_counter()
        failed = partial(self.Ran, query, None, None, None, [], page=page, token=cancel)
        try:
            result = run_page(query, workspace=self.workspace, project_id=self.project.id if self.project else None,
                              cursor=cursor, cancel=cancel, remote_settings=remote_settings)
        except BtqlError as err:
            self.post_message(failed(err, time.perf_counter() - started))
            return
        except RemoteError as err:
            self.post_message(failed(None, time.perf_counter() - started, failure=str(err)))
            return
        display = display_arrow(result.table)
        self.post_message(self.Ran(query, result.table, display, result.cursor, result.warnings, None,
                                   time.perf_counter() - started, page, token=cancel))

    @on(Ran)
    async def _show_results(self, message: Ran) -> None:
        if self._cancel is not None and message.token is not self._cancel:
            return  # a run since replaced (or cancelled and already said so)
        table = self.query_one(ArrowTable)
        table.loading = False
        status = self.query_one("#btql-status", Label)
        if message.failure is not None:
            status.update(literal(message.failure))
            self._next_cursor = None
            await table.show_message(f"No results: {message.failure}")
            return
        if message.error is not None:
            if message.query == self.editor.text:
                self._show_error(message.error)
            status.update(f"{message.error.kind} error · {message.seconds:.2f}s")
            # Results of an earlier query under this error would read as this query's answer.
            self._next_cursor = None
            await table.show_message(f"No results: the query has a {message.error.kind} error (above).")
            return
        self._show_error(None)
        self._next_cursor, self._page = message.cursor, message.page
        await table.show(message.display, message.raw, empty_text="The query returned no rows.")
        more = " · ctrl+n next page" if message.cursor else ""
        warn = f" · ⚠ {message.warnings[0]}" if message.warnings else ""
        status.update(literal(f"{message.display.num_rows:,} rows (page {message.page + 1}) in {message.seconds:.2f}s{more}{warn}"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """ctrl+g cancels a query; with none running and Loop paused at its step limit, it continues Loop."""
        if action == "cancel_query" and not self.query_one(ArrowTable).loading and self.loop_paused():
            return False
        return super().check_action(action, parameters)

    def action_cancel_query(self) -> None:
        """Stop the running query."""
        if self._cancel is not None:
            self._cancel.cancel()
            self.query_one("#btql-status", Label).update("cancelling…")
            if self.remote and self.query_one(ArrowTable).loading:
                # A request already sent cannot be called back: say so now; its answer, under the old token,
                # is dropped when it comes.
                from loop_tui.btql import BtqlError, CancelToken

                self._cancel = CancelToken()
                cancelled = BtqlError("runtime", "cancelled", "The query was cancelled.")
                self.post_message(self.Ran(self._last_query, None, None, None, [], cancelled, 0.0, self._page,
                                           token=self._cancel))

    def action_toggle_remote(self) -> None:
        """Switch where queries run: the local copy or Braintrust (which needs a key; else say what to set)."""
        status = self.query_one("#btql-status", Label)
        missing = None if self.remote else braintrust_missing(self.loop_app.settings)
        if missing:
            status.update(literal(missing))
            return
        self.remote = not self.remote
        self.editor.border_subtitle = REMOTE_LABEL if self.remote else LOCAL_LABEL
        self.editor.set_class(self.remote, "-remote")
        self.query_one(ArrowTable).border_title = "results from Braintrust" if self.remote else "results"
        status.update("queries run on Braintrust as written · f4 back to the local copy" if self.remote
                      else "queries run on the local copy · f4 runs them on Braintrust")
        self._next_cursor = None  # a cursor from one side means nothing to the other
        self._show_error(None)
        self._schedule_check()

    # ----- Loop ----------------------------------------------------------------------------------
    def loop_context(self) -> dict[str, object]:
        """Loop sees the editor's query and the error shown for it (in the form its tools report errors)."""
        from loop_tui.agent.tools.btql_tools import describe_btql_error

        query = self.editor.text
        return {
            "btql_query": query if query.strip() else None,
            "btql_error": describe_btql_error(self._error) if self._error is not None else None,
            "remote": self.remote,  # Loop's BTQL tools then run on Braintrust too
        }

    def on_loop_chat_query_accepted(self, message: Any) -> None:
        """Loop's query, accepted from its diff, replaces the editor's and runs at once (its check and
        status follow), so the page never shows the old query's error beside the fixed query."""
        message.stop()
        self.editor.load_text(message.query)
        self._schedule_check()
        self.action_run_query()

    # ----- history and sources -------------------------------------------------------------------
    def action_history(self) -> None:
        """Pick a previous query."""
        self._read_history()

    @work(thread=True, exclusive=True, group="btql-history", exit_on_error=False)
    def _read_history(self) -> None:
        from loop_tui.ui.btql_history import load_history

        choices = [(" ".join(q.split())[:90], q) for q in load_history()]
        self.post_message(self.ChoicesRead("history", choices))

    @on(ChoicesRead)
    def _offer_choices(self, message: ChoicesRead) -> None:
        if message.kind == "history":
            modal = ChoiceModal("Query history", message.choices, "No queries run yet.")
            self.app.push_screen(modal, self._use_query)
        else:
            self.app.push_screen(ChoiceModal("Data source", message.choices), self._use_source)

    def _use_query(self, query: object) -> None:
        if isinstance(query, str):
            self.editor.load_text(query)
            self.editor.focus()

    def action_choose_source(self) -> None:
        """Pick the data source (project logs, an experiment, a dataset, prompts, scorers)."""
        self._list_sources(self.project.id if self.project else None)

    @work(thread=True, exclusive=True, group="btql-sources", exit_on_error=False)
    def _list_sources(self, project_id: str | None) -> None:
        from loop_tui.btql import describe_sources

        sources = describe_sources(self.workspace, project_id)
        choices = [(f"{s['kind']:<10} {s['source']}", s["source"]) for s in sources]
        self.post_message(self.ChoicesRead("source", choices))

    def _use_source(self, source: object) -> None:
        if isinstance(source, str):
            self.editor.load_text(replace_source(self.editor.text, source))
            self.editor.focus()

    def action_leave_editor(self) -> None:
        """From the editor to the results (or nowhere), so page keys work; e comes back."""
        results = self.query_one(ArrowTable)
        if self.editor.has_focus and results.grid is not None:
            results.focus_grid()
        else:
            self.set_focus(None)

    def action_copy_query(self) -> None:
        """Copy the query in the editor (on the results grid, `y` copies a row and `Y` one of its fields)."""
        from loop_tui.ui.clipboard import copy_out

        copy_out(self.app, self.editor.text, "the query")

    def action_edit_query(self) -> None:
        """Back to the query editor."""
        self.editor.focus()


PAGE_SCREEN = BtqlScreen
