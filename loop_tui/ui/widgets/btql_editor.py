"""`BtqlEditor`: a TextArea with BTQL/SQL highlighting, inline completion and an error underline.

Highlighting comes from a small regex tokenizer (`btql_text.highlight_spans`) applied in `get_line`, the
hook TextArea documents for styling its lines, so no tree-sitter grammar is needed. Completion shows the first candidate as ghost text
(→ or tab accepts, ctrl+n cycles) and lists the others beside the editor.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea
from textual.widgets.text_area import TextAreaTheme

from loop_tui.ui.btql_text import completions, highlight_spans, word_before

ERROR_HIGHLIGHT = "btql.error"


class BtqlEditor(TextArea):
    """The sandbox's query editor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "accept_completion", "Complete", show=False, id="btql_editor.complete"),
        Binding("ctrl+n", "next_completion", "Next completion", show=False, id="btql_editor.next_completion"),
    ]

    class CompletionsChanged(Message):
        """The candidates for the word at the cursor changed."""

        def __init__(self, candidates: list[str], prefix: str) -> None:
            super().__init__()
            self.candidates = candidates
            self.prefix = prefix

    def __init__(self, text: str = "", *, id: str | None = None) -> None:  # noqa: A002
        # Set before TextArea's __init__, which may already draw lines.
        self._functions: list[str] = []
        self._syntax: dict[str, Style] = {}
        self.fields: list[str] = []
        self.error_span: tuple[int, int, int, int] | None = None  # 0-based (line, col, end_line, end_col)
        super().__init__(text, id=id, show_line_numbers=True, tab_behavior="focus", soft_wrap=False)
        self._candidates: list[str] = []
        self._candidate_index = 0
        self._prefix = ""

    def on_mount(self) -> None:
        self._register_theme()
        self.watch(self.app, "theme", lambda _: self._register_theme(), init=False)

    @property
    def functions(self) -> list[str]:
        """The function names highlighted (and completed) as functions."""
        return self._functions

    @functions.setter
    def functions(self, names: list[str]) -> None:
        self._functions = names
        self._redraw()

    def _register_theme(self) -> None:
        # Build the syntax colours from the app theme so every Textual theme works.
        theme = self.app.current_theme
        self._syntax = {
            "keyword": Style(color=theme.accent or theme.primary, bold=True),
            "function": Style(color=theme.secondary or theme.primary),
            "string": Style(color=theme.success or theme.primary),
            "number": Style(color=theme.warning or theme.primary),
            "comment": Style(dim=True, italic=True),
            "operator": Style(color=theme.primary),
            ERROR_HIGHLIGHT: Style(underline=True, color=theme.error, bold=True),
        }
        # The cursor line is styled after `get_line`'s colours: give it only its background, so the
        # highlighting and the error underline keep their colours on the cursor's line too.
        cursor_line = self.get_component_rich_style("text-area--cursor-line")
        self.register_theme(TextAreaTheme(name="btql", cursor_line_style=Style(bgcolor=cursor_line.bgcolor)))
        self.theme = "btql"
        self._redraw()

    def _redraw(self) -> None:
        # TextArea caches drawn lines by cursor, scroll and theme, not by what `get_line` adds: a style
        # update is its public way to forget them.
        if self.is_mounted:
            self.notify_style_update()
            self.refresh()

    # ----- highlighting --------------------------------------------------------------------------
    def get_line(self, line_index: int) -> Text:
        """The line with its BTQL highlighting and, on the error's lines, the error underline."""
        line = super().get_line(line_index)
        syntax = self._syntax
        if not syntax:  # not mounted yet: no theme colours
            return line
        plain = line.plain
        for start, end, name in highlight_spans(plain, self._functions):
            line.stylize(syntax[name], start, end)
        if self.error_span is not None:
            first, col, last, end_col = self.error_span
            if first <= line_index <= last:
                start = col if line_index == first else 0
                end = end_col if line_index == last else len(plain)
                # An error at the end of a line (a missing token) still shows one underlined cell.
                line.stylize(syntax[ERROR_HIGHLIGHT], start, max(end, start + 1))
        return line

    def error_underlined(self, line_index: int) -> bool:
        """Whether the line shows the error underline (what a user sees, for tests and checks)."""
        error = self._syntax.get(ERROR_HIGHLIGHT)
        return error is not None and any(span.style == error for span in self.get_line(line_index).spans)

    def mark_error(self, span: tuple[int, int, int, int] | None) -> None:
        """Underline the offending text (None clears)."""
        if span != self.error_span:
            self.error_span = span
            self._redraw()

    # ----- completion ----------------------------------------------------------------------------
    def update_suggestion(self) -> None:
        """Offer the first completion of the word before the cursor as ghost text."""
        row, col = self.cursor_location
        before = self.document.lines[row][:col] if row < len(self.document.lines) else ""
        prefix = word_before(before)
        candidates = completions(prefix, before, self.functions, self.fields) if self.selection.is_empty else []
        self._candidates, self._candidate_index, self._prefix = candidates, 0, prefix
        self.suggestion = candidates[0][len(prefix):] if candidates else ""
        self.post_message(self.CompletionsChanged(candidates, prefix))

    def action_accept_completion(self) -> None:
        """Insert the offered completion (tab moves focus when there is none)."""
        if self.suggestion:
            self.insert(self.suggestion)
        else:
            self.screen.focus_next()

    def action_next_completion(self) -> None:
        """Offer the next candidate."""
        if self._candidates:
            self._candidate_index = (self._candidate_index + 1) % len(self._candidates)
            self.suggestion = self._candidates[self._candidate_index][len(self._prefix):]
