"""The offline model: a deterministic `Provider` that understands a fixed set of requests.

It is not a language model and says so. It reads the page context from the system prompt (the JSON
block `agent.prompts` appends), recognises one of its requests in the user's last message, answers it
with real tool calls (yielded as `ToolCall`s, exactly as a remote model would), and on the next turn reads
the tool results from the messages and writes a short answer from them. Anything else gets one honest
paragraph saying a language model is needed and how to configure one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from loop_tui.agent.offline.intents import Call, State, respond
from loop_tui.agent.prompts import parse_page_context
from loop_tui.agent.trim import estimate_tokens
from loop_tui.llm.base import Done, ModelParams, StreamEvent, TextDelta, ToolCall, Usage

CHUNK = 24  # characters per streamed text delta, so the UI shows it streaming like a real model


class OfflineProvider:
    """The built-in offline model (`--model offline`)."""

    name = "offline"

    async def stream(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        model: str = "offline",
        params: ModelParams | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Reply to the conversation: tool calls for a recognised request, else a written answer."""
        state = _state(messages, tools)
        reply = respond(state)
        prompt_tokens = sum(estimate_tokens(m.get("content") or "") for m in messages)
        if isinstance(reply, str):
            for i in range(0, len(reply), CHUNK):
                yield TextDelta(reply[i : i + CHUNK])
            yield Usage(prompt_tokens=prompt_tokens, completion_tokens=estimate_tokens(reply))
            yield Done("stop", model="offline")
            return
        for n, call in enumerate(reply):
            yield ToolCall(id=f"offline_{state.step}_{n}", name=call.name, arguments=call.arguments)
        yield Usage(prompt_tokens=prompt_tokens, completion_tokens=10 * len(reply))
        yield Done("tool_calls", model="offline")


def _state(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> State:
    system = next((m.get("content") or "" for m in messages if m.get("role") == "system"), "")
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    question = str(messages[last_user].get("content") or "") if last_user >= 0 else ""
    # Trimming may fold a summary into the user turn; the question is what follows it.
    question = question.rpartition("The user now says: ")[2]
    tail = messages[last_user + 1 :]
    results = [(m.get("name") or "", str(m.get("content") or "")) for m in tail if m.get("role") == "tool"]
    calls = [c for m in tail if m.get("role") == "assistant" for c in m.get("tool_calls") or []]
    return State(
        question=question.strip(),
        page=parse_page_context(system),
        offered={t["name"] for t in tools or []},
        step=sum(1 for m in tail if m.get("role") == "assistant"),
        results=results,
        previous_calls=[Call(c.get("name", ""), c.get("arguments") or {}) for c in calls],
    )


__all__ = ["OfflineProvider"]
