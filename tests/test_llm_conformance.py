"""The same streaming conformance suite for both providers, against the fake model server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from loop_tui.llm.base import Done, ModelParams, TextDelta, ToolCall, ToolCallDelta, Usage
from tests.fake_model_server import FakeModelServer, collect

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-20250514"}
CHAT = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "hello there"}]
TOOLS = [
    {
        "name": "btql_query",
        "description": "Run a BTQL query.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
    },
    {"name": "search_docs", "description": "Search the docs.", "parameters": {"type": "object", "properties": {}}},
]


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    """A fresh fake model server per test."""
    with FakeModelServer() as fake:
        yield fake


@pytest.fixture(params=["openai", "anthropic"])
def kind(request: pytest.FixtureRequest) -> str:
    """Each test runs once per wire format."""
    return request.param


async def run(server: FakeModelServer, kind: str, messages: Any = None, tools: Any = None, params: Any = None,
              **provider_options: Any) -> list[Any]:
    """Stream one reply from a fresh provider aimed at the fake server."""
    provider = server.provider(kind, **provider_options)
    try:
        return await collect(provider.stream(messages or CHAT, tools, MODELS[kind], params))
    finally:
        await provider.aclose()


def text_of(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_streams_text_in_many_deltas(server: FakeModelServer, kind: str) -> None:
    reply = "The most common error is a 429 rate limit — über häufig."
    server.script({"text": reply, "chunk_size": 3})
    events = await run(server, kind)
    assert text_of(events) == reply
    assert len([e for e in events if isinstance(e, TextDelta)]) >= len(reply) // 3
    assert events[-1] == Done("stop", MODELS[kind])


async def test_parallel_tool_calls_are_reassembled(server: FakeModelServer, kind: str) -> None:
    first = {"query": "select: count(1) | from: project_logs('p') | filter: error IS NOT NULL", "note": 'a "q" é'}
    second = {"q": "how do I tune a scorer?", "k": [1, 2, {"x": None}]}
    server.script({
        "text": "Let me look.",
        "tool_calls": [{"name": "btql_query", "arguments": first, "id": "c1"},
                       {"name": "search_docs", "arguments": second, "id": "c2"}],
        "arg_chunk_size": 3,
    })
    events = await run(server, kind, tools=TOOLS)
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert calls == [ToolCall("c1", "btql_query", first), ToolCall("c2", "search_docs", second)]
    deltas = [e for e in events if isinstance(e, ToolCallDelta)]
    for index, call in enumerate(calls):
        mine = [d for d in deltas if d.index == index]
        assert mine[0].id == call.id and mine[0].name == call.name
        assert json.loads("".join(d.arguments_delta for d in mine)) == call.arguments
        assert len(mine) > 5  # the arguments really streamed in pieces
    assert text_of(events) == "Let me look."
    assert events[-1].stop_reason == "tool_calls"


async def test_usage_with_cached_tokens(server: FakeModelServer, kind: str) -> None:
    created = 100 if kind == "anthropic" else 0  # OpenAI has no cache-write count
    server.script({"text": "ok", "usage": {"prompt_tokens": 1000, "completion_tokens": 50,
                                                "cached_tokens": 600, "cache_creation_tokens": created}})
    events = await run(server, kind)
    usage = [e for e in events if isinstance(e, Usage)]
    # Normalised: prompt includes cached and cache-created tokens for both; completion not double counted.
    assert usage == [Usage(1000, 50, 600, created)]


@pytest.mark.parametrize("finish", ["length", "content_filter"])
async def test_finish_reasons_are_mapped(server: FakeModelServer, kind: str, finish: str) -> None:
    server.script({"text": "cut", "finish_reason": finish})
    events = await run(server, kind)
    assert events[-1].stop_reason == finish


async def test_truncated_tool_arguments_give_a_call_with_an_error(server: FakeModelServer, kind: str) -> None:
    server.script({"tool_calls": [{"name": "btql_query", "arguments": '{"query": "select: *'}],
                        "finish_reason": "length"})
    events = await run(server, kind, tools=TOOLS)
    (call,) = [e for e in events if isinstance(e, ToolCall)]
    assert call.arguments == {} and call.raw_arguments == '{"query": "select: *'
    assert "btql_query" in call.error and "not valid JSON" in call.error
    assert events[-1].stop_reason == "length"


async def test_non_object_arguments_are_an_error(server: FakeModelServer, kind: str) -> None:
    server.script({"tool_calls": [{"name": "search_docs", "arguments": "[1, 2]"},
                                       {"name": "search_docs", "arguments": ""}]})
    calls = [e for e in await run(server, kind, tools=TOOLS) if isinstance(e, ToolCall)]
    assert "must be a JSON object" in calls[0].error
    assert calls[1].arguments == {} and calls[1].error is None  # empty arguments mean {}


async def test_byte_split_crlf_and_keepalives_are_tolerated(server: FakeModelServer, kind: str) -> None:
    args = {"query": "naïve ✓ \"quoted\" \\ back"}
    server.script({"text": "日本語のテキスト ✓", "tool_calls": [{"name": "btql_query", "arguments": args}],
                        "raw_chunk_bytes": 3, "crlf": True, "keepalive": True, "chunk_size": 1})
    events = await run(server, kind, tools=TOOLS)
    assert text_of(events) == "日本語のテキスト ✓"
    assert [e.arguments for e in events if isinstance(e, ToolCall)] == [args]
    assert isinstance(events[-1], Done)


async def test_slow_drip_still_streams(server: FakeModelServer, kind: str) -> None:
    server.script({"text": "slowly but surely", "chunk_delay": 0.01})
    events = await run(server, kind)
    assert text_of(events) == "slowly but surely"


async def test_default_reply_echoes_the_last_user_message(server: FakeModelServer, kind: str) -> None:
    events = await run(server, kind)
    assert text_of(events) == "echo: hello there"


# --- what the client sends --------------------------------------------------------------------


CONVERSATION = [
    {"role": "system", "content": "You are Loop."},
    {"role": "user", "content": "count errors"},
    {"role": "assistant", "content": "Checking.", "tool_calls": [
        {"id": "t1", "name": "btql_query", "arguments": {"query": "select: count(1)"}},
        {"id": "t2", "name": "search_docs", "arguments": {}},
    ]},
    {"role": "tool", "tool_call_id": "t1", "name": "btql_query", "content": '{"count": 3}'},
    {"role": "tool", "tool_call_id": "t2", "name": "search_docs", "content": "no results"},
    {"role": "user", "content": "thanks"},
]


async def test_openai_request_shape(server: FakeModelServer) -> None:
    params = ModelParams(temperature=0.2, max_tokens=256, response_format={"type": "json_object"},
                         tool_choice={"name": "btql_query"}, stop=["\n\n"], extra={"seed": 7})
    await run(server, "openai", CONVERSATION, TOOLS, params)
    sent = server.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-fake-model-server-key"
    body = sent.body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 256 and body["temperature"] == 0.2 and body["seed"] == 7
    assert body["response_format"] == {"type": "json_object"} and body["stop"] == ["\n\n"]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "btql_query"}}
    assert body["tools"][0] == {"type": "function", "function": TOOLS[0]}
    assistant = body["messages"][2]
    assert assistant["tool_calls"][0] == {"id": "t1", "type": "function", "function": {
        "name": "btql_query", "arguments": json.dumps({"query": "select: count(1)"})}}
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "t1", "content": '{"count": 3}'}
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "tool", "tool", "user"]


@pytest.mark.parametrize("model", ["o3", "o4-mini", "gpt-5", "braintrust/gpt-5-mini"])
async def test_reasoning_models_use_max_completion_tokens(server: FakeModelServer, model: str) -> None:
    provider = server.provider("openai")
    await collect(provider.stream(CHAT, None, model, ModelParams(max_tokens=99, temperature=0)))
    await provider.aclose()
    body = server.requests[-1].body
    assert body["max_completion_tokens"] == 99 and "max_tokens" not in body and "temperature" not in body


async def test_anthropic_request_shape(server: FakeModelServer) -> None:
    params = ModelParams(temperature=0.0, tool_choice="required", stop=["END"],
                         response_format={"type": "json_object"})
    await run(server, "anthropic", CONVERSATION, TOOLS, params)
    sent = server.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-fake-model-server-key"
    assert sent.headers["anthropic-version"] == "2023-06-01"
    body = sent.body
    assert body["system"].startswith("You are Loop.") and "JSON object" in body["system"]
    assert body["max_tokens"] == 4096  # required by the API: a default is always sent
    assert body["tool_choice"] == {"type": "any"} and body["stop_sequences"] == ["END"]
    assert body["tools"][0] == {"name": "btql_query", "description": "Run a BTQL query.",
                                "input_schema": TOOLS[0]["parameters"]}
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user"]  # tool results and the next user turn merged
    assistant, results = body["messages"][1]["content"], body["messages"][2]["content"]
    assert assistant[0] == {"type": "text", "text": "Checking."}
    assert assistant[1] == {"type": "tool_use", "id": "t1", "name": "btql_query",
                            "input": {"query": "select: count(1)"}}
    assert [b["type"] for b in results] == ["tool_result", "tool_result", "text"]
    assert results[0] == {"type": "tool_result", "tool_use_id": "t1", "content": '{"count": 3}'}


async def test_anthropic_base_url_with_v1_is_not_doubled(server: FakeModelServer) -> None:
    events = await run(server, "anthropic", base_url=server.anthropic_base_url + "/v1")
    assert isinstance(events[-1], Done)
    assert server.requests[-1].path == "/v1/messages"


async def test_anthropic_long_system_prompt_gets_a_cache_breakpoint(server: FakeModelServer) -> None:
    long_system = "You are Loop. " * 400
    await run(server, "anthropic", [{"role": "system", "content": long_system}, {"role": "user", "content": "q"}])
    assert server.requests[-1].body["system"] == [
        {"type": "text", "text": long_system, "cache_control": {"type": "ephemeral"}}]
    await run(server, "anthropic", [{"role": "system", "content": long_system}, {"role": "user", "content": "q"}],
              prompt_caching=False)
    assert server.requests[-1].body["system"] == long_system


async def test_concurrent_streams_share_one_provider(server: FakeModelServer, kind: str) -> None:
    provider = server.provider(kind)

    async def ask(n: int) -> str:
        events = await collect(provider.stream([{"role": "user", "content": f"question {n}"}], None, MODELS[kind]))
        assert isinstance(events[-1], Done)
        return text_of(events)

    answers = await asyncio.gather(*(ask(n) for n in range(30)))
    await provider.aclose()
    assert answers == [f"echo: question {n}" for n in range(30)]
