"""Failures for both providers: retries before output, never after, clear errors, timeouts, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from loop_tui.llm.base import Done, ProviderError, TextDelta
from tests.fake_model_server import FakeModelServer, collect

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-sonnet-4-20250514"}
KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
CHAT = [{"role": "user", "content": "hi"}]


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    """A fresh fake model server per test."""
    with FakeModelServer() as fake:
        yield fake


@pytest.fixture(params=["openai", "anthropic"])
def kind(request: pytest.FixtureRequest) -> str:
    """Each test runs once per wire format."""
    return request.param


class SleepRecorder:
    """Stands in for asyncio.sleep so tests see the retry delays without waiting for them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def run(server: FakeModelServer, kind: str, **options: Any) -> list[Any]:
    provider = server.provider(kind, **options)
    try:
        return await collect(provider.stream(CHAT, None, MODELS[kind]))
    finally:
        await provider.aclose()


def text_of(events: list[Any]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def test_429_is_retried_respecting_retry_after(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "429", "retry_after": 0.25}, {"fault": "429", "retry_after_ms": 40}, {"text": "ok"}])
    sleep = SleepRecorder()
    events = await run(server, kind, sleep=sleep)
    assert text_of(events) == "ok" and isinstance(events[-1], Done)
    assert sleep.delays == [0.25, pytest.approx(0.04)]
    assert len(server.requests) == 3


async def test_retry_after_is_capped(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "429", "retry_after": 3600}, {"text": "ok"}])
    sleep = SleepRecorder()
    await run(server, kind, sleep=sleep, retry_after_cap_s=2.0)
    assert sleep.delays == [2.0]


@pytest.mark.parametrize("fault", ["500", "529"])
async def test_server_errors_are_retried_with_backoff(server: FakeModelServer, kind: str, fault: str) -> None:
    server.script([{"fault": fault}, {"fault": fault}, {"text": "recovered"}])
    sleep = SleepRecorder()
    events = await run(server, kind, sleep=sleep, backoff_base_s=1.0, backoff_max_s=8.0)
    assert text_of(events) == "recovered"
    # Exponential with jitter: attempt n waits within [base*2^n / 2, base*2^n].
    assert 0.5 <= sleep.delays[0] <= 1.0 and 1.0 <= sleep.delays[1] <= 2.0


async def test_retries_exhausted_give_a_provider_error(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "500"}] * 3)
    events = await run(server, kind, max_retries=2)
    assert len(events) == 1 and isinstance(events[0], ProviderError)
    assert events[0].kind == "server" and events[0].status == 500
    assert "gave up after 2 retries" in events[0].message
    assert len(server.requests) == 3


async def test_disconnect_after_output_is_not_retried(server: FakeModelServer, kind: str) -> None:
    server.script([{"text": "partial answer that is long", "fault": "disconnect", "after": 5}, {"text": "again"}])
    events = await run(server, kind)
    assert text_of(events) and "again" not in text_of(events)
    error = events[-1]
    assert isinstance(error, ProviderError) and error.kind == "connection"
    assert "not retried after partial output" in error.message
    assert len(server.requests) == 1 and server.pending == 1


async def test_disconnect_before_output_is_retried(server: FakeModelServer, kind: str) -> None:
    server.script([{"text": "lost", "fault": "disconnect", "after": 1}, {"text": "second try"}])
    events = await run(server, kind)
    assert text_of(events) == "second try" and isinstance(events[-1], Done)
    assert len(server.requests) == 2


async def test_stream_closed_without_finish_is_an_error(server: FakeModelServer, kind: str) -> None:
    server.script([{"text": "never finished", "fault": "no_done"}])
    events = await run(server, kind)
    assert isinstance(events[-1], ProviderError) and events[-1].kind == "connection"
    assert len(server.requests) == 1  # output had been streamed: no retry


async def test_malformed_chunk_is_a_protocol_error(server: FakeModelServer, kind: str) -> None:
    server.script([{"text": "fine so far", "fault": "malformed", "after": 3}])
    events = await run(server, kind)
    error = events[-1]
    assert isinstance(error, ProviderError) and error.kind == "protocol"
    assert "malformed" in error.message
    assert len(server.requests) == 1


async def test_mid_stream_error_event(server: FakeModelServer, kind: str) -> None:
    server.script([{"text": "some text first", "fault": "stream_error", "after": 4,
                    "error_type": "overloaded_error", "message": "Overloaded"}])
    events = await run(server, kind)
    error = events[-1]
    assert isinstance(error, ProviderError) and error.kind == "server" and "Overloaded" in error.message
    assert len(server.requests) == 1


async def test_mid_stream_error_before_output_is_retried(server: FakeModelServer) -> None:
    server.script([{"text": "x", "fault": "stream_error", "after": 1}, {"text": "fine"}])
    events = await run(server, "anthropic")
    assert text_of(events) == "fine"


