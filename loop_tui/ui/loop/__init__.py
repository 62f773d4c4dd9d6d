"""Loop in the app: the chat panel (`LoopChat`), confirmation modals, and Loop's workflows.

How the app uses it: every page (`ui/screens/base.py`, `PageScreen`) yields a `LoopChat` beside its content,
built with `page_context_provider(screen)` (the page, project and the screen's `loop_context()`), and pages
are `LoopPageMixin`s, which gives each page its workflow keys (ids `loop.<page>.<workflow>`, remappable
through `ui.keybindings`). The app offers `LoopCommands` in its palette and loads `styles/loop.tcss` with
its other stylesheets (`ui/paths.STYLESHEETS`). Pages handle `LoopChat.WorkspaceChanged` to reload after
Loop (or an undo) wrote, and the BTQL page `LoopChat.QueryAccepted` to put an accepted query in its editor.

Inside the chat: enter sends, esc / ctrl+c cancel a run, ctrl+g continues after the step limit, ctrl+z undoes
Loop's last applied change, ctrl+b model, ctrl+t tools, ctrl+r history, ctrl+n new chat, ctrl+f full screen.
`python -m loop_tui.ui.loop.harness` runs the chat alone on a workspace.
"""

from typing import TYPE_CHECKING, Any

from loop_tui.ui.loop.shell import (
    LoopCommands,
    LoopPageMixin,
    find_chat,
    loop_stylesheet,
    mounted_chats,
    page_context_provider,
    workflow_bindings,
)
from loop_tui.ui.loop.workflows import WORKFLOWS, Workflow, run_workflow, workflows_for

if TYPE_CHECKING:
    from loop_tui.ui.loop.chat import LoopChat
    from loop_tui.ui.loop.confirm import ConfirmChangeModal


def __getattr__(name: str) -> Any:
    # The chat (and the agent under it) is imported when first named, not with the package: the pages
    # import this package, and the app mounts Loop's chat only after the first page shows its data.
    if name == "LoopChat":
        from loop_tui.ui.loop.chat import LoopChat

        return LoopChat
    if name == "ConfirmChangeModal":
        from loop_tui.ui.loop.confirm import ConfirmChangeModal

        return ConfirmChangeModal
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "WORKFLOWS",
    "ConfirmChangeModal",
    "LoopChat",
    "LoopCommands",
    "LoopPageMixin",
    "Workflow",
    "find_chat",
    "loop_stylesheet",
    "mounted_chats",
    "page_context_provider",
    "run_workflow",
    "workflow_bindings",
    "workflows_for",
]
