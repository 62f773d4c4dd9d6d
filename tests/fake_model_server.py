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
        "disconnect"    stream `after` events (default 3) of the reply, then drop the connection
        "malformed"     stream `after` events, then a chunk that is not JSON
        "stream_error"  stream `after` events, then an in-stream error (`event: error` for Anthropic,
                        `data: {"error": ...}` for OpenAI); error_type (default overloaded_error)
        "no_done"       the whole reply but close without `[DONE]` / `message_stop` and without a finish
        "stall"         wait `seconds` (default 5) before answering at all (for timeout tests)
    echo_key        true: an error message includes the request's API key verbatim (key-leak tests)
A fixed latency for every request is `FakeModelServer(latency_s=0.1)` (the eval benchmark uses 100 ms).
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

FAKE_KEY = "sk-fake-model-server-key"
HTTP_FAULTS = ("401", "403", "404", "429", "500", "529", "400", "context_length")
FAULTS = (*HTTP_FAULTS, "disconnect", "malformed", "stream_error", "no_done", "stall")
_STOP_TO_ANTHROPIC = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


@dataclass
class RecordedRequest:
    """One request the server received, with what it did about it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    wire: str  # openai | anthropic | admin | unknown
    reply: dict[str, Any] | None = None
    completed: bool = False
    disconnected: bool = False  # the client went away before the reply was fully written

    @property
    def model(self) -> str | None:
        """The requested model."""
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def api_key(self) -> str | None:
        """The key the client sent (Authorization bearer or x-api-key)."""
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth else self.headers.get("x-api-key")


def last_user_text(body: Any) -> str:
    """The text of the last user message in either wire format ('' if none)."""
    for msg in reversed(body.get("messages") or [] if isinstance(body, dict) else []):
        if msg.get("role") != "user":
            continue
        content = msg.get("content")
        if isinstance(content, str):
            return content
        texts = [
            part.get("text") or (part.get("content") if isinstance(part.get("content"), str) else "")
            for part in content or []
            if isinstance(part, dict)
        ]
        return " ".join(t for t in texts if t)
    return ""


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, int(size))
    return [text[i : i + size] for i in range(0, len(text), size)] or []


def _arguments_text(call: dict[str, Any]) -> str:
    args = call.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)


def _usage(item: dict[str, Any], body: Any, completion_pieces: int) -> dict[str, int]:
    given = item.get("usage") or {}
    prompt = given.get("prompt_tokens", max(1, len(json.dumps(body.get("messages", ""))) // 4))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": given.get("completion_tokens", max(1, completion_pieces)),
        "cached_tokens": given.get("cached_tokens", 0),
        "cache_creation_tokens": given.get("cache_creation_tokens", 0),
    }


def _finish(item: dict[str, Any]) -> str:
    return item.get("finish_reason") or ("tool_calls" if item.get("tool_calls") else "stop")


# --- wire rendering: a reply item -> the list of SSE frames ------------------------------------------


def openai_frames(item: dict[str, Any], body: Any) -> list[str]:
    """The SSE frames of one chat.completion.chunk stream (ending with `data: [DONE]`)."""
    model = item.get("model") or body.get("model", "fake")
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return "data: " + json.dumps({**base, "choices": [choice], **extra}) + "\n\n"

    frames = [chunk({"role": "assistant", "content": ""})]
    text_pieces = _pieces(item.get("text", ""), item.get("chunk_size", 4))
    frames += [chunk({"content": piece}) for piece in text_pieces]
    for index, call in enumerate(item.get("tool_calls") or []):
        first = {"index": index, "id": call.get("id", f"call_fake_{index}"), "type": "function",
                 "function": {"name": call["name"], "arguments": ""}}
        frames.append(chunk({"tool_calls": [first]}))
        for piece in _pieces(_arguments_text(call), item.get("arg_chunk_size", 5)):
            frames.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    frames.append(chunk({}, _finish(item)))
    u = _usage(item, body, len(frames))
    usage = {"prompt_tokens": u["prompt_tokens"], "completion_tokens": u["completion_tokens"],
             "total_tokens": u["prompt_tokens"] + u["completion_tokens"],
             "prompt_tokens_details": {"cached_tokens": u["cached_tokens"]},
             "completion_tokens_details": {"reasoning_tokens": 0}}
    frames.append("data: " + json.dumps({**base, "choices": [], "usage": usage}) + "\n\n")
    frames.append("data: [DONE]\n\n")
    return frames


def anthropic_frames(item: dict[str, Any], body: Any) -> list[str]:
    """The SSE frames of one Messages stream (message_start … message_stop)."""

    def event(payload: dict[str, Any]) -> str:
        return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n"

    text_pieces = _pieces(item.get("text", ""), item.get("chunk_size", 4))
    calls = item.get("tool_calls") or []
    u = _usage(item, body, len(text_pieces) + len(calls))
    input_tokens = max(u["prompt_tokens"] - u["cached_tokens"] - u["cache_creation_tokens"], 0)
    message = {"id": "msg_fake", "type": "message", "role": "assistant", "content": [],
               "model": item.get("model") or body.get("model", "fake"), "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": input_tokens, "cache_creation_input_tokens": u["cache_creation_tokens"],
                         "cache_read_input_tokens": u["cached_tokens"], "output_tokens": 1}}
    frames = [event({"type": "message_start", "message": message}), event({"type": "ping"})]
    index = 0
    if text_pieces:
        frames.append(event({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
        frames += [event({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})
                   for p in text_pieces]
        frames.append(event({"type": "content_block_stop", "index": 0}))
        index = 1
    for n, call in enumerate(calls):
        block = {"type": "tool_use", "id": call.get("id", f"toolu_fake_{n}"), "name": call["name"], "input": {}}
        frames.append(event({"type": "content_block_start", "index": index, "content_block": block}))
        for piece in ["", *_pieces(_arguments_text(call), item.get("arg_chunk_size", 5))]:
            delta = {"type": "input_json_delta", "partial_json": piece}
            frames.append(event({"type": "content_block_delta", "index": index, "delta": delta}))
        frames.append(event({"type": "content_block_stop", "index": index}))
        index += 1
    stop = _STOP_TO_ANTHROPIC.get(_finish(item), _finish(item))
    frames.append(event({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                         "usage": {"output_tokens": u["completion_tokens"]}}))
    frames.append(event({"type": "message_stop"}))
    return frames


def _non_streaming(wire: str, item: dict[str, Any], body: Any) -> dict[str, Any]:
    calls = item.get("tool_calls") or []
    u = _usage(item, body, len(item.get("text", "")) // 4 + len(calls))
    model = item.get("model") or body.get("model", "fake")
    if wire == "openai":
        message: dict[str, Any] = {"role": "assistant", "content": item.get("text") or None}
        if calls:
            message["tool_calls"] = [{"id": c.get("id", f"call_fake_{i}"), "type": "function",
                                      "function": {"name": c["name"], "arguments": _arguments_text(c)}}
                                     for i, c in enumerate(calls)]
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": _finish(item)}],
                "usage": {"prompt_tokens": u["prompt_tokens"], "completion_tokens": u["completion_tokens"],
                          "total_tokens": u["prompt_tokens"] + u["completion_tokens"],
                          "prompt_tokens_details": {"cached_tokens": u["cached_tokens"]}}}
    content: list[dict[str, Any]] = [{"type": "text", "text": item["text"]}] if item.get("text") else []
    content += [{"type": "tool_use", "id": c.get("id", f"toolu_fake_{i}"), "name": c["name"],
                 "input": c.get("arguments") if isinstance(c.get("arguments"), dict) else {}}
                for i, c in enumerate(calls)]
    return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
            "stop_reason": _STOP_TO_ANTHROPIC.get(_finish(item)), "stop_sequence": None,
            "usage": {"input_tokens": u["prompt_tokens"] - u["cached_tokens"] - u["cache_creation_tokens"],
                      "output_tokens": u["completion_tokens"], "cache_read_input_tokens": u["cached_tokens"],
                      "cache_creation_input_tokens": u["cache_creation_tokens"]}}


def error_reply(wire: str, item: dict[str, Any], model: str | None, key: str | None) -> tuple[int, dict[str, Any]]:
    """(status, JSON body) of an HTTP error fault, in the wire's error shape."""
    fault = str(item["fault"])
    table = {
        "401": (401, "authentication_error", "invalid_api_key", "Incorrect API key provided."),
        "403": (403, "permission_error", "permission_denied", "This key may not use this model."),
        "404": (404, "not_found_error", "model_not_found", f"The model `{model}` does not exist."),
        "429": (429, "rate_limit_error", "rate_limit_exceeded", "Rate limit reached, slow down."),
        "500": (500, "api_error", "server_error", "The server had an error processing your request."),
        "529": (529, "overloaded_error", "overloaded", "Overloaded"),
        "400": (400, "invalid_request_error", "invalid_request", "Invalid request."),
        "context_length": (400, "invalid_request_error", "context_length_exceeded",
                           "prompt is too long: 210000 tokens > 200000 maximum" if wire == "anthropic" else
                           "This model's maximum context length is 128000 tokens. However, your messages "
                           "resulted in 210000 tokens."),
    }
    status, a_type, o_code, message = table[fault]
    message = item.get("message", message)
    if item.get("echo_key") and key:
        message += f" Key used: {key}"
    if wire == "anthropic":
        return status, {"type": "error", "error": {"type": a_type, "message": message}}
    return status, {"error": {"message": message, "type": a_type, "param": None, "code": o_code}}


