"""`FilterBar`: a BTQL filter expression input, validated as you type (parse + bind, in a worker).

The error is shown under the input with the offending span marked, the message and the hint; enter
submits only a valid filter. The page supplies `check(text) -> list[BtqlError]`-like errors by
building the query around the expression (so columns are mapped back with `offset`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Static

from loop_tui.ui.failures import WorkerFailures

# The checker returns (errors, column offset of the expression inside the checked query).
Checker = Callable[[str], tuple[list[Any], int]]


def mark_span(text: str, start: int, end: int) -> Text:
    """`text` with characters [start, end) underlined in the error colour (at least one cell)."""
    start = max(0, min(start, len(text)))
    end = max(start + 1, min(end, len(text) + 1))
    shown = Text(text + " ")
    shown.stylize("bold reverse", start, end)
    return shown


class FilterBar(WorkerFailures, Vertical):
    """Input + in-place error for a BTQL filter expression."""

    class Applied(Message):
        """A valid filter was submitted (empty = no filter)."""

        def __init__(self, bar: FilterBar, text: str) -> None:
            super().__init__()
            self.bar = bar
            self.text = text

        @property
        def control(self) -> FilterBar:
            """The bar."""
            return self.bar

    class Checked(Message):
        """The worker finished validating `text`."""

        def __init__(self, text: str, errors: list[Any], offset: int, apply: bool) -> None:
            super().__init__()
            self.text = text
            self.errors = errors
            self.offset = offset
            self.apply = apply

    def __init__(self, checker: Checker, *, placeholder: str = "", id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.checker = checker
        self.placeholder = placeholder
        self.valid = True
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder, id=f"{self.id}-input", select_on_focus=False)
        yield Static("", classes="error-line hidden", id=f"{self.id}-error")

    @property
    def input(self) -> Input:
        """The text input."""
        return self.query_one(Input)

    @property
    def value(self) -> str:
        """The current text."""
        return self.input.value

    @on(Input.Changed)
    def _schedule_check(self, event: Input.Changed) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        # Validate after a short pause in typing, not on every key.
        self._debounce = self.set_timer(0.25, lambda: self._check(event.value))

    @work(thread=True, exclusive=True, group="filter-check", exit_on_error=False)
    def _check(self, text: str, apply: bool = False) -> None:
        if not text.strip():
            self.post_message(self.Checked(text, [], 0, apply))
            return
        errors, offset = self.checker(text)
        self.post_message(self.Checked(text, errors, offset, apply))

    @on(Checked)
    def _show_check(self, message: Checked) -> None:
        message.stop()
        if message.text != self.value:
            return  # stale: the user kept typing
        self.show_errors(message.errors, message.offset)
        if message.apply and not message.errors:
            self.post_message(self.Applied(self, message.text.strip()))

    def show_errors(self, errors: list[Any], offset: int = 0) -> None:
        """Show the first error under the input (or clear it)."""
        label = self.query_one(f"#{self.id}-error", Static)
        self.valid = not errors
        self.input.set_class(bool(errors), "-invalid")
        if not errors:
            label.add_class("hidden")
            label.update("")
            return
        err = errors[0]
        start = max(0, getattr(err, "col", 1) - 1 - offset)
        same_line = getattr(err, "end_line", 1) == getattr(err, "line", 1)
        end = getattr(err, "end_col", start + 2) - 1 - offset if same_line else len(self.value)
        # The checked query ends where the expression does: its end is the filter's, as the user sees it.
        message = err.message.replace("the end of the query", "the end of the filter")
        text = Text.assemble(mark_span(self.value, start, end), "\n", (f"{err.kind} error: {message}", "bold"))
        if getattr(err, "hint", None):
            text.append(f"  {err.hint}")
        label.update(text)
        label.remove_class("hidden")

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """A check that failed unexpectedly says so where its verdict would have been, under the input."""
        label = self.query_one(f"#{self.id}-error", Static)
        label.update(Text(sentence))  # plain text: the sentence quotes the error, never markup
        label.remove_class("hidden")

    @on(Input.Submitted)
    def _apply(self, event: Input.Submitted) -> None:
        event.stop()
        if self._debounce is not None:
            self._debounce.stop()
        self._check(event.value, apply=True)
