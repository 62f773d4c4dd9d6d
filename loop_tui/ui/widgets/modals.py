"""Small modals: yes/no confirmation and a one-line text prompt.

Their texts quote names and rows, so they are shown as written (`literal`): never markup, controls visible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from loop_tui.safe_text import literal

Result = TypeVar("Result")


def if_chosen(act: Callable[[Result], object]) -> Callable[[Result | None], None]:
    """A modal's result callback that calls `act` with the result, unless the modal was cancelled (None) or
    declined (False)."""

    def call(result: Result | None) -> None:
        if result is not None and result is not False:
            act(result)

    return call


class ConfirmModal(ModalScreen[bool]):
    """Ask a yes/no question; the safe answer (No) has focus."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(literal(self.question), classes="modal-title")
            if self.detail:
                yield Static(literal(self.detail), classes="modal-detail")  # wraps (a Label stays one line)
            with Horizontal(classes="modal-buttons"):
                yield Button("Yes (y)", id="confirm", variant="error")
                yield Button("No (n)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the button pressed."""
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, answer: bool) -> None:
        """Answer from a key."""
        self.dismiss(answer)


class TextPromptModal(ModalScreen["str | None"]):
    """Ask for one line of text (enter accepts, esc cancels)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label(literal(self.question), classes="modal-title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Label("enter accepts · esc cancels", classes="dim")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Return the text."""
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        """Return nothing."""
        self.dismiss(None)


class ChoiceModal(ModalScreen["object | None"]):
    """Pick one of a few labelled values (enter picks, esc cancels)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, title: str, choices: Sequence[tuple[str, object]], empty_text: str = "Nothing to choose from.") -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.empty_text = empty_text

    def compose(self) -> ComposeResult:
        from textual.widgets import OptionList

        with Vertical(classes="modal-box"):
            yield Label(literal(self.title_text), classes="modal-title")
            if not self.choices:
                yield Label(literal(self.empty_text))
            yield OptionList(*[literal(label) for label, _ in self.choices], id="choice-options")

    def on_mount(self) -> None:
        from textual.widgets import OptionList

        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: object) -> None:
        """Return the chosen value."""
        self.dismiss(self.choices[event.option_index][1])  # type: ignore[attr-defined]

    def action_cancel(self) -> None:
        """Return nothing."""
        self.dismiss(None)
