"""OpenAI-compatible chat completions over SSE (OpenAI, the Braintrust AI proxy, Ollama, vLLM, llama.cpp, LiteLLM).

Wire details that matter (research §7.1): text arrives in `choices[0].delta.content`; tool calls arrive as
fragments keyed by `delta.tool_calls[].index` (never by id or "first element"); `finish_reason` is on the
choice; with `stream_options.include_usage` one extra chunk with `choices: []` carries the usage; the
stream ends with `data: [DONE]`.

Malformed tool-call arguments do not fail the stream: the `ToolCall` carries `error` (see `base.ToolCall`)
so the agent can hand the problem back to the model.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from loop_tui.llm.base import (
    Done,
    ModelParams,
    ProviderError,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)
from loop_tui.llm.failures import classify_stream_error
from loop_tui.llm.http_base import HttpProvider
from loop_tui.llm.sse import iter_sse
from loop_tui.llm.toolargs import parse_arguments

_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
# Reasoning models (o-series, gpt-5) take `max_completion_tokens` and reject a non-default temperature.
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def is_reasoning_model(model: str) -> bool:
    """Whether `model` is an OpenAI reasoning model (o-series, gpt-5 family), ignoring any `provider/` prefix."""
    return model.rsplit("/", 1)[-1].startswith(_REASONING_PREFIXES)


def to_openai_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutral messages -> chat completions messages (tool arguments become JSON strings)."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        role = msg["role"]
        if role == "assistant":
            item: dict[str, Any] = {"role": "assistant", "content": msg.get("content") or None}
            calls = msg.get("tool_calls") or []
            if calls:
                item["tool_calls"] = [
                    {
                        "id": call["id"],
                        "type": "function",
                        "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments") or {})},
                    }
                    for call in calls
                ]
            elif item["content"] is None:
                item["content"] = ""
            out.append(item)
        elif role == "tool":
            out.append({"role": "tool", "tool_call_id": msg["tool_call_id"], "content": _text(msg.get("content"))})
        elif role in ("system", "user", "developer"):
            out.append({"role": role, "content": msg.get("content", "")})
        else:
            raise ValueError(f"unknown message role {role!r}")
    return out


def to_openai_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutral tool schemas -> `{"type": "function", "function": {...}}`."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool["name"],
                "description": tool.get("description", ""),
                "parameters": tool.get("parameters") or {"type": "object", "properties": {}},
            },
        }
        for tool in tools
    ]


def _tool_choice(choice: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(choice, dict) and "type" not in choice and "name" in choice:
        return {"type": "function", "function": {"name": choice["name"]}}
    return choice


def _text(content: Any) -> str:
    return content if isinstance(content, str) else json.dumps(content)


@dataclass
class _PendingCall:
    slot: int
    id: str
    name: str
    parts: list[str] = field(default_factory=list)


class OpenAICompatProvider(HttpProvider):
    """Chat completions over SSE for any OpenAI-compatible endpoint."""

    name = "openai"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        """`Authorization: Bearer` when a key is configured (local servers need none)."""
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def build_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, model: str, params: ModelParams
    ) -> tuple[str, dict[str, Any]]:
        """The chat completions body, streaming with usage."""
        reasoning = is_reasoning_model(model)
        body: dict[str, Any] = {
            "model": model,
            "messages": to_openai_messages(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = to_openai_tools(tools)
        if params.tool_choice is not None and tools:
            body["tool_choice"] = _tool_choice(params.tool_choice)
        if params.max_tokens is not None:
            body["max_completion_tokens" if reasoning else "max_tokens"] = params.max_tokens
        if not reasoning:
            if params.temperature is not None:
                body["temperature"] = params.temperature
            if params.top_p is not None:
                body["top_p"] = params.top_p
        if params.stop:
            body["stop"] = params.stop
        if params.response_format is not None:
            body["response_format"] = params.response_format
        body.update(params.extra)
        return f"{self.base_url}/chat/completions", body

    async def parse_stream(
        self, lines: AsyncIterator[str], model: str, secret: str | None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Chunks -> neutral events; tool calls assembled by index, emitted whole at the finish."""
        calls: list[_PendingCall] = []
        by_index: dict[int, _PendingCall] = {}
        finish: str | None = None
        reply_model: str | None = None
        usage: Usage | None = None
        async for sse in iter_sse(lines):
            if sse.data.strip() == "[DONE]":
                break
            try:
                chunk = json.loads(sse.data)
            except ValueError:
                yield ProviderError("protocol", f"{self.name} sent a malformed stream chunk: {sse.data[:80]!r}")
                return
            if not isinstance(chunk, dict):
                yield ProviderError("protocol", f"{self.name} sent a stream chunk that is not an object.")
                return
            if chunk.get("error"):
                yield classify_stream_error(chunk["error"], provider=self.name, model=model, secret=secret)
                return
            reply_model = chunk.get("model") or reply_model
            if chunk.get("usage"):
                usage = _usage(chunk["usage"])
            for choice in chunk.get("choices") or []:
                if choice.get("index", 0) != 0:
                    continue  # n > 1 is never requested; ignore stray alternatives
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    yield TextDelta(delta["content"])
                for fragment in delta.get("tool_calls") or []:
                    for event in _absorb_fragment(fragment, calls, by_index):
                        yield event
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        else:
            if finish is None:
                # The connection closed cleanly but the reply never finished: treat as a drop (retryable).
                yield ProviderError(
                    "connection", f"{self.name} closed the stream before the reply was complete.", None, True
                )
                return
        for call in calls:
            args, error = parse_arguments("".join(call.parts), call.name)
            yield ToolCall(call.id, call.name, args, error, "".join(call.parts) if error else None)
        if usage is not None:
            yield usage
        stop = _FINISH_REASONS.get(finish or "stop", "stop")
        if calls and stop == "stop":
            stop = "tool_calls"  # some compatible servers report "stop" even when they called tools
        yield Done(stop, reply_model)


def _absorb_fragment(
    fragment: dict[str, Any], calls: list[_PendingCall], by_index: dict[int, _PendingCall]
) -> list[ToolCallDelta]:
    index = fragment.get("index", len(calls))
    function = fragment.get("function") or {}
    call = by_index.get(index)
    new_id = fragment.get("id")
    # A new id at a known index is a new call: some Ollama-compatible servers reuse index 0 for parallel calls.
    if call is None or (new_id and new_id != call.id):
        call = _PendingCall(len(calls), new_id or f"call_{len(calls)}", function.get("name") or "")
        calls.append(call)
        by_index[index] = call
        piece = function.get("arguments") or ""
        call.parts.append(piece)
        return [ToolCallDelta(call.slot, call.id, call.name, piece)]
    if function.get("name") and not call.name:
        call.name = function["name"]
    piece = function.get("arguments") or ""
    if not piece:
        return []
    call.parts.append(piece)
    return [ToolCallDelta(call.slot, None, None, piece)]


def _usage(raw: dict[str, Any]) -> Usage:
    details = raw.get("prompt_tokens_details") or {}
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
        prompt_cached_tokens=int(details.get("cached_tokens") or 0),
    )