async def test_401_names_the_env_var_and_is_not_retried(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "401"}])
    events = await run(server, kind)
    (error,) = events
    assert error.kind == "auth" and error.status == 401 and not error.retryable
    assert f"${KEY_ENV[kind]}" in error.message
    assert "sk-fake" not in error.message
    assert len(server.requests) == 1


async def test_missing_key_fails_before_any_request(server: FakeModelServer, kind: str) -> None:
    events = await run(server, kind, env={})
    (error,) = events
    assert error.kind == "auth" and KEY_ENV[kind] in error.message
    assert server.requests == []


async def test_404_names_the_model(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "404"}])
    (error,) = await run(server, kind)
    assert error.kind == "not_found" and MODELS[kind] in error.message


async def test_context_length(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "context_length"}])
    (error,) = await run(server, kind)
    assert error.kind == "context_length" and MODELS[kind] in error.message


async def test_400_carries_the_api_message(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "400", "message": "temperature must be at most 2"}])
    (error,) = await run(server, kind)
    assert error.kind == "bad_request" and "temperature must be at most 2" in error.message


async def test_timeout_is_retried_then_reported(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "stall", "seconds": 5}, {"fault": "stall", "seconds": 5}])
    (error,) = await run(server, kind, timeout_s=0.2, max_retries=1)
    assert error.kind == "timeout" and "0.2s" in error.message and "gave up after 1 retry" in error.message


async def test_connection_refused(kind: str) -> None:
    with FakeModelServer() as fake:
        provider = fake.provider(kind, max_retries=1)
    # The server is stopped: its port now refuses connections.
    (error,) = await collect(provider.stream(CHAT, None, MODELS[kind]))
    await provider.aclose()
    assert error.kind == "connection" and "127.0.0.1" in error.message


async def test_aclose_closes_the_connection(server: FakeModelServer, kind: str) -> None:
    server.script([{"text": "x" * 400, "chunk_size": 1, "chunk_delay": 0.01}])
    provider = server.provider(kind)
    stream = provider.stream(CHAT, None, MODELS[kind])
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()
    assert server.wait_for(lambda: server.requests[-1].disconnected, timeout=5)
    assert not server.requests[-1].completed
    await provider.aclose()


async def test_task_cancel_closes_the_connection(server: FakeModelServer, kind: str) -> None:
    server.script([{"text": "y" * 400, "chunk_size": 1, "chunk_delay": 0.01}])
    provider = server.provider(kind)
    started = asyncio.Event()

    async def consume() -> None:
        async for _event in provider.stream(CHAT, None, MODELS[kind]):
            started.set()

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert server.wait_for(lambda: server.requests[-1].disconnected, timeout=5)
    await provider.aclose()


async def test_cancel_during_backoff_stops_retrying(server: FakeModelServer, kind: str) -> None:
    server.script([{"fault": "429", "retry_after": 30}, {"text": "never"}])
    provider = server.provider(kind, retry_after_cap_s=30)
    task = asyncio.create_task(collect(provider.stream(CHAT, None, MODELS[kind])))
    assert await asyncio.to_thread(server.wait_for, lambda: len(server.requests) == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(server.requests) == 1 and server.pending == 1
    await provider.aclose()


async def test_malformed_messages_are_a_bad_request_error(server: FakeModelServer, kind: str) -> None:
    provider = server.provider(kind)
    events = await collect(provider.stream([{"role": "tool", "content": "no id"}], None, MODELS[kind]))
    await provider.aclose()
    (error,) = events
    assert error.kind == "bad_request" and "tool_call_id" in error.message
    assert server.requests == []


async def test_a_callers_own_client_and_a_proxied_environment_use_the_full_client(
    server: FakeModelServer, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Our pooled clients send straight to their transport; a client the caller passes in, and any client
    # when the environment names a proxy, go through httpx's client layers. Both must behave the same.
    import httpx

    from loop_tui.llm.http_base import _TRANSPORTS, pooled_client

    async with httpx.AsyncClient() as own:
        server.script([{"fault": "429", "retry_after": 0}, {"text": "via your client"}])
        events = await run(server, kind, client=own, sleep=SleepRecorder())
        assert text_of(events) == "via your client" and own not in _TRANSPORTS
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    direct = pooled_client()
    assert direct in _TRANSPORTS
    await direct.aclose()
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # only consulted for https URLs
    proxied = pooled_client()
    assert proxied not in _TRANSPORTS
    await proxied.aclose()


async def test_credentials_in_the_base_url_are_sent_as_basic_auth(server: FakeModelServer) -> None:
    # A gateway behind basic auth configured as http://user:pass@host: the direct transport path would skip
    # httpx's auth step, so such URLs go through the full client.
    import base64

    provider = server.provider("openai", base_url=server.openai_base_url.replace("http://", "http://gw:secret@"),
                               api_key_env=None)
    try:
        events = await collect(provider.stream(CHAT, None, MODELS["openai"]))
    finally:
        await provider.aclose()
    assert isinstance(events[-1], Done)
    sent = server.requests[-1].headers.get("authorization") or server.requests[-1].headers.get("Authorization")
    assert sent == "Basic " + base64.b64encode(b"gw:secret").decode()