# --- the HTTP server ------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked transfer, like the real APIs
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        fake = self.server.fake
        if self.path.rstrip("/") == "/_fake/requests":
            self._json(200, [asdict(r) for r in fake.requests])
        elif self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = raw.decode("utf-8", "replace")
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/_fake/"):
            self._admin(path, body)
            return
        wire = "openai" if path.endswith("/chat/completions") else "anthropic" if path.endswith("/messages") else ""
        record = RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                 wire or "unknown")
        fake._record(record)
        if not wire or not isinstance(body, dict):
            self._json(404 if not wire else 400, {"error": {"message": f"fake server cannot handle {self.path}"}})
            return
        item = fake._next_reply(body)
        record.reply = item
        try:
            self._reply(wire, item, body, record)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            record.disconnected = True
            self.close_connection = True

    def _admin(self, path: str, body: Any) -> None:
        fake = self.server.fake
        if path == "/_fake/script":
            fake.script(body)
            self._json(200, {"queued": fake.pending})
        elif path == "/_fake/reset":
            fake.reset()
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": {"message": f"no admin route {path}"}})

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _reply(self, wire: str, item: dict[str, Any], body: dict[str, Any], record: RecordedRequest) -> None:
        fake = self.server.fake
        stop = fake._stopping
        if stop.wait(fake.latency_s + float(item.get("delay", 0))):
            return
        fault = str(item.get("fault", "")) or None
        if fault == "stall":
            stop.wait(float(item.get("seconds", 5)))
            fault = None
        if fault in HTTP_FAULTS:
            status, payload = error_reply(wire, item, body.get("model"), record.api_key)
            headers = {}
            if "retry_after" in item:
                headers["retry-after"] = str(item["retry_after"])
            if "retry_after_ms" in item:
                headers["retry-after-ms"] = str(item["retry_after_ms"])
            self._json(status, payload, headers)
            record.completed = True
            return
        if not body.get("stream"):
            self._json(200, _non_streaming(wire, item, body))
            record.completed = True
            return
        frames = openai_frames(item, body) if wire == "openai" else anthropic_frames(item, body)
        if item.get("keepalive"):
            ping = ": keep-alive\n\n" if wire == "openai" else 'event: ping\ndata: {"type": "ping"}\n\n'
            frames = [ping + frame for frame in frames]
        if item.get("crlf"):
            frames = [frame.replace("\n", "\r\n") for frame in frames]
        frames = self._apply_fault(fault, item, wire, frames, record.api_key)
        chunk_delay = float(item.get("chunk_delay", 0))
        if not chunk_delay and not item.get("raw_chunk_bytes"):
            frames = _coalesce(frames)  # one write per reply: the same SSE events, far fewer syscalls
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for frame in frames:
            if frame is _DROP:
                self.connection.shutdown(socket.SHUT_RDWR)  # abrupt: no terminating chunk
                self.close_connection = True
                return
            if chunk_delay and stop.wait(chunk_delay):
                return
            self._write_body(frame.encode(), int(item.get("raw_chunk_bytes", 0)))
        self.wfile.write(b"0\r\n\r\n")
        record.completed = True

    def _apply_fault(
        self, fault: str | None, item: dict[str, Any], wire: str, frames: list[str], key: str | None
    ) -> list[Any]:
        after = int(item.get("after", 3))
        if fault == "disconnect":
            return [*frames[:after], _DROP]
        if fault == "malformed":
            return [*frames[:after], 'data: {"choices": [{"delta": {"content": "oops"\n\n', _DROP]
        if fault == "stream_error":
            message = item.get("message", "Overloaded") + (f" Key used: {key}" if item.get("echo_key") else "")
            error = {"type": item.get("error_type", "overloaded_error"), "message": message}
            if wire == "anthropic":
                tail = f"event: error\ndata: {json.dumps({'type': 'error', 'error': error})}\n\n"
            else:
                tail = "data: " + json.dumps({"error": error}) + "\n\n"
            return [*frames[:after], tail, _DROP]
        if fault == "no_done":
            # Drop every finish marker, then close cleanly (terminating chunk) as a buggy server would.
            if wire == "openai":
                return [f for f in frames if '"finish_reason": "' not in f and "[DONE]" not in f]
            return [f for f in frames if "message_stop" not in f and "message_delta" not in f]
        return frames

    def _write_body(self, data: bytes, piece_size: int) -> None:
        pieces = [data[i : i + piece_size] for i in range(0, len(data), piece_size)] if piece_size > 0 else [data]
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))


