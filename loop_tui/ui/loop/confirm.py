"""`ConfirmChangeModal`: what a mutating Loop tool call will change, with accept / reject / always allow.

Prompt and scorer edits show a coloured unified diff, data edits the rows, an eval run its scope and
estimated cost. The modal dismisses with a `Decision`; the chat resolves the agent's future with it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.highlight import highlight
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from loop_tui.agent.events import Decision
from loop_tui.safe_text import literal, visible

if TYPE_CHECKING:
    from loop_tui.agent.events import PendingCall, Preview

CELL_CHARS = 48
ROW_FIELDS = ("input", "expected", "metadata", "tags")


def _text(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return " ".join(text.split())


def _cell(value: Any, start: int = 0) -> str:
    """The value as one cell of at most CELL_CHARS, from `start` (then led by "…")."""
    text = _text(value)
    if start > 0:
        text = "…" + text[start:]
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _changed_cells(before: Any, after: Any) -> tuple[str, str]:
    """Before and after of one field as cells; when they differ only past what a cell shows, both start a little
    before the first difference, so the cells never look the same for values that are not."""
    old, new = _text(before), _text(after)
    same = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        same += 1
    start = same - 12 if old != new and same > CELL_CHARS - 16 else 0
    return _cell(before, start), _cell(after, start)


def preview_table_rows(preview: Preview) -> list[tuple[str, ...]]:
    """The rows of a data-edit preview as table cells: op, id, then each row field (updates: before and after)."""
    cells: list[tuple[str, ...]] = []
    for row in preview.rows:
        op = str(row.get("op", "?"))
        rid = _cell(row.get("id"))[:12]
        if op == "add":
            cells.append(("+ add", rid, *(_cell(row.get(f)) for f in ROW_FIELDS)))
        elif op == "update":
            before, after = row.get("before") or {}, row.get("after") or {}
            pairs = [_changed_cells(before.get(f), after.get(f)) for f in ROW_FIELDS]
            cells.append(("~ before", rid, *(old for old, _ in pairs)))
            cells.append(("~ after", "", *(new for _, new in pairs)))
        else:
            before = row.get("before") or {}
            cells.append(("- delete", rid, *(_cell(before.get(f)) for f in ROW_FIELDS)))
    return cells


def eval_scope_lines(preview: Preview) -> list[tuple[str, str]]:
    """An eval preview's scope as label/value pairs, the estimated cost last."""
    d = preview.details
    cost = d.get("estimated_cost_usd")
    return [
        ("playground", str(d.get("playground", ""))),
        ("dataset", f"{d.get('dataset', '')} ({d.get('rows', '?')} rows)"),
        ("scorers", ", ".join(d.get("scorers") or []) or "none"),
        ("model", str(d.get("model", ""))),
        ("model calls", f"about {d.get('model_calls', '?')}"),
        ("compare with", str(d.get("base_experiment") or "nothing (first run)")),
        ("estimated cost", f"${cost:.4f}" if isinstance(cost, int | float) else "unknown (no prices for this model)"),
    ]


class ConfirmChangeModal(ModalScreen[Decision]):
    """Ask before a Loop tool changes anything: y accepts, n rejects, a always allows this tool."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "decide('accept')", "Accept", id="loop.confirm.accept"),
        Binding("n,escape", "decide('reject')", "Reject", id="loop.confirm.reject"),
        Binding("a", "decide('always')", "Always allow", id="loop.confirm.always"),
    ]
    """Answer keys (remappable): accept once, reject, or accept and stop asking for this tool."""

    def __init__(self, call: PendingCall, preview: Preview, *, allow_always: bool = True) -> None:
        super().__init__(classes="loop-confirm")
        self.call = call
        self.preview = preview
        self.allow_always = allow_always

    def compose(self) -> ComposeResult:
        with Vertical(classes="loop-confirm-box"):
            yield Label(Content.assemble(("Loop wants to change something: ", "bold"), (visible(self.preview.title), "bold $accent")),
                        classes="loop-confirm-title")
            yield Label(Content.assemble(("tool ", "$text-muted"), (self.call.name, "bold"),
                                         (f" · {self.preview.kind}", "$text-muted")), classes="loop-confirm-sub")
            yield from self._compose_preview()
            with Horizontal(classes="loop-confirm-buttons"):
                yield Button("Accept (y)", id="loop-accept", variant="success")
                yield Button("Reject (n)", id="loop-reject", variant="error")
                if self.allow_always:
                    yield Button(f"Always allow {self.call.name} (a)", id="loop-always")

    def _compose_preview(self) -> ComposeResult:
        kind = self.preview.kind
        if kind == "rows" and self.preview.rows:
            table: DataTable = DataTable(classes="loop-confirm-rows", cursor_type="row", zebra_stripes=True)
            table.add_columns("op", "id", *ROW_FIELDS)
            for cells in preview_table_rows(self.preview):
                table.add_row(*(literal(cell) for cell in cells))  # str cells would be read as markup
            yield table
        elif kind == "eval":
            with Vertical(classes="loop-confirm-scope"):
                for label, value in eval_scope_lines(self.preview):
                    style = "bold $warning" if label == "estimated cost" else ""
                    yield Static(Content.assemble((f"{label:>15}  ", "$text-muted"), (visible(value), style)))
        else:
            language = "diff" if kind == "diff" else "json"
            with VerticalScroll(classes="loop-confirm-diff"):
                yield Static(highlight(visible(self.preview.text), language=language), classes="loop-confirm-text")

    def on_mount(self) -> None:
        # The safe answer has focus, so a stray Enter never applies a change.
        self.query_one("#loop-reject", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Answer with the button pressed."""
        event.stop()
        answers = {"loop-accept": Decision.ACCEPT, "loop-reject": Decision.REJECT, "loop-always": Decision.ALWAYS}
        self.dismiss(answers.get(event.button.id or "", Decision.REJECT))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """'Always allow' exists only for tool calls."""
        if action == "decide" and parameters == ("always",):
            return self.allow_always
        return True

    def action_decide(self, decision: str) -> None:
        """Answer from a key."""
        self.dismiss(Decision(decision))
