"""A faithful fake of the OpenAI Chat Completions and Anthropic Messages streaming APIs, on 127.0.0.1.

One server speaks both wire formats: `POST {openai_base_url}/chat/completions` (= `/v1/chat/completions`)
and `POST {anthropic_base_url}/v1/messages`. Replies come from a FIFO queue of scripted items shared by
both endpoints (each item is rendered in the wire format of the request that takes it); when the queue is
empty the reply echoes the last user message (`"echo: <text>"`), so it can drive an interactive session.

In tests (in-process, background thread; works from sync and async tests):

    from tests.fake_model_server import FakeModelServer
    with FakeModelServer(latency_s=0.0) as server:          # or the `fake_server` pytest fixture
        server.script([
            {"text": "hi there"},
            {"tool_calls": [{"name": "btql_query", "arguments": {"query": "from: project_logs"}}]},
            {"fault": "429", "retry_after": 0.01},
        ])
        provider = server.provider("openai")                 # or "anthropic"; tiny backoff, fake key
        ...
        server.requests[-1].body["messages"]                 # what the client sent (headers too)

As a process (for tmux / subprocess tests): `python -m tests.fake_model_server --port N --script FILE.json
[--latency-ms 100]`. FILE holds a JSON list of items (or `{"replies": [...], "latency_ms": 100}`). While it
runs, `POST /_fake/script` (a list or one item) queues more, `GET /_fake/requests` lists what it received,
`POST /_fake/reset` clears both. Point the app at it with OPENAI_BASE_URL=http://127.0.0.1:N/v1 and
ANTHROPIC_BASE_URL=http://127.0.0.1:N (any non-empty key). `stream: false` requests get a plain JSON reply.

Script items (dicts; every key optional):
    text            str: the reply text, streamed in pieces of `chunk_size` characters (default 4)
    tool_calls      [{name, arguments: dict | raw JSON string, id?}]: parallel calls, after any text; the
                    argument JSON is streamed in pieces of `arg_chunk_size` characters (default 5)
    usage           {prompt_tokens, completion_tokens, cached_tokens, cache_creation_tokens}: normalised
                    counts (prompt includes cached ones); Anthropic gets input_tokens = prompt - cached - created
    finish_reason   stop | length | tool_calls | content_filter (default: tool_calls if tools else stop);
                    mapped to end_turn / max_tokens / tool_use / refusal for Anthropic
    model           the model name in the reply (default: the requested one)
    delay           seconds before the response starts;  chunk_delay: seconds before every event (slow drip)
    raw_chunk_bytes write the body in pieces of N bytes (splits inside UTF-8 characters and JSON escapes)
    crlf            true: CRLF line endings;  keepalive: true: `: keep-alive` comments / `ping` events
    fault           one of:
        "429" (retry_after seconds, retry_after_ms), "500", "529", "401", "403", "400" (message),
        "404" (unknown model, names it), "context_length"      -> that HTTP error in the wire's error shape
        "disconnect"    stream `after` SSE events (default 3; they count the opening role chunk, or
                        message_start + ping, so `after: 1` drops before any text), then drop the connection
        "malformed"     stream `after` events, then a chunk that is not JSON
        "stream_error"  stream `after` events, then an in-stream error (`event: error` for Anthropic,
                        `data: {"error": ...}` for OpenAI); error_type (default overloaded_error)
        "no_done"       the whole reply but close without `[DONE]` / `message_stop` and without a finish
        "stall"         wait `seconds` (default 5) before answering at all (for timeout tests)
    echo_key        true: an error message includes the request's API key verbatim (key-leak tests)
A fixed latency for every request is `FakeModelServer(latency_s=0.1)` (the eval benchmark uses 100 ms),
counted from the arrival of the request line to the first byte of the reply.

Inspecting: `server.requests` (RecordedRequest: path, headers, body, wire, reply, completed, disconnected,
`.model`, `.api_key`), `server.pending`, `server.wait_for(lambda: ..., timeout)` for effects that happen in
the server thread (e.g. noticing a client disconnect), `await collect(provider.stream(...))` for all events.
Pytest fixtures here: `fake_server` (started, stopped after the test) and `fake_server_env` (the same, with
OPENAI_*/ANTHROPIC_* env vars pointing at it); import them into a conftest to use them.
Connections are kept alive (HTTP/1.1, chunked replies with a terminating chunk); sockets use TCP_NODELAY
and a reply without `chunk_delay`/`raw_chunk_bytes` leaves in one send, so the server's own cost stays far
below a real API's (about 0.2 ms of CPU per request).
"""

from tests.fake_model_server.server import (
    FAKE_KEY,
    FakeModelServer,
    RecordedRequest,
    collect,
    fake_server,
    fake_server_env,
)
from tests.fake_model_server.wire import FAULTS, anthropic_frames, last_user_text, openai_frames

__all__ = [
    "FAKE_KEY",
    "FAULTS",
    "FakeModelServer",
    "RecordedRequest",
    "anthropic_frames",
    "collect",
    "fake_server",
    "fake_server_env",
    "last_user_text",
    "openai_frames",
]
