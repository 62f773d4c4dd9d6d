"""Test doubles for the eval tests: a scripted in-process `Provider`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from loop_tui.llm.base import Done, ModelParams, ProviderError, StreamEvent, TextDelta, ToolCall, Usage


class ScriptedProvider:
    """A `Provider` whose reply is computed from the request by `reply(messages, tools, params)`.

    The reply may be a string (text), a dict `{"tool": name, "arguments": {...}}`, a `ProviderError`,
    or an Exception instance to raise. Every request is kept in `.requests`.
    """

    name = "scripted"

    def __init__(
        self, reply: Callable[..., Any], *, latency: float = 0.0, usage: Usage | None = None
    ) -> None:
        self.reply = reply
        self.latency = latency
        self.usage = usage or Usage(prompt_tokens=10, completion_tokens=5)
        self.requests: list[dict[str, Any]] = []

    async def stream(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        model: str,
        params: ModelParams | None = None,
    ) -> AsyncIterator[StreamEvent]:
        self.requests.append({"messages": messages, "tools": tools, "model": model, "params": params})
        if self.latency:
            await asyncio.sleep(self.latency)
        reply = self.reply(messages, tools, params)
        if isinstance(reply, ProviderError):
            yield reply
            return
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, dict) and "tool" in reply:
            yield ToolCall(id="call_1", name=reply["tool"], arguments=reply["arguments"])
            yield self.usage
            yield Done("tool_calls", model)
            return
        text = reply if isinstance(reply, str) else json.dumps(reply)
        for i in range(0, len(text), 7):
            yield TextDelta(text[i : i + 7])
        yield self.usage
        yield Done("stop", model)


def choose(choice: str, reasons: str = "because") -> Callable[..., Any]:
    """A reply function that always calls select_choice with `choice`."""
    return lambda messages, tools, params: {
        "tool": "select_choice",
        "arguments": {"reasons": reasons, "choice": choice},
    }
