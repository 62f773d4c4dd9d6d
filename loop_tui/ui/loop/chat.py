"""`LoopChat`: the Loop assistant beside the data — transcript, input, model and tool pickers, history.

One async worker per chat runs `Agent.run` and posts messages (`loop_tui.ui.loop.messages`); the handlers
here render them in order: text streams into the current answer, a tool call closes the answer and gets a
card updated in place by its id, a confirmation opens `ConfirmChangeModal` and resolves the run's future.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Static

from loop_tui.agent import Conversation, Decision
from loop_tui.agent.events import DECLINED
from loop_tui.errors import UserError
from loop_tui.safe_text import literal
from loop_tui.ui.failures import WorkerFailures, failure_sentence, record_failure
from loop_tui.ui.loop import messages as msg
from loop_tui.ui.loop.header import abilities_text, describe_model
from loop_tui.ui.loop.summaries import result_summary
from loop_tui.ui.loop.transcript import AssistantAnswer, Notice, ToolCard, UserTurn
from loop_tui.ui.loop.worker import pump_events
from loop_tui.ui.messages import SettingsSaved
from loop_tui.ui.tool_catalog import mutating_tool_names

if TYPE_CHECKING:
    from loop_tui.agent import Agent, PageContext
    from loop_tui.config import Settings
    from loop_tui.store import Workspace

ContextProvider = Callable[[], "PageContext"]
AfterRun = Callable[[str], Awaitable[None] | None]
SPLIT_CHARS = 2000  # an answer longer than this continues in a new Markdown widget at the next paragraph
CONTINUE_WORDS = {"continue", "/continue", "go on", "keep going"}


@dataclass
class _Undo:
    label: str
    xacts: list[int]


@dataclass
class SharedLoop:
    """What every page's chat shares in one app, so Loop's conversation follows the user across pages:
    the conversation, the chosen model, the undo list, and which chat is running it (only one at a time)."""

    conversation: Conversation | None = None
    model_name: str | None = None
    undo: list[_Undo] = field(default_factory=list)
    running_in: LoopChat | None = None


class LoopChat(WorkerFailures, Vertical):
    """The Loop chat panel: mount it anywhere with a workspace, settings and a page-context provider."""

    ALLOW_MAXIMIZE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="loop.cancel"),
        Binding("ctrl+c", "cancel", "Cancel", id="loop.cancel_ctrl_c", show=False, priority=True),
        Binding("ctrl+g", "continue_run", "Continue", id="loop.continue"),
        Binding("ctrl+z", "undo", "Undo edit", id="loop.undo"),
        Binding("ctrl+b", "pick_model", "Model", id="loop.model"),
        Binding("ctrl+t", "pick_tools", "Tools", id="loop.tools"),
        Binding("ctrl+r", "history", "History", id="loop.history"),
        Binding("ctrl+n", "new_conversation", "New chat", id="loop.new"),
        Binding("ctrl+f", "toggle_fullscreen", "Full screen", id="loop.fullscreen"),
        Binding("ctrl+y", "copy_answer", "Copy answer", show=False, id="loop.copy_answer"),
    ]
    """Keys while focus is in the panel (every id can be remapped in settings)."""

    running: reactive[bool] = reactive(False, init=False)
    """Whether a run is in progress (cancel is enabled)."""
    paused: reactive[bool] = reactive(False, init=False)
    """Whether the last run stopped at the iteration limit (continue is enabled)."""

    @dataclass
    class QueryAccepted(Message):
        """The user accepted a BTQL query Loop proposed; the BTQL page puts it in its editor."""

        query: str

    @dataclass
    class WorkspaceChanged(Message):
        """Loop (or an undo) wrote to the workspace; pages showing that data should reload."""

        reason: str

    @dataclass
    class ToolProduced(Message):
        """A tool Loop ran made something its page shows as its own (run_eval: the playground's run)."""

        tool: str
        artifact: Any

    @dataclass
    class UndoFinished(Message):
        """An undo of Loop's change ended (`error`: why it could not be undone)."""

        change: _Undo
        error: str | None = None

    def __init__(
        self,
        workspace: Workspace,
        settings: Settings,
        context_provider: ContextProvider,
        *,
        model: str | None = None,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=f"loop-chat {classes or ''}".strip())
        self.workspace = workspace
        self.settings = settings
        self.context_provider = context_provider
        self.model_name = model
        self.conversation = Conversation()
        self._agent: Agent | None = None
        self._run_id = 0
        self._answer: AssistantAnswer | None = None
        self._cards: dict[str, ToolCard] = {}
        self._confirmed: set[str] = set()
        self._confirm_modal: Any = None
        self._undo: list[_Undo] = []
        self._run_text: list[str] = []
        self._after_run: list[AfterRun] = []
        self._changed = False
        self._shown_messages = 0  # how many of the conversation's messages the transcript shows

    # ----- layout --------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="loop-header")
        yield Static(id="loop-abilities")
        yield VerticalScroll(id="loop-transcript")
        yield Static(id="loop-status")
        yield Input(placeholder="Ask Loop…  (enter sends)", id="loop-input", select_on_focus=False)

    def on_mount(self) -> None:
        self.query_one("#loop-transcript", VerticalScroll).anchor()
        self.follow_shared()
        self.refresh_header()
        self._show_status()

    # ----- one conversation across pages ---------------------------------------------------------
    @property
    def shared(self) -> SharedLoop | None:
        """The app's shared Loop state (None in an app without one, e.g. the harness: the chat stands alone)."""
        shared = getattr(self.app, "loop_session", None)
        return shared if isinstance(shared, SharedLoop) else None

    def follow_shared(self) -> None:
        """Show the app's current conversation (and model) if it moved on elsewhere since this chat showed it."""
        shared = self.shared
        if shared is None or self.running:
            return
        self._undo = shared.undo
        if shared.conversation is None:
            shared.conversation, shared.model_name = self.conversation, self.model_name
            return
        if self.model_name != shared.model_name:
            self.model_name, self._agent = shared.model_name, None
            self.refresh_header()
        conversation = shared.conversation
        if conversation is not self.conversation or len(conversation.messages) != self._shown_messages:
            self._show_conversation(conversation)

    @property
    def transcript(self) -> VerticalScroll:
        """The scrolling transcript."""
        return self.query_one("#loop-transcript", VerticalScroll)

    @property
    def input(self) -> Input:
        """The message input."""
        return self.query_one("#loop-input", Input)

    def page_context(self) -> PageContext:
        """Where the user is right now (asked of the provider every time)."""
        return self.context_provider()

    def refresh_header(self) -> None:
        """Show the active model and, for the offline model, what it can do on this page."""
        label, offline = describe_model(self.model_name, self.settings)
        keys = "^b model  ^t tools  ^r history  ^n new  ^f full"
        # (the panel's border already says "Loop": the header's room goes to the model)
        self.query_one("#loop-header", Static).update(literal(f"{label}\n{keys}"))
        abilities = self.query_one("#loop-abilities", Static)
        abilities.display = offline
        if offline:
            abilities.update(abilities_text(self.page_context().page))

    def settings_applied(self) -> None:
        """Settings changed in place (they are shared): rebuild the agent only if its model changed."""
        if self._agent is not None and not self.running:
            from loop_tui.llm import resolve_model

            try:
                wanted = resolve_model(self.model_name, self.settings).name
            except UserError:
                wanted = None
            if wanted != self._agent.model_name:
                self._agent = None  # the next run builds one for the new default model
        self.refresh_header()

    def _show_status(self, text: str | None = None) -> None:
        if text is None:
            if self.running:
                text = "Loop is working… esc cancels"
            elif self.paused:
                text = "Paused at the step limit: ctrl+g continues"
            elif self._undo:
                text = f"ctrl+z undoes: {self._undo[-1].label}"
            else:
                title = self.conversation.title or "new conversation"
                title = title if len(title) <= 32 else title[:31] + "…"
                text = f"{title} · ${self.conversation.cost_usd:.4f}"
        self.query_one("#loop-status", Static).update(literal(text))  # titles and undo labels quote data

    def watch_running(self) -> None:
        if not self.running:  # what this run added is on screen here already (other pages replay it)
            self._shown_messages = len(self.conversation.messages)
        self.set_class(self.running, "-running")
        self._show_status()
        self.refresh_bindings()

    def watch_paused(self) -> None:
        self._show_status()
        self.refresh_bindings()

    # ----- sending -------------------------------------------------------------------------------
    @on(Input.Submitted, "#loop-input")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            return
        if self.paused and text.lower() in CONTINUE_WORDS:
            self.input.value = ""
            self.action_continue_run()
            return
        from loop_tui.ui.loop.workflows import typed_answer_hook

        # A workflow that prefilled this request already waits for its answer; otherwise the page may.
        after = None if self._after_run else typed_answer_hook(self)
        if self.send(text, after=after):
            self.input.value = ""

    def send(self, text: str, *, display: str | None = None, after: AfterRun | None = None) -> bool:
        """Send `text` as the user's next message and start a run (False while a run is in progress)."""
        if self.running:
            self.notify("Loop is still working: esc cancels it first", severity="warning")
            return False
        busy = self.shared.running_in if self.shared else None
        if busy is not None and busy is not self and busy.running:
            page = busy.page_context().page
            self.notify(f"Loop is still working on the {page} page: wait, or cancel it there", severity="warning")
            return False
        self.follow_shared()
        self.paused = False
        self.conversation.add_user(text)
        self.transcript.mount(UserTurn(display or text))
        if after is not None:
            self._after_run.append(after)
        self._start_run()
        return True

    def prefill(self, text: str) -> None:
        """Put a half-written request in the input for the user to finish, and focus it."""
        self.input.value = text
        self.input.cursor_position = len(text)
        self.input.focus()

    def after_run(self, callback: AfterRun) -> None:
        """Call `callback(answer_text)` once when the current (or next) run finishes successfully."""
        self._after_run.append(callback)

    def _start_run(self) -> None:
        self._run_id += 1
        self._run_text = []
        self._changed = False
        self.running = True
        if self.shared is not None:
            self.shared.running_in = self
        self._run_agent(self._run_id, self.page_context())

    def _get_agent(self) -> Agent:
        if self._agent is None:
            from loop_tui.agent import Agent
            from loop_tui.ui.loop.source_picker import source_chooser

            self._agent = Agent(self.workspace, self.settings, model=self.model_name)
            self._agent.choose_source = source_chooser(self.app)  # get_data_source opens a picker
        return self._agent

    @work(exclusive=True, group="loop-agent", exit_on_error=False)
    async def _run_agent(self, run_id: int, context: PageContext) -> None:
        """The one agent worker of this chat: runs the agent and posts what happens."""
        self.post_message(msg.AgentRunStarted(run_id))
        try:
            if context.project and not self.conversation.project_id:
                # The agent would look the project up on the event loop; its first DuckDB query opens the
                # workspace connection (50-100 ms frozen UI), so resolve it in a thread first.
                with contextlib.suppress(UserError):
                    project = await asyncio.to_thread(self.workspace.project, context.project)
                    self.conversation.project_id = project.id
            agent = self._get_agent()
            await pump_events(agent.run(self.conversation, context), self.post_message, run_id)
        except asyncio.CancelledError:
            self.post_message(msg.AgentDone(run_id, self.conversation.cost_usd, cancelled=True))
            raise
        except UserError as err:
            self.post_message(msg.AgentFailed(run_id, str(err)))
        except Exception as err:  # a bug must not kill the app: say it in one line, keep the chat usable
            log = record_failure("Loop run", err)
            self.post_message(msg.AgentFailed(run_id, failure_sentence("finish Loop's run", err, log)))

    # ----- rendering the run ---------------------------------------------------------------------
    async def _close_answer(self) -> None:
        if self._answer is not None:
            answer, self._answer = self._answer, None
            await answer.finish()

    @on(msg.AgentRunStarted)
    def _run_started(self, message: msg.AgentRunStarted) -> None:
        if message.run_id != self._run_id:
            return  # from a run that was cancelled and replaced: nothing of it belongs on screen
        self.running = True

    @on(msg.AgentTextDelta)
    async def _text(self, message: msg.AgentTextDelta) -> None:
        if message.run_id != self._run_id:
            return  # from a run that was cancelled and replaced: nothing of it belongs on screen
        self._run_text.append(message.text)
        text = message.text
        if self._answer is not None and self._answer.size_chars > SPLIT_CHARS and not self._answer.in_code_fence:
            # A Markdown widget's append cost grows with its length: continue long answers in a new widget,
            # cut at a paragraph break (outside a code fence) so the Markdown renders the same.
            head, sep, tail = text.rpartition("\n\n")
            if sep:
                await self._answer.write(head + sep)
                await self._close_answer()
                text = tail
        if not text:
            return
        if self._answer is None:
            self._answer = AssistantAnswer()
            await self.transcript.mount(self._answer)
        await self._answer.write(text)

    @on(msg.AgentToolStarted)
    async def _tool_started(self, message: msg.AgentToolStarted) -> None:
        if message.run_id != self._run_id:
            return  # from a run that was cancelled and replaced: nothing of it belongs on screen
        await self._close_answer()
        call = message.call
        card = ToolCard(call.id, call.name, call.arguments, mutates=call.name in mutating_tool_names())
        # Some servers reuse call ids across replies: the newest call owns the id from now on.
        self._confirmed.discard(call.id)
        self._cards[call.id] = card
        await self.transcript.mount(card)

    @on(msg.AgentConfirmationRequested)
    def _confirm(self, message: msg.AgentConfirmationRequested) -> None:
        if message.run_id != self._run_id:
            return  # from a run that was cancelled and replaced: nothing of it belongs on screen
        from loop_tui.ui.loop.confirm import ConfirmChangeModal

        request = message.request
        self._confirmed.add(request.call.id)
        card = self._cards.get(request.call.id)
        if card is not None:
            card.set_status("waiting", "waiting for your answer")
        self._show_status("Loop is waiting for your answer: y accept · n reject · a always allow")
        modal = ConfirmChangeModal(request.call, request.preview)
        self._confirm_modal = modal

        def answered(decision: Decision | None) -> None:
            self._confirm_modal = None
            request.resolve(decision or Decision.REJECT)
            if card is not None and decision in (Decision.ACCEPT, Decision.ALWAYS):
                card.set_status("running", "applying…")
            if decision == Decision.ALWAYS:
                self._notice(f"{request.call.name} is always allowed for the rest of this session.")
            self._show_status()

        self.app.push_screen(modal, answered)

    @on(msg.AgentToolFinished)
    def _tool_finished(self, message: msg.AgentToolFinished) -> None:
        if message.run_id != self._run_id:
            return  # from a run that was cancelled and replaced: nothing of it belongs on screen
        call = message.call
        card = self._cards.get(call.id)
        declined = message.result == DECLINED
        if card is not None:
            card.finish(message.result, message.error, "declined" if declined else "")
        if call.name in mutating_tool_names() and not message.error and not declined:
            self._changed = True
            if call.id not in self._confirmed:
                why = ("auto-accepted: agent.auto_accept is on in settings" if self.settings.agent.auto_accept
                       else "allowed without asking (tool policy or 'always allow')")
                self._notice(f"{call.name} was {why}.", "warning")
        if message.artifact is not None and not message.error:
            self.post_message(self.ToolProduced(call.name, message.artifact))
        if message.undo_xact and not message.error:
            # Say what the change was, in the words its card uses (transaction ids mean nothing to a user).
            label = f"{call.name}: {result_summary(message.result, None)}"
            self._undo.append(_Undo(label, list(message.undo_xact)))
            self.refresh_bindings()
            self._notice(f"Applied {call.name}. ctrl+z undoes it.", "success")

    @on(msg.AgentIterationLimit)
    async def _limit(self, message: msg.AgentIterationLimit) -> None:
        if message.run_id != self._run_id:
            return  # from a run that was cancelled and replaced: nothing of it belongs on screen
        await self._close_answer()
        self.paused = True
        self.running = False  # the run returned at the cap; continue starts a new one
        self._notice(f"Loop paused after {message.iterations} steps (agent.max_iterations). "
                     "ctrl+g (or typing 'continue') lets it go on.", "warning")

    @on(msg.AgentDone)
    async def _done(self, message: msg.AgentDone) -> None:
        if message.run_id != self._run_id:
            return  # from a run that was cancelled and replaced: nothing of it belongs on screen
        await self._close_answer()
        self.running = False
        for card in self._cards.values():
            if card.status in ("running", "waiting"):
                card.set_status("cancelled", "cancelled")
        self._dismiss_confirmation()
        if message.cancelled:
            self._after_run.clear()
            self._notice("Cancelled. Nothing half-applied: a change applies only after you accept it.", "warning")
        if self._changed:
            self.post_message(self.WorkspaceChanged("loop"))
        if not message.cancelled and not self.paused:
            await self._run_after_hooks()
        self._show_status()

    @on(msg.AgentFailed)
    async def _failed(self, message: msg.AgentFailed) -> None:
        if message.run_id != self._run_id:
            return  # from a run that was cancelled and replaced: nothing of it belongs on screen
        await self._close_answer()
        self.running = False
        self._after_run.clear()
        self._dismiss_confirmation()
        self._notice(message.message, "error")
        self._show_status()

    async def _run_after_hooks(self) -> None:
        hooks, self._after_run = self._after_run, []
        text = "".join(self._run_text)
        for hook in hooks:
            result = hook(text)
            if asyncio.iscoroutine(result):
                await result

    def show_worker_failure(self, sentence: str, in_place: bool) -> None:
        """One of the chat's workers failed (see `WorkerFailures`): say so in the transcript, keep the chat usable."""
        self.running = False
        self._notice(sentence, "error")
        self._show_status()

    def _notice(self, text: str, kind: str = "info") -> Notice:
        notice = Notice(text, kind)
        self.transcript.mount(notice)
        return notice

    def notice(self, text: str, kind: str = "info") -> None:
        """Add a line from the app to the transcript (workflows report through this)."""
        self._notice(text, kind)

    def report(self, markdown: str) -> None:
        """Add a Markdown report from the app (e.g. tune scorer's agreement table) to the transcript."""
        self.transcript.mount(AssistantAnswer(markdown, classes="loop-report"))

    def _dismiss_confirmation(self) -> None:
        modal, self._confirm_modal = self._confirm_modal, None
        if modal is not None and modal.is_attached:
            modal.dismiss(Decision.REJECT)

    # ----- actions -------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel only while running (so esc and ctrl+c keep their usual meaning otherwise)."""
        if action == "cancel":
            return self.running
        if action == "continue_run":
            return self.paused and not self.running
        if action == "undo":
            return bool(self._undo) and not self.running
        return True

    def action_cancel(self) -> None:
        """Stop the run; a change waiting for confirmation is not applied."""
        self.workers.cancel_group(self, "loop-agent")
        self._dismiss_confirmation()

    def action_continue_run(self) -> None:
        """Let a run paused at the step limit go on."""
        if self.paused and not self.running:
            self.paused = False
            self._notice("Continuing…")
            self._start_run()

    def action_undo(self) -> None:
        """Undo the last change Loop applied (a data edit, prompt or scorer version)."""
        if self._undo and not self.running:
            self._undo_change(self._undo.pop())
            self.refresh_bindings()

    @work(thread=True, exclusive=True, group="loop-undo", exit_on_error=False)
    def _undo_change(self, change: _Undo) -> None:
        try:
            for xact in reversed(change.xacts):
                self.workspace.undo(xact)
        except UserError as err:
            self.post_message(self.UndoFinished(change, str(err)))
            return
        self.post_message(self.UndoFinished(change))

    @on(UndoFinished)
    def _undone(self, message: UndoFinished) -> None:
        change = message.change
        if message.error is not None:
            self._notice(f"Could not undo {change.label}: {message.error}", "error")
            return
        self._notice(f"Undid {change.label}.", "success")
        self.post_message(self.WorkspaceChanged("undo"))
        self._show_status()

    def action_new_conversation(self) -> None:
        """Start a fresh conversation on this page."""
        if self.running:
            self.notify("Loop is still working: esc cancels it first", severity="warning")
            return
        self.load_conversation(Conversation())

    def load_conversation(self, conversation: Conversation) -> None:
        """Show `conversation` and continue it with the next message (resume); on every page."""
        self._undo.clear()
        if self.shared is not None:
            self.shared.conversation = conversation
        self._show_conversation(conversation)

    def _show_conversation(self, conversation: Conversation) -> None:
        from loop_tui.ui.loop.replay import replay_widgets

        self.conversation = conversation
        self._shown_messages = len(conversation.messages)
        self.paused = conversation.paused
        self._answer = None
        self._cards.clear()
        self.transcript.remove_children()
        widgets = replay_widgets(conversation)
        self._cards.update({w.call_id: w for w in widgets if isinstance(w, ToolCard)})
        if widgets:
            self.transcript.mount_all(widgets)
        self._show_status()

    def action_pick_model(self) -> None:
        """Choose Loop's model from the allowlist."""
        from loop_tui.ui.loop.pickers import ModelPickerModal

        def chosen(name: str | None) -> None:
            if name is None or name == self.model_name:
                return
            self.model_name = name
            if self.shared is not None:
                self.shared.model_name = name
            self._agent = None  # the next run builds an agent for the new model
            self.refresh_header()
            self._notice(f"Model: {name}")

        self.app.push_screen(ModelPickerModal(self.settings, self.model_name), chosen)

    def action_pick_tools(self) -> None:
        """Turn Loop's tools on and off (saved to settings as tools.disabled)."""
        from loop_tui.ui.loop.pickers import ToolTogglesModal, save_disabled_tools

        def chosen(disabled: list[str] | None) -> None:
            if disabled is None or sorted(disabled) == sorted(self.settings.tools.disabled):
                return
            # self.settings is the app's one Settings object: this changes (and saves) the current values only.
            save_disabled_tools(self.app, self.settings, disabled)
            self.post_message(SettingsSaved(self.settings))  # the Settings page and other chats follow
            self._notice("Tools off: " + (", ".join(disabled) or "none"))

        self.app.push_screen(ToolTogglesModal(self.settings), chosen)

    def action_history(self) -> None:
        """Resume an earlier conversation of this project."""
        from loop_tui.ui.loop.pickers import ConversationHistoryModal

        def chosen(conversation: Conversation | None) -> None:
            if conversation is not None:
                if self.running:
                    self.notify("Loop is still working: esc cancels it first", severity="warning")
                    return
                self.load_conversation(conversation)
                self._notice(f"Resumed: {conversation.title or conversation.id}")

        self.app.push_screen(ConversationHistoryModal(self.workspace, self.page_context()), chosen)

    def action_copy_answer(self) -> None:
        """Copy Loop's last answer (its Markdown) to the clipboard."""
        from loop_tui.ui.clipboard import copy_out

        answers = [w for w in self.transcript.query(AssistantAnswer) if w.text.strip()]
        if not answers:
            self.notify("Loop has not answered yet: nothing to copy", severity="warning")
            return
        copy_out(self.app, answers[-1].text, "Loop's answer")

    def action_toggle_fullscreen(self) -> None:
        """Give the chat the whole screen, or put it back beside the page."""
        screen = self.screen
        if screen.maximized is self:
            screen.minimize()
        else:
            screen.maximize(self, container=False)
        self.input.focus()
