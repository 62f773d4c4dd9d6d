"""Tune scorer: label the rows a scorer got wrong, let Loop adjust it, report agreement before and after."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, SelectionList

from loop_tui.errors import UserError
from loop_tui.safe_text import literal
from loop_tui.ui.loop.agreement import Agreement, agreement
from loop_tui.ui.loop.tune_data import (
    TuneData,
    TuneRequest,
    gather,
    missing_scores,
    preview,
    score_of,
    tune_prompt,
)

if TYPE_CHECKING:
    from rich.text import Text

    from loop_tui.agent import PageContext
    from loop_tui.ui.loop.chat import LoopChat


class TuneScorerModal(ModalScreen["TuneRequest | None"]):
    """Pick a scorer, select the rows it scored wrong, the right label, and optional instructions."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Tune", id="loop.tune.submit"),
        Binding("escape", "cancel", "Cancel", id="loop.tune.cancel"),
    ]
    """ctrl+s sends the labels to Loop; esc closes."""

    def __init__(self, data: TuneData) -> None:
        super().__init__(classes="loop-tune")
        self.data = data

    def compose(self) -> ComposeResult:
        first = self.data.scorers[0]
        # Scrolls on a short terminal (80x24): the label, instructions and Tune button come into view as the
        # cursor reaches them, instead of being cut off below the rows.
        with VerticalScroll(classes="loop-tune-box"):
            yield Label(literal(f"Tune a scorer · experiment {self.data.experiment}"), classes="loop-picker-title")
            yield Label("scorer", classes="loop-tune-label")
            yield Select([(literal(s.name), s.name) for s in self.data.scorers], value=first.name, allow_blank=False,
                         id="loop-tune-scorer")
            yield Label("rows the scorer got wrong (space selects)", classes="loop-tune-label")
            yield SelectionList[str](id="loop-tune-rows")
            yield Label("the right label for those rows", classes="loop-tune-label")
            yield Select(self._label_options(first.name), allow_blank=False, id="loop-tune-label")
            yield Input(placeholder="instructions for Loop (optional)", id="loop-tune-instructions")
            with Horizontal(classes="loop-confirm-buttons"):
                yield Button("Tune (ctrl+s)", id="loop-tune-go", variant="primary")
                yield Button("Cancel (esc)", id="loop-tune-cancel")

    def on_mount(self) -> None:
        self._fill_rows(self.data.scorers[0].name)
        self.query_one("#loop-tune-rows", SelectionList).focus()

    def _scorer(self, name: str):  # noqa: ANN202 - a TunableScorer
        return next(s for s in self.data.scorers if s.name == name)

    def _label_options(self, name: str) -> list[tuple[Text, str]]:
        return [(literal(f"{label} ({value:g})"), str(value)) for label, value in self._scorer(name).labels]

    def _fill_rows(self, name: str) -> None:
        rows = self.query_one("#loop-tune-rows", SelectionList)
        rows.clear_options()
        for row in self.data.rows:
            score = score_of(row, name)
            shown = "  -- " if score is None else f"{score:5.2f}"
            rows.add_option((literal(f"{shown}  {preview(row.get('input'), 40)} → {preview(row.get('output'), 40)}"), row["id"]))
        if rows.option_count:
            rows.highlighted = 0

    @on(Select.Changed, "#loop-tune-scorer")
    def _scorer_changed(self, event: Select.Changed) -> None:
        name = str(event.value)
        self._fill_rows(name)
        labels = self.query_one("#loop-tune-label", Select)
        labels.set_options(self._label_options(name))

    @on(Button.Pressed, "#loop-tune-go")
    def _go(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#loop-tune-cancel")
    def _cancel(self) -> None:
        self.action_cancel()

    def action_submit(self) -> None:
        """Send the labels (at least one row must be selected)."""
        wrong = list(self.query_one("#loop-tune-rows", SelectionList).selected)
        if not wrong:
            self.notify("select the rows the scorer got wrong first (space)", severity="warning")
            return
        scorer = self._scorer(str(self.query_one("#loop-tune-scorer", Select).value))
        desired = float(str(self.query_one("#loop-tune-label", Select).value))
        instructions = self.query_one("#loop-tune-instructions", Input).value
        self.dismiss(TuneRequest(scorer, self.data.rows, wrong, desired, instructions))

    def action_cancel(self) -> None:
        """Close without tuning."""
        self.dismiss(None)


def start_tune_scorer(chat: LoopChat) -> None:
    """Read the rows to label, score them with scorers that have no recorded scores, open the labelling modal."""
    chat.run_worker(_load_and_label(chat, chat.page_context()), group="loop-tune", exit_on_error=False)


async def _load_and_label(chat: LoopChat, context: PageContext) -> None:
    import asyncio

    try:
        data = await asyncio.to_thread(gather, chat.workspace, context)
    except UserError as err:
        chat.notice(f"Tune scorer: {err}", "error")
        return
    for tunable in missing_scores(data):
        scores = await score_rows(chat, tunable.name, data.rows)
        for row, score in zip(data.rows, scores, strict=True):
            row.setdefault("scores", {})
            row["scores"] = {**(row.get("scores") or {}), tunable.name: score}

    def labelled(request: TuneRequest | None) -> None:
        if request is not None:  # (None: cancelled)
            send_tune_request(chat, request)

    chat.app.push_screen(TuneScorerModal(data), labelled)


async def score_rows(chat: LoopChat, name: str, rows: list[dict]) -> list[float | None]:
    """Score rows with the project's scorer `name` as saved now (None where it fails)."""
    from loop_tui.evals.registry import resolve_scorer

    project = chat.page_context().project
    project_id = chat.workspace.project(project).id if project else None
    scorer = resolve_scorer(name, chat.workspace, project_id, settings=chat.settings, judge_model=chat.model_name)
    scores: list[float | None] = []
    try:
        for row in rows:
            try:
                result = await scorer.eval_async(output=row.get("output"), expected=row.get("expected"),
                                                 input=row.get("input"), metadata=row.get("metadata") or {})
                scores.append(result.score)
            except Exception:  # a row the scorer cannot score counts as a disagreement, not a crash
                scores.append(None)
    finally:
        close = getattr(scorer, "aclose", None)
        if close is not None:
            await close()
    return scores


def send_tune_request(chat: LoopChat, request: TuneRequest) -> None:
    """Send the labels to Loop; when it finishes, re-score the rows and report agreement before and after."""
    before = request.before()
    display = (f"Tune scorer {request.scorer.name}: {len(request.wrong_ids)} row(s) labelled wrong. "
               f"Before: {before.describe()} over {before.n} rows.")

    async def report(_answer: str) -> None:
        chat.run_worker(_rescore_and_report(chat, request, before), group="loop-tune", exit_on_error=False)

    chat.send(tune_prompt(request), display=display, after=report)


async def _rescore_and_report(chat: LoopChat, request: TuneRequest, before: Agreement) -> None:
    import asyncio

    from loop_tui.errors import NotFoundError

    ws, name = chat.workspace, request.scorer.name
    try:
        obj = await asyncio.to_thread(ws.get_object, "scorer", request.scorer.project_id, request.scorer.id)
    except NotFoundError:
        chat.notice(f"Scorer {name} no longer exists; nothing to measure.", "warning")
        return
    if obj.xact_id == request.scorer.xact_id:
        chat.notice(f"Scorer {name} was not changed; agreement stays at {before.describe()}.", "warning")
        return
    scores = await score_rows(chat, name, request.rows)
    failures = sum(1 for score in scores if score is None)
    after = agreement(scores, request.truth(), [v for _, v in request.scorer.labels])
    note = f" ({failures} row(s) could not be scored)" if failures else ""
    chat.report(
        f"**Scorer {name}: agreement with your labels** over {after.n} rows{note}\n\n"
        "| | accuracy | Cohen's kappa |\n|---|---|---|\n"
        f"| before | {before.accuracy:.0%} | {_kappa(before)} |\n| after | {after.accuracy:.0%} | {_kappa(after)} |\n\n"
        "Rows you did not select count as correctly scored before the change."
    )


def _kappa(a: Agreement) -> str:
    return "n/a" if a.kappa is None else f"{a.kappa:.2f}"
