"""The agent loop: stream a model reply, run the tools it calls, feed results back, repeat.

One `Agent.run` is one user turn. It stops when the model answers without calling tools (`TurnFinished`), after
`settings.agent.max_iterations` model turns (`IterationLimit`; run again to continue), on a provider
failure or an exhausted budget (`Failed`). Mutating tools change nothing until the caller resolves the
`ConfirmationRequired` future; cancelling the run while it waits applies nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from loop_tui.agent import events as ev
from loop_tui.agent.context import PageContext
from loop_tui.agent.conversation import Conversation, save_conversation
from loop_tui.agent.execute import ToolRunner
from loop_tui.agent.policy import ToolPolicies
from loop_tui.agent.prompts import system_prompt
from loop_tui.agent.trim import estimate_tokens, fit_messages
from loop_tui.errors import UserError
from loop_tui.llm import base as llm
from loop_tui.redaction import StreamScrubber, scrub

if TYPE_CHECKING:
    from loop_tui.config import Settings
    from loop_tui.store import Workspace

OUTPUT_RESERVE_TOKENS = 4096
DEFAULT_CONTEXT_WINDOW = 128_000
CANCELLED_CALL = "cancelled: the run stopped before this call finished; nothing was changed"


class Agent:
    """Loop: runs conversations against a provider with the workspace's tools."""

    def __init__(
        self,
        workspace: Workspace,
        settings: Settings,
        provider: llm.Provider | None = None,
        model: str | None = None,
        *,
        save: bool = True,
    ) -> None:
        from loop_tui.llm import resolve_model

        self.workspace = workspace
        self.settings = settings
        self.save = save
        resolved = resolve_model(model, settings) if provider is None or model else None
        if provider is None:
            assert resolved is not None
            provider = _provider_for(resolved, settings)
        self.provider = provider
        self.model_name = resolved.name if resolved else (getattr(provider, "name", None) or "offline")
        self.model_id = resolved.model_id if resolved else self.model_name
        info = resolved.info if resolved else None
        if getattr(provider, "name", "") == "offline":
            self.context_window = 1_000_000
        else:
            self.context_window = (info.context_window if info else None) or DEFAULT_CONTEXT_WINDOW
        self.runner = ToolRunner(workspace, settings)

    @property
    def policies(self) -> ToolPolicies:
        """The effective tool policies (settings + this session's 'always allow')."""
        return self.runner.policies

    @property
    def choose_source(self) -> Any:
        """Async callback `(choices) -> choice | None` a UI sets so get_data_source shows a picker."""
        return self.runner.choose_source

    @choose_source.setter
    def choose_source(self, callback: Any) -> None:
        self.runner.choose_source = callback

    async def run(self, conversation: Conversation, page_context: PageContext) -> AsyncIterator[ev.AgentEvent]:
        """Run until the model answers, pauses at the iteration cap, or fails. Saves the conversation."""
        conversation.page = page_context.page
        conversation.model = self.model_name
        ctx = self.runner.context(page_context, self.model_name, conversation)
        if page_context.project and not conversation.project_id:
            with contextlib.suppress(UserError):
                conversation.project_id = self.workspace.project(page_context.project).id
        resuming = conversation.paused and (not conversation.messages or conversation.messages[-1]["role"] != "user")
        if resuming:
            conversation.paused = False
        iterations = 0

        def _resume() -> str:
            nonlocal iterations
            iterations = 0
            conversation.paused = False
            return "Resumed: you have a fresh set of iterations. Continue the task you were working on."

        ctx.resume = _resume
        try:
            while True:
                if iterations >= self.settings.agent.max_iterations:
                    conversation.paused = True
                    yield ev.IterationLimit(iterations)
                    return
                failure = self._budget_failure(conversation)
                if failure:
                    yield failure
                    return
                _repair_unanswered_calls(conversation.messages)
                tools = self.runner.offered(page_context, paused=conversation.paused)
                messages = self._request_messages(conversation, page_context, tools)
                reply = _Reply()
                shown = StreamScrubber()  # a key the model repeats never reaches a screen or an output stream
                async for event in self.provider.stream(messages, tools, self.model_id, self._params()):
                    if isinstance(event, llm.TextDelta):
                        reply.text.append(event.text)
                        if text := shown.feed(event.text):
                            yield ev.TextDelta(text)
                    elif isinstance(event, llm.ToolCall):
                        reply.calls.append(event)
                    elif isinstance(event, llm.Usage):
                        reply.usage = event
                    elif isinstance(event, llm.ProviderError):
                        reply.error = event
                        break
                if rest := shown.flush():
                    yield ev.TextDelta(rest)
                iterations += 1
                conversation.cost_usd += self._cost(reply.usage)
                if reply.error is not None:
                    if reply.text:
                        conversation.messages.append({"role": "assistant", "content": "".join(reply.text)})
                    yield ev.Failed(scrub(reply.error.message), kind="provider")
                    return
                conversation.messages.append(reply.message())
                if not reply.calls:
                    yield ev.TurnFinished("stop", round(conversation.cost_usd, 6))
                    return
                async for tool_event in self.runner.run_calls(reply.calls, ctx, conversation):
                    yield tool_event
        finally:
            if self.save:
                _repair_unanswered_calls(conversation.messages)
                with contextlib.suppress(UserError, OSError):
                    save_conversation(self.workspace, conversation)

    # ----- helpers -------------------------------------------------------------------------------
    def _request_messages(
        self, conversation: Conversation, page: PageContext, tools: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        system = system_prompt(page, {"model": self.model_name, "paused": conversation.paused or None})
        fixed = estimate_tokens(system) + estimate_tokens(tools)
        budget = max(self.context_window - OUTPUT_RESERVE_TOKENS - fixed, 1000)
        return [{"role": "system", "content": system}, *fit_messages(conversation.messages, budget)]

    def _params(self) -> llm.ModelParams:
        return llm.ModelParams(temperature=0.2, max_tokens=OUTPUT_RESERVE_TOKENS)

    def _cost(self, usage: llm.Usage | None) -> float:
        if usage is None:
            return 0.0
        from loop_tui.llm import estimate_cost

        return estimate_cost(self.model_name, usage, self.settings) or 0.0

    def _budget_failure(self, conversation: Conversation) -> ev.Failed | None:
        budget = self.settings.agent.budget_usd
        if budget is not None and conversation.cost_usd >= budget:
            return ev.Failed(
                f"this conversation has spent ${conversation.cost_usd:.4f} of its ${budget:.2f} budget "
                "(agent.budget_usd); raise the budget in settings or start a new conversation",
                kind="budget",
            )
        return None


class _Reply:
    """One streamed model reply being assembled."""

    def __init__(self) -> None:
        self.text: list[str] = []
        self.calls: list[llm.ToolCall] = []
        self.usage: llm.Usage | None = None
        self.error: llm.ProviderError | None = None

    def message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": "".join(self.text)}
        if self.calls:
            msg["tool_calls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in self.calls]
        return msg


def _repair_unanswered_calls(messages: list[dict[str, Any]]) -> None:
    """Give every tool call without a result a 'cancelled' one, so the next request is well-formed."""
    answered = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    i = 0
    while i < len(messages):
        msg = messages[i]
        i += 1
        if msg.get("role") != "assistant" or not msg.get("tool_calls"):
            continue
        # Results must directly follow their call; insert missing ones after the existing results.
        j = i
        while j < len(messages) and messages[j].get("role") == "tool":
            j += 1
        for call in msg["tool_calls"]:
            if call["id"] not in answered:
                messages.insert(j, {"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": CANCELLED_CALL})
                answered.add(call["id"])
                j += 1


def _provider_for(resolved: Any, settings: Settings) -> llm.Provider:
    if resolved.provider == "offline":
        from loop_tui.agent.offline import OfflineProvider

        return OfflineProvider()
    if not resolved.key_available():
        raise UserError(
            f"model {resolved.name!r} needs an API key in ${resolved.api_key_env}; set it, "
            "or use --model offline"
        )
    from loop_tui.llm import make_provider

    return make_provider(resolved, settings)
