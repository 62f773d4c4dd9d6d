"""`ProjectPicker`: a modal list of the workspace's projects (enter picks, esc cancels).

With a Braintrust key set it also lists the organisation's projects (fetched in a worker): ones not here yet
are marked and `enter` pulls them; `p` pulls the highlighted Braintrust project again; `u` pushes the
highlighted local project's changes (the app shows what would be sent and asks first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from loop_tui.counts import counted
from loop_tui.safe_text import literal
from loop_tui.ui.failures import WorkerFailures
from loop_tui.ui.sync_work import PullChoice, PushChoice, RemoteProjectsLoaded, load_remote_projects

if TYPE_CHECKING:
    from loop_tui.store import CatalogObject
    from loop_tui.ui.sync_work import SyncChoice  # noqa: F401 - named in the string ModalScreen[...] below

_REMOTE = "remote:"


class ProjectPicker(WorkerFailures, ModalScreen["CatalogObject | SyncChoice | None"]):
    """Choose the project every page shows, or a Braintrust project to pull."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        Binding("p", "pull", "Pull from Braintrust", id="picker.pull"),
        Binding("u", "push", "Push to Braintrust", id="picker.push"),
    ]

    def __init__(self, projects: list[CatalogObject], current: CatalogObject | None, *, remote: bool = False) -> None:
        super().__init__()
        self.projects = projects
        self.current = current
        self.remote = remote
        self.remote_projects: dict[str, dict[str, Any]] = {}  # option id -> remote project

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Label("Switch project", classes="modal-title")
            if not self.projects and not self.remote:
                yield Label("No projects in this workspace yet (try `loop-tui demo`).")
            options = [Option(literal(p.name), id=p.id) for p in self.projects]  # a name like `[/` is data
            yield OptionList(*options, id="project-options")
            if self.remote:
                yield Label("Braintrust: loading projects…", id="remote-status")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.current is not None:
            for index, project in enumerate(self.projects):
                if project.id == self.current.id:
                    options.highlighted = index
        options.focus()
        if self.remote:
            self._load_remote()

    @work(thread=True, exclusive=True, group="remote-projects", exit_on_error=False)
    def _load_remote(self) -> None:
        load_remote_projects(self.app.settings, self.post_message)  # type: ignore[attr-defined]

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """Listing Braintrust's projects failed: say so where they would have been listed."""
        self.query_one("#remote-status", Label).update(literal(sentence))

    def on_remote_projects_loaded(self, message: RemoteProjectsLoaded) -> None:
        """Add the Braintrust projects that are not here yet, marked; mark the local ones pulled from there."""
        status = self.query_one("#remote-status", Label)
        if message.error:
            status.update(literal(f"Braintrust: {message.error}"))
            return
        local = {p.id for p in self.projects}
        options = self.query_one(OptionList)
        for project in sorted(message.projects, key=lambda p: str(p.get("name"))):
            pid, name = str(project.get("id")), str(project.get("name"))
            if pid in local:
                self.remote_projects[pid] = project
                continue
            self.remote_projects[_REMOTE + pid] = project
            options.add_option(Option(Text.assemble(literal(name), ("  ☁ Braintrust: enter pulls it", "dim")), id=_REMOTE + pid))
        status.update(Text(f"Braintrust: {counted(len(message.projects), 'project')}; p pulls the highlighted one, u pushes it"))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Return the chosen project, or ask for a pull of a Braintrust-only one."""
        option_id = event.option.id or ""
        if option_id.startswith(_REMOTE):
            self.dismiss(PullChoice(str(self.remote_projects[option_id]["name"])))
            return
        self.dismiss(next(p for p in self.projects if p.id == option_id))

    def action_pull(self) -> None:
        """Pull the highlighted project from Braintrust (a local one only if it came from there)."""
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        option_id = options.get_option_at_index(options.highlighted).id or ""
        project = self.remote_projects.get(option_id)
        if project is None:
            self.notify("this project is not in Braintrust (or the list is still loading)", severity="warning")
            return
        self.dismiss(PullChoice(str(project["name"])))

    def action_push(self) -> None:
        """Push the highlighted local project's changes to Braintrust (the app asks first)."""
        if not self.remote:
            self.notify("set BRAINTRUST_API_KEY to push to Braintrust", severity="warning")
            return
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        option_id = options.get_option_at_index(options.highlighted).id or ""
        project = next((p for p in self.projects if p.id == option_id), None)
        if project is None:
            self.notify("this project is only in Braintrust: pull it first (p)", severity="warning")
            return
        self.dismiss(PushChoice(project.name))

    def action_cancel(self) -> None:
        """Close without switching."""
        self.dismiss(None)
