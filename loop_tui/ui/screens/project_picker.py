"""`ProjectPicker`: a modal list of the workspace's projects (enter picks, esc cancels)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from loop_tui.safe_text import literal

if TYPE_CHECKING:
    from loop_tui.store import CatalogObject


class ProjectPicker(ModalScreen["CatalogObject | None"]):
    """Choose the project every page shows."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(self, projects: list[CatalogObject], current: CatalogObject | None) -> None:
        super().__init__()
        self.projects = projects
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label("Switch project", classes="modal-title")
            if not self.projects:
                yield Label("No projects in this workspace yet (try `loop-tui demo`).")
            options = [Option(literal(p.name), id=p.id) for p in self.projects]  # a name like `[/` is data
            yield OptionList(*options, id="project-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current is not None:
            for index, project in enumerate(self.projects):
                if project.id == self.current.id:
                    options.highlighted = index
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Return the chosen project."""
        self.dismiss(next(p for p in self.projects if p.id == event.option.id))

    def action_cancel(self) -> None:
        """Close without switching."""
        self.dismiss(None)
