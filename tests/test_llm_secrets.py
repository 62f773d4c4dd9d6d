"""API keys never appear in errors, reprs or logs, even when the server echoes them back."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from loop_tui.config import Settings
from loop_tui.llm import make_provider, resolve_model
from loop_tui.llm.base import ProviderError
from tests.fake_model_server import FakeModelServer, collect

KEY = "sk-PLANTED-0123456789abcdefSECRET"
MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-20241022"}
ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
LEAKY_REPLIES = [
    {"fault": "401", "echo_key": True},
    {"fault": "403", "echo_key": True},
    {"fault": "404", "echo_key": True},
    {"fault": "400", "echo_key": True},
    {"fault": "context_length", "echo_key": True},
    {"fault": "429", "echo_key": True, "retry_after": 0},
    {"text": "partial", "fault": "stream_error", "after": 4, "echo_key": True, "error_type": "invalid_request_error"},
]


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    """A fresh fake model server per test."""
    with FakeModelServer() as fake:
        yield fake


def _texts(events: list[Any], provider: Any) -> list[str]:
    return [repr(provider), str(provider)] + [repr(e) for e in events] + [str(e) for e in events]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("reply", LEAKY_REPLIES, ids=lambda r: r["fault"])
async def test_key_echoed_by_the_server_never_leaks(
    server: FakeModelServer, kind: str, reply: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx / httpcore debug logs included
    server.script([reply])
    provider = server.provider(kind, env={ENV[kind]: KEY}, max_retries=0)
    events = await collect(provider.stream([{"role": "user", "content": "hi"}], None, MODELS[kind]))
    await provider.aclose()
    assert server.requests[-1].api_key == KEY  # the key really was sent, and echoed back
    assert events and isinstance(events[-1], ProviderError)
    texts = _texts(events, provider) + [record.getMessage() for record in caplog.records]
    assert caplog.records  # the logs really were captured
    assert not [text for text in texts if KEY in text]
    assert "***" in events[-1].message or reply["fault"] in ("401", "403")


async def test_retry_log_lines_do_not_leak(server: FakeModelServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.script([{"fault": "500", "echo_key": True}, {"text": "ok"}])
    provider = server.provider("openai", env={"OPENAI_API_KEY": KEY})
    await collect(provider.stream([{"role": "user", "content": "hi"}], None, "gpt-4o"))
    await provider.aclose()
    retry_lines = [r.getMessage() for r in caplog.records if r.name == "loop_tui.llm"]
    assert retry_lines and all(KEY not in line for line in retry_lines)


def test_resolved_models_and_providers_hold_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    for name in ("gpt-4o", "claude-4-sonnet", "braintrust/gpt-4o"):
        resolved = resolve_model(name, Settings())
        provider = make_provider(resolved, Settings())
        assert KEY not in repr(resolved) and KEY not in repr(provider)
        assert KEY not in repr(vars(provider))  # not even stored: read from the environment per request
