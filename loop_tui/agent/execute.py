"""Running the model's tool calls: policies, confirmation, concurrency, errors and output budgets.

Read-only calls run concurrently; calls that change something (or that a policy says must ask) run one
at a time, in the order the model gave them, each waiting for its confirmation. Any failure becomes a
tool result the model can read. Results are scrubbed of secrets and cut to `agent.tool_output_tokens`.
Events carry a scrubbed copy of each call and preview (what a UI or the CLI shows); the tool itself runs
with the model's arguments as given.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from loop_tui.agent import events as ev
from loop_tui.agent.events import DECLINED
from loop_tui.agent.policy import ToolPolicies
from loop_tui.agent.tools import ALL_TOOLS
from loop_tui.agent.tools.base import Tool, ToolContext, ToolOutput
from loop_tui.agent.trim import cut_output
from loop_tui.errors import UserError
from loop_tui.redaction import scrub, scrub_value

if TYPE_CHECKING:
    from loop_tui.agent.context import PageContext
    from loop_tui.agent.conversation import Conversation
    from loop_tui.config import Settings
    from loop_tui.llm.base import ToolCall
    from loop_tui.store import Workspace



@dataclass
class _Outcome:
    text: str | None = None
    error: str | None = None
    undo: list[int] = field(default_factory=list)
    artifact: Any = None


class ToolRunner:
    """Owns the tool instances and policies; turns tool calls into events and tool messages."""

    def __init__(self, workspace: Workspace, settings: Settings, tools: list[Tool] | None = None) -> None:
        self.workspace = workspace
        self.settings = settings
        self.tools = {t.name: t for t in (tools if tools is not None else [cls() for cls in ALL_TOOLS])}
        self.policies = ToolPolicies(settings)
        self.choose_source = None  # set by a UI that can show a picker for get_data_source

    def context(self, page: PageContext, model: str, conversation: Conversation) -> ToolContext:
        """The context tools of one run see."""
        budget = self.settings.agent.budget_usd

        def budget_left() -> float | None:
            return None if budget is None else max(budget - conversation.cost_usd, 0.0)

        ctx = ToolContext(self.workspace, self.settings, page, model=model, budget_left=budget_left)
        ctx.choose_source = self.choose_source

        def spend(usd: float) -> None:
            conversation.cost_usd += usd

        ctx.spend = spend
        return ctx

    def available(self, name: str, page: PageContext, *, paused: bool = False) -> Tool | None:
        """The tool if it is offered here and not denied, else None."""
        tool = self.tools.get(name)
        if tool is None or not tool.offered_on(page.page) or self.policies.policy(tool) == "deny":
            return None
        if tool.name == "continue_execution" and not paused:
            return None
        return tool

    def offered(self, page: PageContext, *, paused: bool = False) -> list[dict[str, Any]]:
        """Schemas of the tools the model may call on this page."""
        return [t.schema() for t in self.tools.values() if self.available(t.name, page, paused=paused)]

    async def run_calls(
        self, calls: list[ToolCall], ctx: ToolContext, conversation: Conversation
    ) -> AsyncIterator[ev.AgentEvent]:
        """Execute one reply's tool calls, yielding events and appending tool messages in call order."""
        pending = [ev.PendingCall(c.id, c.name, dict(c.arguments)) for c in calls]
        shown = {c.id: ev.PendingCall(c.id, c.name, scrub_value(c.arguments)) for c in pending}
        outcomes: dict[str, _Outcome] = {}
        quick: list[tuple[ev.PendingCall, ToolCall]] = []
        careful: list[tuple[ev.PendingCall, ToolCall]] = []
        for call, raw in zip(pending, calls, strict=True):
            tool = self.available(call.name, ctx.page, paused=conversation.paused)
            confirm = tool is not None and (tool.mutates or self.policies.needs_confirmation(tool))
            (careful if confirm else quick).append((call, raw))
        try:
            for call, _ in quick:
                yield ev.ToolStarted(shown[call.id])
            tasks = {asyncio.ensure_future(self._execute(call, raw, ctx, conversation)): call for call, raw in quick}
            try:
                for finished in asyncio.as_completed(list(tasks)):
                    call, outcome = await finished
                    outcomes[call.id] = outcome
                    self._record(conversation, call, outcome)
                    yield ev.ToolFinished(shown[call.id], outcome.text, outcome.error, outcome.undo, outcome.artifact)
            finally:
                for task in tasks:
                    task.cancel()
            for call, raw in careful:
                yield ev.ToolStarted(shown[call.id])
                outcome = _Outcome()
                async for event in self._confirm_and_apply(call, raw, ctx, conversation, outcome, shown[call.id]):
                    yield event
                outcomes[call.id] = outcome
                self._record(conversation, call, outcome)
                yield ev.ToolFinished(shown[call.id], outcome.text, outcome.error, outcome.undo, outcome.artifact)
        finally:
            _order_tool_messages(conversation.messages, [c.id for c in pending])

    # ----- one call ------------------------------------------------------------------------------
    async def _execute(
        self, call: ev.PendingCall, raw: ToolCall, ctx: ToolContext, conversation: Conversation
    ) -> tuple[ev.PendingCall, _Outcome]:
        try:
            tool, args = self._prepare(call, raw, ctx, conversation)
            result = await tool.run(args, ctx)
            return call, self._finish(result, ctx)
        except Exception as exc:  # every failure goes back to the model as the tool result
            return call, _Outcome(error=self._describe(exc, call.name))

    async def _confirm_and_apply(
        self, call: ev.PendingCall, raw: ToolCall, ctx: ToolContext, conversation: Conversation, out: _Outcome,
        shown: ev.PendingCall,
    ) -> AsyncIterator[ev.AgentEvent]:
        try:
            tool, args = self._prepare(call, raw, ctx, conversation)
            proposal = await tool.propose(args, ctx) if tool.mutates else None
        except Exception as exc:
            out.error = self._describe(exc, call.name)
            return
        if self.policies.needs_confirmation(tool):
            preview = _scrubbed(proposal.preview if proposal else tool.generic_preview(args))
            future: asyncio.Future[ev.Decision] = asyncio.get_running_loop().create_future()
            yield ev.ConfirmationRequired(shown, preview, future)
            try:
                decision = await future
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # the run itself was cancelled: nothing was applied
                decision = ev.Decision.REJECT  # the caller cancelled the future: a "no"
            if decision == ev.Decision.REJECT:
                out.text = DECLINED
                return
            if decision == ev.Decision.ALWAYS:
                self.policies.always_allow(tool.name)
        try:
            result = await proposal.apply() if proposal else await tool.run(args, ctx)
            done = self._finish(result, ctx)
            out.text, out.undo, out.artifact = done.text, done.undo, done.artifact
        except Exception as exc:
            out.error = self._describe(exc, call.name)

    def _prepare(self, call: ev.PendingCall, raw: ToolCall, ctx: ToolContext, conversation: Conversation):
        if raw.error:
            raise UserError(raw.error)
        tool = self.available(call.name, ctx.page, paused=conversation.paused)
        if tool is None:
            raise UserError(
                f"tool {call.name!r} is not available here (unknown, disabled in settings, or not offered on "
                f"the {ctx.page.page} page)"
            )
        return tool, tool.parse_args(call.arguments)

    def _finish(self, result: ToolOutput | str, ctx: ToolContext) -> _Outcome:
        output = ToolOutput(result) if isinstance(result, str) else result
        if output.cost_usd:
            ctx.spend(output.cost_usd)
        text = cut_output(scrub(output.text), self.settings.agent.tool_output_tokens)
        return _Outcome(text=text, undo=list(output.undo_xact), artifact=output.artifact)

    @staticmethod
    def _describe(exc: BaseException, name: str) -> str:
        if isinstance(exc, UserError):
            return scrub(str(exc))
        detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        hint = getattr(exc, "hint", None)
        text = f"{name} failed: {detail}" + (f" (hint: {hint})" if hint else "")
        return scrub(text)

    @staticmethod
    def _record(conversation: Conversation, call: ev.PendingCall, outcome: _Outcome) -> None:
        content = outcome.text if outcome.error is None else f"Error: {outcome.error}"
        conversation.messages.append(
            {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": scrub_value(content or "")}
        )


def _scrubbed(preview: ev.Preview) -> ev.Preview:
    """The preview as it may be shown: every string scrubbed of secrets."""
    return ev.Preview(kind=preview.kind, title=scrub(preview.title), text=scrub(preview.text),
                      rows=scrub_value(preview.rows), details=scrub_value(preview.details))


def _order_tool_messages(messages: list[dict[str, Any]], order: list[str]) -> None:
    """Put the trailing tool messages back in the order of the calls (concurrent calls finish out of order)."""
    start = len(messages)
    while start > 0 and messages[start - 1].get("role") == "tool":
        start -= 1
    rank = {cid: i for i, cid in enumerate(order)}
    messages[start:] = sorted(messages[start:], key=lambda m: rank.get(m.get("tool_call_id") or "", len(rank)))
