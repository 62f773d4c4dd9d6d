"""How the app shell wires Loop in: page keys for the workflows, palette entries, the stylesheet, context.

See the package docstring (`loop_tui.ui.loop`) for the few lines the shell adds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from loop_tui.ui.keys import DECLARED, with_added_bindings
from loop_tui.ui.loop.workflows import WORKFLOWS, run_workflow, workflows_for

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from loop_tui.agent import PageContext
    from loop_tui.ui.loop.chat import LoopChat

STYLESHEET = "loop.tcss"


def loop_stylesheet() -> Path:
    """The path of `styles/loop.tcss` (beside the app's other stylesheets)."""
    from loop_tui.ui.paths import styles_dir

    return styles_dir() / STYLESHEET


def mounted_chats(node: DOMNode) -> list[LoopChat]:
    """The Loop chats mounted under `node`. Never imports the chat: until something has, none is mounted
    (the pages ask this while they mount, before the app loads Loop)."""
    # (A thread may be importing it right now: until the class exists, no chat does either.)
    chat_class = getattr(sys.modules.get("loop_tui.ui.loop.chat"), "LoopChat", None)
    if chat_class is None:
        return []
    return list(node.query(chat_class))


def find_chat(node: DOMNode) -> LoopChat | None:
    """The Loop chat on `node`'s screen (the current screen when `node` is the app); None while Loop loads."""
    screen = node.screen
    # A modal on top has no chat: look under it, on the page that opened it.
    for candidate in reversed(screen.app.screen_stack if screen.is_modal else [screen]):
        found = mounted_chats(candidate)
        if found:
            return found[0]
    return None


def workflow_bindings(page: str | None = None) -> list[Binding]:
    """The workflow keys of `page` (default: of every page) as Bindings with ids (`loop.<page>.<workflow>`)."""
    chosen = workflows_for(page) if page is not None else WORKFLOWS
    return [Binding(w.key, w.action, w.title.removeprefix("Loop: ").capitalize(), id=w.binding_id,
                    show=False, group=Binding.Group("Loop")) for w in chosen]


class LoopPageMixin:
    """Mix into a page (Screen or widget) to give it Loop's workflow keys: `action_loop_workflow(id)`.

    Every page class carries the workflow keys of every page (added to its BINDINGS when the class is
    created, see `with_added_bindings`), and `check_action` enables only those of the page's `PAGE`, which
    a screen may set per instance (a trace opened from the experiments page). The keys go through the
    app's keymap like any other.
    """

    ADDED_BINDING_IDS: ClassVar[frozenset[str]] = frozenset()
    """Ids of the bindings added to this class's BINDINGS (listed by Loop's palette entries, not by help)."""

    @classmethod
    def added_bindings(cls) -> list[Binding]:
        """The bindings every class of this kind carries after its own (override to add more)."""
        return workflow_bindings()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        extras = cls.added_bindings()
        # Before Textual's __init_subclass__ (further down the MRO), which merges every class's BINDINGS:
        # this class's BINDINGS become the whole merge, extras included, so Textual must not merge again.
        setattr(cls, DECLARED, list(cls.__dict__.get("BINDINGS", [])))
        cls.BINDINGS = with_added_bindings(cls, extras)  # type: ignore[attr-defined]
        cls.ADDED_BINDING_IDS = frozenset(b.id for b in extras if b.id)
        kwargs["inherit_bindings"] = False
        super().__init_subclass__(**kwargs)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A workflow key works on its own page only."""
        if action == "loop_workflow" and parameters:
            workflow = next((w for w in WORKFLOWS if w.id == parameters[0]), None)
            if workflow is None or workflow.page != getattr(self, "PAGE", ""):
                return False
        return super().check_action(action, parameters)  # type: ignore[misc]

    def action_loop_workflow(self, workflow_id: str) -> None:
        """Run a Loop workflow in this page's chat (opening the panel if it is hidden)."""
        chat = find_chat(self)  # type: ignore[arg-type]
        if chat is None:
            self.app.notify("Loop's chat is not on this page", severity="warning")  # type: ignore[attr-defined]
            return
        _reveal(chat)
        run_workflow(chat, workflow_id)


def _reveal(chat: LoopChat) -> None:
    node: Any = chat
    while node is not None and node is not chat.screen:
        if not node.display:
            node.display = True
        node = node.parent
    if getattr(chat.app, "chat_open", True) is False:
        setattr(chat.app, "chat_open", True)  # noqa: B010 - the app shell's attribute (the harness has none)


def page_context_provider(screen: Any) -> Callable[[], PageContext]:
    """A context provider for a page screen: its PAGE, the app's project, plus `screen.loop_context()` if any.

    `loop_context()` (optional, on the screen) returns a dict of PageContext fields the page knows:
    experiment_id, base_experiment_id, dataset_id, playground_id, selected_row_ids, btql_query, btql_error.
    """

    def provide() -> PageContext:
        # Imported when Loop first asks (after the page's first rows), not when the page composes: the agent
        # package (and its models) cost ~40 ms of the UI thread before the rows.
        from loop_tui.agent import PageContext

        project = getattr(screen.app, "project", None)
        fields: dict[str, Any] = {"page": screen.PAGE, "project": getattr(project, "name", None)}
        extra = getattr(screen, "loop_context", None)
        if extra is not None:
            fields.update({k: v for k, v in (extra() or {}).items() if v is not None})
        return PageContext.from_dict(fields)

    return provide


class LoopCommands(Provider):
    """Command palette entries "Loop: …" for the current page's workflows and the chat's own actions."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        chat = find_chat(self.app)
        if chat is None:
            return []
        page = chat.page_context().page
        entries: list[tuple[str, str, Callable[[], object]]] = []
        for w in workflows_for(page):
            entries.append((w.title, f"key {w.key} on the {page} page", partial(_run, chat, w.id)))
        for action, title in (("pick_model", "Loop: choose model"), ("pick_tools", "Loop: tools on/off"),
                              ("history", "Loop: conversation history"), ("new_conversation", "Loop: new conversation"),
                              ("toggle_fullscreen", "Loop: full screen chat"), ("undo", "Loop: undo last change"),
                              ("continue_run", "Loop: continue"), ("cancel", "Loop: cancel")):
            if chat.check_action(action, ()):
                entries.append((title, "", partial(chat.run_action, action)))
        return entries

    async def discover(self) -> Hits:
        """Everything, before the user types."""
        for title, help_text, run in self._entries():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        """Fuzzy-match the entries."""
        matcher = self.matcher(query)
        for title, help_text, run in self._entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help=help_text)


def _run(chat: LoopChat, workflow_id: str) -> None:
    _reveal(chat)
    run_workflow(chat, workflow_id)


__all__ = [
    "WORKFLOWS",
    "LoopCommands",
    "LoopPageMixin",
    "find_chat",
    "loop_stylesheet",
    "page_context_provider",
    "workflow_bindings",
]
