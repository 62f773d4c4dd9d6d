"""The fake model server itself: sync use, scripting, recording, non-streaming replies and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.fake_model_server import FakeModelServer, collect

ROOT = Path(__file__).resolve().parents[1]


def test_sync_client_non_streaming_openai_reply() -> None:
    with FakeModelServer() as server:
        server.script({"text": "done", "tool_calls": [{"name": "f", "arguments": {"a": 1}}],
                       "usage": {"prompt_tokens": 9, "completion_tokens": 2, "cached_tokens": 4}})
        reply = httpx.post(f"{server.openai_base_url}/chat/completions",
                           json={"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}).json()
    message = reply["choices"][0]["message"]
    assert message["content"] == "done" and reply["choices"][0]["finish_reason"] == "tool_calls"
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"a": 1}
    assert reply["usage"]["prompt_tokens_details"]["cached_tokens"] == 4


def test_non_streaming_anthropic_reply_and_echo_default() -> None:
    with FakeModelServer() as server:
        reply = httpx.post(f"{server.anthropic_base_url}/v1/messages", json={
            "model": "claude", "max_tokens": 10,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "ping me"}]}]}).json()
    assert reply["content"] == [{"type": "text", "text": "echo: ping me"}]
    assert reply["stop_reason"] == "end_turn"


def test_errors_use_each_wire_shape() -> None:
    with FakeModelServer() as server:
        server.script([{"fault": "429", "retry_after": 2}, {"fault": "404"}])
        limited = httpx.post(f"{server.openai_base_url}/chat/completions", json={"model": "m", "messages": []})
        missing = httpx.post(f"{server.anthropic_base_url}/v1/messages", json={"model": "nope", "messages": []})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert missing.status_code == 404
    assert missing.json() == {"type": "error", "error": {"type": "not_found_error",
                                                         "message": "The model `nope` does not exist."}}


def test_unknown_faults_are_refused_when_scripted() -> None:
    server = FakeModelServer()
    with pytest.raises(ValueError, match="unknown fault 'teapot'"):
        server.script({"fault": "teapot"})


async def test_fixture_env_points_providers_at_the_server(fake_server_env: FakeModelServer) -> None:
    from loop_tui.config import Settings
    from loop_tui.llm import make_provider, resolve_model

    fake_server_env.script([{"text": "from openai"}, {"text": "from anthropic"}])
    texts = []
    for name in ("gpt-4o-mini", "claude-3-5-haiku"):
        provider = make_provider(resolve_model(name, Settings()), Settings())
        resolved = resolve_model(name, Settings())
        events = await collect(provider.stream([{"role": "user", "content": "hi"}], None, resolved.model_id))
        await provider.aclose()
        texts.append("".join(getattr(e, "text", "") for e in events))
    assert texts == ["from openai", "from anthropic"]
    assert [r.wire for r in fake_server_env.requests] == ["openai", "anthropic"]
    assert fake_server_env.requests[1].model == "claude-3-5-haiku-20241022"


@pytest.mark.slow
def test_cli_serves_a_script_file_and_admin_routes(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": [{"text": "scripted"}], "latency_ms": 1}))
    proc = subprocess.Popen([sys.executable, "-m", "tests.fake_model_server", "--port", "0", "--script", str(script)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
        url = banner.split(" on ", 1)[1].split(" ", 1)[0]
        body = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
        first = httpx.post(f"{url}/v1/chat/completions", json=body).json()
        assert first["choices"][0]["message"]["content"] == "scripted"
        assert httpx.post(f"{url}/_fake/script", json=[{"text": "added later"}]).json() == {"queued": 1}
        second = httpx.post(f"{url}/v1/chat/completions", json=body).json()
        assert second["choices"][0]["message"]["content"] == "added later"
        recorded = httpx.get(f"{url}/_fake/requests").json()
        assert [r["body"]["model"] for r in recorded] == ["m", "m"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
