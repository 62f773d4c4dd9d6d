"""Wire-level parsing: the SSE parser and stream quirks of OpenAI-compatible servers and Anthropic."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from loop_tui.llm.anthropic import AnthropicProvider, to_anthropic_messages
from loop_tui.llm.base import Done, ProviderError, TextDelta, ToolCall, ToolCallDelta, Usage
from loop_tui.llm.openai_compat import OpenAICompatProvider, to_openai_messages
from loop_tui.llm.sse import SseEvent, iter_sse


async def lines_of(text: str) -> AsyncIterator[str]:
    for line in text.splitlines():
        yield line


async def events_of(text: str) -> list[SseEvent]:
    return [e async for e in iter_sse(lines_of(text))]


async def test_sse_fields_comments_multiline_data_and_crlf() -> None:
    text = ": keep-alive\r\nevent: a\r\ndata: one\r\ndata:two\r\nid: 7\r\n\r\n\r\ndata: {\"x\": 1}\n\ndata: tail"
    assert await events_of(text) == [SseEvent("a", "one\ntwo"), SseEvent("", '{"x": 1}'), SseEvent("", "tail")]


def openai_chunk(delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> str:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return "data: " + json.dumps({"model": "m", "choices": choices, **extra}) + "\n\n"


async def parse_openai(body: str) -> list[Any]:
    provider = OpenAICompatProvider(base_url="http://127.0.0.1:1/v1", api_key_env=None)
    return [e async for e in provider.parse_stream(lines_of(body), "m", None)]


async def test_ollama_style_parallel_calls_reusing_index_zero() -> None:
    body = "".join([
        openai_chunk({"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"x":1}'}}]}),
        openai_chunk({"tool_calls": [{"index": 0, "id": "b", "function": {"name": "g", "arguments": '{"y":2}'}}]}),
        openai_chunk({}, "stop"),  # some servers say "stop" even after tool calls
        "data: [DONE]\n\n",
    ])
    events = await parse_openai(body)
    assert [e for e in events if isinstance(e, ToolCall)] == [ToolCall("a", "f", {"x": 1}), ToolCall("b", "g", {"y": 2})]
    assert [e.index for e in events if isinstance(e, ToolCallDelta)] == [0, 1]
    assert events[-1] == Done("tool_calls", "m")


async def test_openai_stream_without_done_but_finished_is_accepted() -> None:
    body = openai_chunk({"content": "hi"}) + openai_chunk({}, "stop") + openai_chunk(
        None, usage={"prompt_tokens": 3, "completion_tokens": 1})
    events = await parse_openai(body)
    assert events == [TextDelta("hi"), Usage(3, 1, 0, 0), Done("stop", "m")]


async def test_openai_error_object_inside_the_stream() -> None:
    body = openai_chunk({"content": "a"}) + 'data: {"error": {"message": "model overloaded", "code": "server_error"}}\n\n'
    events = await parse_openai(body)
    assert events[0] == TextDelta("a")
    assert isinstance(events[1], ProviderError) and events[1].kind == "server" and events[1].retryable


async def test_anthropic_usage_is_cumulative_and_thinking_is_skipped() -> None:
    def ev(payload: dict[str, Any]) -> str:
        return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n"

    body = "".join([
        ev({"type": "message_start", "message": {"model": "c", "usage": {
            "input_tokens": 10, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 2, "output_tokens": 1}}}),
        ev({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        ev({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
        ev({"type": "content_block_stop", "index": 0}),
        ev({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}}),
        ev({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}}),
        ev({"type": "content_block_stop", "index": 1}),
        ev({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
        ev({"type": "future_event"}),
        ev({"type": "message_stop"}),
    ])
    provider = AnthropicProvider(base_url="http://127.0.0.1:1", api_key_env=None)
    events = [e async for e in provider.parse_stream(lines_of(body), "c", None)]
    assert events == [TextDelta("Hi"), Usage(17, 7, 5, 2), Done("stop", "c")]


def test_message_mapping_edge_cases() -> None:
    system, messages = to_anthropic_messages([
        {"role": "system", "content": "a"},
        {"role": "system", "content": "b"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": ""},  # empty: dropped, the API rejects it
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "t", "name": "f", "arguments": {}}]},
        {"role": "tool", "tool_call_id": "t", "content": {"rows": 1}, "is_error": True},
    ])
    assert system == "a\n\nb"
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == [{"type": "text", "text": "q"}, {"type": "text", "text": "q2"}]
    assert messages[2]["content"] == [{"type": "tool_result", "tool_use_id": "t", "content": '{"rows": 1}',
                                       "is_error": True}]
    openai = to_openai_messages([{"role": "assistant", "content": "", "tool_calls": [
        {"id": "t", "name": "f", "arguments": {"a": [1]}}]}])
    assert openai == [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "t", "type": "function", "function": {"name": "f", "arguments": '{"a": [1]}'}}]}]
