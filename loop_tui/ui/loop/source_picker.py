"""`SourcePickerModal`: the user picks the data source Loop's `get_data_source` asked for.

The agent runs in the chat's async worker; `source_chooser(app)` is the callback the chat hands to
`Agent.choose_source`. It opens the modal and waits for the pick on the event loop (no thread), and if
the run is cancelled while the picker is open, the picker closes with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

KIND_LABELS = {"logs": "logs", "experiment": "experiment", "dataset": "dataset"}

SourceChooser = Callable[[list[dict[str, Any]]], Awaitable[dict[str, Any] | None]]


def source_label(source: dict[str, Any]) -> Content:
    """One picker line: kind, project / name and row count (names are data: plain text, never markup)."""
    kind = KIND_LABELS.get(str(source.get("kind")), str(source.get("kind")))
    name = str(source.get("name"))
    where = name if kind == "logs" else f"{source.get('project')} / {name}"
    rows = source.get("rows")
    count = f"{rows:,} rows" if isinstance(rows, int) else ""
    return Content(f"{kind:<11} {where}  ({count})" if count else f"{kind:<11} {where}")


class SourcePickerModal(ModalScreen["dict[str, Any] | None"]):
    """Dismisses with the chosen source (one of the dicts it was given), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="loop.source.cancel")]

    def __init__(self, sources: list[dict[str, Any]]) -> None:
        super().__init__(classes="loop-picker")
        self.sources = sources

    def compose(self) -> ComposeResult:
        with Vertical(classes="loop-picker-box"):
            yield Label("Loop asks: which data should it query?", classes="loop-picker-title")
            options = [Option(source_label(s), id=str(i)) for i, s in enumerate(self.sources)]
            if not options:
                options = [Option(Content("No data sources in this workspace yet."), disabled=True)]
            yield OptionList(*options, id="loop-sources")
            yield Label("enter picks · esc cancels (Loop is told you did not pick one)", classes="loop-picker-hint")

    def on_mount(self) -> None:
        self.query_one("#loop-sources", OptionList).focus()

    @on(OptionList.OptionSelected, "#loop-sources")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.sources[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        """Close without a pick."""
        self.dismiss(None)


def source_chooser(app: App) -> SourceChooser:
    """The `Agent.choose_source` callback for this app: open the picker, return the user's pick."""

    async def choose(sources: list[dict[str, Any]]) -> dict[str, Any] | None:
        picked: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()

        def answered(choice: dict[str, Any] | None) -> None:
            if not picked.done():
                picked.set_result(choice)

        modal = SourcePickerModal(sources)
        app.push_screen(modal, answered)
        try:
            return await picked
        except asyncio.CancelledError:
            if modal.is_attached and modal.is_active:  # the run was cancelled: do not leave the picker behind
                modal.dismiss(None)
            raise

    return choose
