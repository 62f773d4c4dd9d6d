"""Anthropic Messages over SSE.

Wire details that matter (research §7.2): the system prompt is a top-level field; tool results are
`tool_result` blocks inside a user message (consecutive ones merged into one message); tool input streams
as `input_json_delta.partial_json` per content block `index` and is parsed at `content_block_stop`; usage
is `message_start.usage` updated by the cumulative `message_delta.usage`; `ping` may appear anywhere and an
`error` event can arrive after a 200.

Usage is normalised (see `base.Usage`): `prompt_tokens = input_tokens + cache_read + cache_creation`.
There is no JSON mode: a `response_format` becomes an instruction appended to the system prompt.
A long system prompt gets a `cache_control` breakpoint (prompt caching), so an agent loop that resends
the same tools + system prompt every turn pays the cache-read price for them (`prompt_caching=False`
turns this off).
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
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

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
# Anthropic only caches prefixes of >= 1024 tokens (2048 on Haiku); ~4 characters per token.
CACHE_MIN_SYSTEM_CHARS = 4096
_STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "refusal": "content_filter",
}


def to_anthropic_messages(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """Neutral messages -> (system prompt, messages); same-role neighbours merge so roles alternate."""
    system_parts: list[str] = []
    out: list[dict[str, Any]] = []
    for msg in messages:
        role = msg["role"]
        if role in ("system", "developer"):
            system_parts.append(_text(msg.get("content")))
            continue
        if role == "user":
            blocks = _content_blocks(msg.get("content"))
            wire_role = "user"
        elif role == "assistant":
            blocks = _content_blocks(msg.get("content"))
            blocks += [
                {"type": "tool_use", "id": call["id"], "name": call["name"], "input": call.get("arguments") or {}}
                for call in msg.get("tool_calls") or []
            ]
            wire_role = "assistant"
        elif role == "tool":
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": msg["tool_call_id"],
                "content": _text(msg.get("content")),
            }
            if msg.get("is_error"):
                block["is_error"] = True
            blocks, wire_role = [block], "user"
        else:
            raise ValueError(f"unknown message role {role!r}")
        if not blocks:
            continue  # the API rejects empty content
        if out and out[-1]["role"] == wire_role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": wire_role, "content": blocks})
    return ("\n\n".join(p for p in system_parts if p) or None), out


def _content_blocks(content: Any) -> list[dict[str, Any]]:
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):  # already content parts; text parts in OpenAI shape map 1:1
        return [dict(part) for part in content]
    return [{"type": "text", "text": json.dumps(content)}]


def _text(content: Any) -> str:
    if content is None:
        return ""
    return content if isinstance(content, str) else json.dumps(content)


def _tool_choice(choice: str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(choice, dict):
        return choice if "type" in choice else {"type": "tool", "name": choice["name"]}
    return {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}.get(
        choice, {"type": "auto"}
    )


def _json_instruction(response_format: dict[str, Any]) -> str:
    schema = (response_format.get("json_schema") or {}).get("schema")
    if schema:
        return "Respond with only a JSON object matching this JSON schema, no other text:\n" + json.dumps(schema)
    return "Respond with only a valid JSON object, no other text."


class AnthropicProvider(HttpProvider):
    """The Anthropic Messages API with streaming."""

    name = "anthropic"

    def __init__(self, *, prompt_caching: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.prompt_caching = prompt_caching

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        """`x-api-key` and the required `anthropic-version` header."""
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def build_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, model: str, params: ModelParams
    ) -> tuple[str, dict[str, Any]]:
        """The messages body; `max_tokens` is required by the API, so it always has a value."""
        system, wire_messages = to_anthropic_messages(messages)
        if params.response_format and params.response_format.get("type") in ("json_object", "json_schema"):
            system = "\n\n".join(p for p in (system, _json_instruction(params.response_format)) if p)
        body: dict[str, Any] = {
            "model": model,
            "messages": wire_messages,
            "max_tokens": params.max_tokens or DEFAULT_MAX_TOKENS,
            "stream": True,
        }
        if system and self.prompt_caching and len(system) >= CACHE_MIN_SYSTEM_CHARS:
            # The cached prefix is tools + system: one breakpoint here covers both.
            body["system"] = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
        elif system:
            body["system"] = system
        if tools:
            body["tools"] = [
                {
                    "name": t["name"],
                    "description": t.get("description", ""),
                    "input_schema": t.get("parameters") or {"type": "object", "properties": {}},
                }
                for t in tools
            ]
        if params.tool_choice is not None and tools:
            body["tool_choice"] = _tool_choice(params.tool_choice)
        if params.temperature is not None:
            body["temperature"] = params.temperature
        if params.top_p is not None:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop_sequences"] = params.stop
        body.update(params.extra)
        base = self.base_url if self.base_url.endswith("/v1") else f"{self.base_url}/v1"
        return f"{base}/messages", body

    async def parse_stream(
        self, lines: AsyncIterator[str], model: str, secret: str | None
    ) -> AsyncGenerator[StreamEvent, None]:
        """Events -> neutral events; a tool call is emitted whole at its `content_block_stop`."""
        tools: dict[int, tuple[int, str, str, list[str]]] = {}  # block index -> (slot, id, name, parts)
        raw_usage: dict[str, int] = {}
        stop_reason: str | None = None
        reply_model: str | None = None
        async for sse in iter_sse(lines):
            try:
                event = json.loads(sse.data)
            except ValueError:
                yield ProviderError("protocol", f"{self.name} sent a malformed stream event: {sse.data[:80]!r}")
                return
            kind = event.get("type") or sse.event
            if kind == "message_start":
                message = event.get("message") or {}
                reply_model = message.get("model")
                raw_usage.update(_int_fields(message.get("usage")))
            elif kind == "content_block_start":
                block = event.get("content_block") or {}
                if block.get("type") == "tool_use":
                    slot = len(tools)
                    tools[event["index"]] = (slot, block["id"], block["name"], [])
                    yield ToolCallDelta(slot, block["id"], block["name"], "")
                elif block.get("type") == "text" and block.get("text"):
                    yield TextDelta(block["text"])
            elif kind == "content_block_delta":
                delta = event.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    yield TextDelta(delta["text"])
                elif delta.get("type") == "input_json_delta" and event.get("index") in tools:
                    slot, _, _, parts = tools[event["index"]]
                    piece = delta.get("partial_json") or ""
                    if piece:
                        parts.append(piece)
                        yield ToolCallDelta(slot, None, None, piece)
                # thinking_delta / signature_delta are not surfaced
            elif kind == "content_block_stop" and event.get("index") in tools:
                _, call_id, name, parts = tools[event["index"]]
                raw = "".join(parts)
                args, error = parse_arguments(raw, name)
                yield ToolCall(call_id, name, args, error, raw if error else None)
            elif kind == "message_delta":
                stop_reason = (event.get("delta") or {}).get("stop_reason") or stop_reason
                raw_usage.update(_int_fields(event.get("usage")))  # cumulative: replaces, never adds
            elif kind == "message_stop":
                yield _usage(raw_usage)
                yield Done(_STOP_REASONS.get(stop_reason or "end_turn", "stop"), reply_model)
                return
            elif kind == "error":
                yield classify_stream_error(event.get("error"), provider=self.name, model=model, secret=secret)
                return
            # ping and unknown future events are ignored
        yield ProviderError("connection", f"{self.name} closed the stream before the reply was complete.", None, True)


def _int_fields(usage: Any) -> dict[str, int]:
    if not isinstance(usage, dict):
        return {}
    return {k: int(v) for k, v in usage.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _usage(raw: dict[str, int]) -> Usage:
    cached = raw.get("cache_read_input_tokens", 0)
    created = raw.get("cache_creation_input_tokens", 0)
    return Usage(
        prompt_tokens=raw.get("input_tokens", 0) + cached + created,
        completion_tokens=raw.get("output_tokens", 0),
        prompt_cached_tokens=cached,
        prompt_cache_creation_tokens=created,
    )
