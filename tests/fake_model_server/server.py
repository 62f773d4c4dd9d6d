"""The HTTP server (stdlib ThreadingHTTPServer, chunked SSE), the `FakeModelServer` API and pytest fixtures."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.fake_model_server.wire import (
    DROP,
    FAULTS,
    HTTP_FAULTS,
    anthropic_frames,
    apply_fault,
    coalesce,
    error_reply,
    last_user_text,
    non_streaming,
    openai_frames,
)

FAKE_KEY = "sk-fake-model-server-key"


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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked transfer, like the real APIs
    # Buffer writes so a reply (status, headers, body, terminating chunk) leaves in one send, as a real
    # server's would, instead of one syscall and one client wake-up per piece. Slow drips, raw pieces and
    # mid-stream drops flush per frame (see `_reply`); `handle_one_request` flushes after every request.
    wbufsize = 1 << 16
    server: _Server
    arrived = 0.0

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def parse_request(self) -> bool:
        # The request line has just been read: the latency clock starts here, so the configured latency
        # is the time to the first byte of the reply, including this server's own parsing.
        self.arrived = time.monotonic()
        return super().parse_request()

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
        wait = fake.latency_s + float(item.get("delay", 0)) - (time.monotonic() - self.arrived)
        if stop.wait(max(wait, 0.0)):
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
            self.wfile.flush()
            record.completed = True
            return
        if not body.get("stream"):
            self._json(200, non_streaming(wire, item, body))
            self.wfile.flush()
            record.completed = True
            return
        frames = openai_frames(item, body) if wire == "openai" else anthropic_frames(item, body)
        if item.get("keepalive"):
            ping = ": keep-alive\n\n" if wire == "openai" else 'event: ping\ndata: {"type": "ping"}\n\n'
            frames = [ping + frame for frame in frames]
        if item.get("crlf"):
            frames = [frame.replace("\n", "\r\n") for frame in frames]
        frames = apply_fault(fault, item, wire, frames, record.api_key)
        chunk_delay = float(item.get("chunk_delay", 0))
        piece_size = int(item.get("raw_chunk_bytes", 0))
        per_frame = bool(chunk_delay or piece_size)  # faults that need each frame on the wire by itself
        if not per_frame:
            frames = coalesce(frames)  # one chunk per reply: the same SSE events, far fewer syscalls
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for frame in frames:
            if frame is DROP:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)  # abrupt: no terminating chunk
                self.close_connection = True
                return
            if chunk_delay:
                self.wfile.flush()
                if stop.wait(chunk_delay):
                    return
            self._write_body(frame.encode(), piece_size)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        record.completed = True

    def _write_body(self, data: bytes, piece_size: int) -> None:
        pieces = [data[i : i + piece_size] for i in range(0, len(data), piece_size)] if piece_size > 0 else [data]
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if piece_size > 0:
                self.wfile.flush()  # each piece its own TCP write: splits land inside characters and escapes


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

    @property
    def open_connections(self) -> int:
        """How many client connections are open now (a client that closed its socket is no longer counted)."""
        return len(self._connections)

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
