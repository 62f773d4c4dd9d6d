"""`QuestionModal`: pick a ready-made question for Loop, or choose to write your own."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from loop_tui.safe_text import literal

OWN = "__own__"


class QuestionModal(ModalScreen["str | None"]):
    """Dismisses with the chosen question, "" for "write your own", or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="loop.question.cancel")]

    def __init__(self, title: str, questions: list[str]) -> None:
        super().__init__(classes="loop-picker")
        self.title_text = title
        self.questions = questions

    def compose(self) -> ComposeResult:
        with Vertical(classes="loop-picker-box"):
            yield Label(literal(self.title_text), classes="loop-picker-title")
            options = [Option(literal(q), id=str(i)) for i, q in enumerate(self.questions)]
            yield OptionList(*options, Option("Ask your own question…", id=OWN), id="loop-questions")
            yield Label("enter asks · esc cancels", classes="loop-picker-hint")

    @on(OptionList.OptionSelected, "#loop-questions")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or OWN
        self.dismiss("" if option_id == OWN else self.questions[int(option_id)])

    def action_cancel(self) -> None:
        """Close without asking."""
        self.dismiss(None)
