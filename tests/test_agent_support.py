"""Shared test doubles for the agent tests: a scripted in-process Provider and event helpers.

(Named test_agent_* to stay within the agent's files; it holds no tests itself.)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from loop_tui.agent import ConfirmationRequired, Decision
from loop_tui.llm.base import Done, ModelParams, ProviderError, StreamEvent, TextDelta, ToolCall, Usage

Turn = dict[str, Any] | Callable[[list[dict[str, Any]]], dict[str, Any]]


class ScriptedProvider:
    """A `Provider` that plays scripted turns: {"text": str, "calls": [(name, args)], "error": ProviderError}.

    A turn may also be a function of the request's messages returning such a dict. Requests are recorded.
    """

    name = "scripted"

    def __init__(self, turns: list[Turn], usage: Usage | None = None) -> None:
        self.turns = list(turns)
        self.usage = usage or Usage(prompt_tokens=100, completion_tokens=20)
        self.requests: list[dict[str, Any]] = []

    async def stream(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, model: str,
        params: ModelParams | None = None,
    ) -> AsyncIterator[StreamEvent]:
        self.requests.append({"messages": json.loads(json.dumps(messages)), "tools": tools, "model": model})
        turn = self.turns.pop(0) if self.turns else {"text": "(script exhausted)"}
        if callable(turn):
            turn = turn(messages)
        if turn.get("error"):
            yield turn["error"]
            return
        for i in range(0, len(turn.get("text", "")), 7):
            yield TextDelta(turn["text"][i : i + 7])
        calls = turn.get("calls") or []
        for n, (name, args) in enumerate(calls):
            yield ToolCall(id=f"call_{len(self.requests)}_{n}", name=name, arguments=args)
        yield self.usage
        yield Done("tool_calls" if calls else "stop")

    def tool_results(self, request: int = -1) -> dict[str, str]:
        """The tool results (name -> content) the model received in request `request`."""
        messages = self.requests[request]["messages"]
        return {m["name"]: m["content"] for m in messages if m.get("role") == "tool"}

    def offered(self, request: int = 0) -> list[str]:
        """Names of the tools offered in request `request`."""
        return [t["name"] for t in self.requests[request]["tools"] or []]


async def collect(events: AsyncIterator[Any], answer: Decision | str | None = None) -> list[Any]:
    """Drain an agent run, answering every confirmation with `answer` (None: leave it pending = fail)."""
    out = []
    async for event in events:
        out.append(event)
        if isinstance(event, ConfirmationRequired):
            assert answer is not None, f"unexpected confirmation for {event.call.name}"
            event.resolve(answer)
    return out


def provider_error(kind: str = "auth", message: str = "the API key was rejected") -> dict[str, Any]:
    """A scripted turn that fails like a provider would."""
    return {"error": ProviderError(kind, message)}
