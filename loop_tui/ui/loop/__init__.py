"""Loop in the app: the chat panel (`LoopChat`), confirmation modals, and Loop's workflows.

How the app shell mounts it (a few lines):

1. In `PageScreen.compose` (ui/screens/base.py), instead of the placeholder `ChatPanel`:

       from loop_tui.ui.loop import LoopChat, page_context_provider
       yield LoopChat(self.workspace, self.loop_app.settings, page_context_provider(self), id="chat-panel")

   (or mount it inside `ChatPanel`). `page_context_provider(screen)` builds the `PageContext` from
   `screen.PAGE`, `app.project` and, if the screen defines it, `screen.loop_context() -> dict` with any of
   experiment_id, base_experiment_id, dataset_id, playground_id, selected_row_ids, btql_query, btql_error.

2. Make pages carry the workflow keys: `class PageScreen(LoopPageMixin, Screen)`. Each page class gets
   the workflow bindings (ids `loop.<page>.<workflow>`, remappable through `ui.keybindings`) when it is
   created; those of `self.PAGE` run `action_loop_workflow(id)` in the page's chat.

3. In `LoopApp.__init__`: `register_loop_commands(self)` — adds the "Loop: …" command-palette entries and
   `styles/loop.tcss` (or add "loop.tcss" to `ui/paths.STYLESHEETS`).

4. Optional: the BTQL page handles `LoopChat.QueryAccepted(query)` (Loop's fixed/written query, accepted
   from a diff) to put it in its editor; pages handle `LoopChat.WorkspaceChanged` to reload after Loop
   (or an undo) wrote to the workspace.

Inside the chat: enter sends, esc / ctrl+c cancel a run, ctrl+g continues after the step limit, ctrl+z undoes
Loop's last applied change, ctrl+b model, ctrl+t tools, ctrl+r history, ctrl+n new chat, ctrl+f full screen.
`python -m loop_tui.ui.loop.harness` runs the chat alone on a workspace.
"""

from loop_tui.ui.loop.chat import LoopChat
from loop_tui.ui.loop.confirm import ConfirmChangeModal
from loop_tui.ui.loop.shell import (
    LoopCommands,
    LoopPageMixin,
    find_chat,
    loop_stylesheet,
    page_context_provider,
    register_loop_commands,
    workflow_bindings,
)
from loop_tui.ui.loop.workflows import WORKFLOWS, Workflow, run_workflow, workflows_for

__all__ = [
    "WORKFLOWS",
    "ConfirmChangeModal",
    "LoopChat",
    "LoopCommands",
    "LoopPageMixin",
    "Workflow",
    "find_chat",
    "loop_stylesheet",
    "page_context_provider",
    "register_loop_commands",
    "run_workflow",
    "workflow_bindings",
    "workflows_for",
]