_DROP = object()


def _coalesce(frames: list[Any]) -> list[Any]:
    """Join consecutive text frames (keeping the drop marker in place)."""
    out: list[Any] = []
    run: list[str] = []
    for frame in frames:
        if frame is _DROP:
            out += ["".join(run), _DROP] if run else [_DROP]
            run = []
        else:
            run.append(frame)
    if run:
        out.append("".join(run))
    return out


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the listen backlog: eval runs open many connections at once
    fake: FakeModelServer

    def process_request(self, request: Any, client_address: Any) -> None:
        # Without NODELAY, Nagle holds each small SSE write until the client's delayed ACK (~40 ms).
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fake._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.fake._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return  # clients dropping keep-alive connections (or us, at stop) is normal, not an error
        super().handle_error(request, client_address)


class FakeModelServer:
    """The fake model API (see module docstring). Start with `with` or `.start()`; stop with `.stop()`."""

    def __init__(self, *, port: int = 0, latency_s: float = 0.0, replies: list[dict[str, Any]] | None = None) -> None:
        self.latency_s = latency_s
        self._port = port
        self._queue: deque[dict[str, Any]] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[Any] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        if replies:
            self.script(replies)

    # lifecycle
    def start(self) -> FakeModelServer:
        """Bind 127.0.0.1 (random free port unless given) and serve in a daemon thread."""
        self._httpd = _Server(("127.0.0.1", self._port), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fake-model-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and drop open connections (stalled and slow replies end at once)."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses
    @property
    def port(self) -> int:
        """The bound port."""
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_base_url(self) -> str:
        """Base URL for OpenAI-compatible clients (…/v1)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """Base URL for Anthropic clients (they append /v1/messages)."""
        return self.url

    # scripting and inspection
    def script(self, replies: list[dict[str, Any]] | dict[str, Any]) -> None:
        """Queue reply items (see module docstring); they are used in order, one per request."""
        items = [replies] if isinstance(replies, dict) else list(replies)
        for item in items:
            if not isinstance(item, dict):
                raise ValueError(f"a script item must be an object, not {item!r}")
            if "fault" in item and str(item["fault"]) not in FAULTS:
                raise ValueError(f"unknown fault {item['fault']!r}; use one of {', '.join(FAULTS)}")
        with self._lock:
            self._queue.extend(items)

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()

    @property
    def pending(self) -> int:
        """How many scripted replies are still queued."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Model requests received so far (oldest first)."""
        with self._lock:
            return [r for r in self._requests if r.wire in ("openai", "anthropic")]

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        """Poll `predicate()` until true or `timeout` seconds pass (for effects in the server thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return bool(predicate())

    def env(self, key: str = FAKE_KEY) -> dict[str, str]:
        """Environment variables pointing both providers at this server."""
        return {"OPENAI_BASE_URL": self.openai_base_url, "OPENAI_API_KEY": key,
                "ANTHROPIC_BASE_URL": self.anthropic_base_url, "ANTHROPIC_API_KEY": key}

    def provider(self, kind: str = "openai", **overrides: Any) -> Any:
        """A loop_tui provider aimed here with a fake key and millisecond backoff (overrides win)."""
        from loop_tui.llm.anthropic import AnthropicProvider
        from loop_tui.llm.openai_compat import OpenAICompatProvider

        cls = AnthropicProvider if kind == "anthropic" else OpenAICompatProvider
        key_env = "ANTHROPIC_API_KEY" if kind == "anthropic" else "OPENAI_API_KEY"
        options: dict[str, Any] = {
            "base_url": self.anthropic_base_url if kind == "anthropic" else self.openai_base_url,
            "api_key_env": key_env, "env": {key_env: FAKE_KEY}, "backoff_base_s": 0.001,
            "backoff_max_s": 0.01, "retry_after_cap_s": 0.5, "timeout_s": 10.0,
        }
        options.update(overrides)
        return cls(**options)

    # used by the handler
    def _record(self, record: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(record)

    def _next_reply(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return {"text": f"echo: {last_user_text(body)}"}


async def collect(stream: Any) -> list[Any]:
    """Every event of a provider stream, in order (convenience for tests)."""
    return [event async for event in stream]


@pytest.fixture
def fake_server() -> Iterator[FakeModelServer]:
    """A started FakeModelServer, stopped after the test."""
    with FakeModelServer() as server:
        yield server


@pytest.fixture
def fake_server_env(fake_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch) -> FakeModelServer:
    """The fake server, with OPENAI_*/ANTHROPIC_* env vars pointing at it (fake keys)."""
    for name, value in fake_server.env().items():
        monkeypatch.setenv(name, value)
    return fake_server


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted: `python -m tests.fake_model_server --port N --script FILE.json`."""
    parser = argparse.ArgumentParser(prog="python -m tests.fake_model_server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--script", help="JSON file: a list of reply items or {replies, latency_ms}")
    parser.add_argument("--latency-ms", type=float, default=None, help="fixed delay before every reply")
    args = parser.parse_args(argv)
    replies: list[dict[str, Any]] = []
    latency_ms = 0.0
    if args.script:
        with open(args.script, encoding="utf-8") as fh:
            loaded = json.load(fh)
        if isinstance(loaded, dict):
            replies, latency_ms = loaded.get("replies", []), float(loaded.get("latency_ms", 0))
        else:
            replies = loaded
    if args.latency_ms is not None:
        latency_ms = args.latency_ms
    server = FakeModelServer(port=args.port, latency_s=latency_ms / 1000, replies=replies).start()
    print(f"fake model server on {server.url} (OpenAI base {server.openai_base_url}, "
          f"Anthropic base {server.anthropic_base_url}); Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
