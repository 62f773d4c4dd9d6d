"""The OTLP/HTTP trace receiver: a small ASGI app served by uvicorn, feeding a `SpanWriter`.

A raw ASGI callable rather than a framework: the receiver has one route, and it must stream the body
itself to enforce the size limit before buffering it. uvicorn (maintained, on h11, which the project
already has through httpx) serves it and handles SIGINT/SIGTERM: it stops accepting, finishes the
requests in flight, and `serve_forever` then flushes everything that was accepted.

Answers follow the OTLP/HTTP specification: 200 with an empty `ExportTraceServiceResponse`; 400 for a
malformed body, 413 for one too large, 415 for a content type or encoding we do not read (each with a
`google.rpc.Status` naming the problem); 429 with `Retry-After` when the writer is behind and 503 while
shutting down, which OpenTelemetry exporters retry.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from loop_tui.errors import UserError
from loop_tui.interop.otlp_decode import (
    JSON,
    MAX_BODY_BYTES,
    PROTOBUF,
    OtlpError,
    decode_request,
    media_type,
    proto_types,
    request_rows,
    status_body,
)
from loop_tui.interop.otlp_writer import SpanWriter, rows_bytes

TRACES_PATH = "/v1/traces"
RETRY_AFTER_SECONDS = (1, 3)
# Refused exporters are told to come back after a whole number of seconds drawn from this range: the OTel
# SDKs wait exactly Retry-After (no jitter of their own), so one value for all of them sent the whole herd
# back at the same instant to be refused together again, and on a loaded machine some gave up after their
# six tries. Spread over a few seconds they come back in turns.
# A request that finds the buffer full waits this long, in arrival order, for the writer to make room
# before it is told to retry: answering 429 at once let exporters that had just been served overtake
# the ones retrying, and under load some exporters gave up after their six retries.
ADMIT_WAIT_SECONDS = 3.0
MAX_WAITING_REQUESTS = 64  # past this, 429 at once (each waiting request holds its decoded spans)


class OtlpApp:
    """The ASGI application: `POST /v1/traces` into the writer."""

    def __init__(self, writer: SpanWriter, project: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
                 admit_wait: float = ADMIT_WAIT_SECONDS) -> None:
        self.writer = writer
        self.admit_wait = admit_wait
        self.project = project
        self.max_body_bytes = max_body_bytes
        self._waiting: deque[tuple[list[tuple[str, dict[str, Any]]], int, asyncio.Future[bool]]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        kind = JSON if "json" in headers.get("content-type", "") else PROTOBUF
        try:
            if scope["path"].rstrip("/") != TRACES_PATH:
                raise OtlpError(404, f"no route {scope['path']!r}; OTLP traces go to POST {TRACES_PATH}")
            if scope["method"] != "POST":
                raise OtlpError(405, f"use POST for {TRACES_PATH}")
            kind = media_type(headers.get("content-type"))
            declared = headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
                raise OtlpError(413, self._too_large())
            body = await self._read_body(receive)
            try:
                rows, size = await asyncio.to_thread(self._decode, body, kind, headers.get("content-encoding"))
            except OtlpError:
                raise
            except UserError as err:
                raise OtlpError(400, str(err)) from None
            except Exception as exc:  # a bug of ours: say so in one line, never a traceback on the terminal
                self.writer.log(f"loop-tui receiver: a request could not be mapped ({type(exc).__name__}: {exc})")
                raise OtlpError(500, f"the receiver failed on this request ({type(exc).__name__}: {exc}); "
                                     "nothing of it was written") from None
            if not rows:
                await _respond(send, 200, kind, _success_body(kind))
                return
            if not await self._admit(rows, size):
                status = 503 if self.writer.closing else 429
                raise OtlpError(status, "the receiver is busy writing; retry later"
                                if status == 429 else "the receiver is shutting down")
        except OtlpError as err:
            retry_after = random.randint(*RETRY_AFTER_SECONDS)
            extra = [(b"retry-after", str(retry_after).encode())] if err.status in (429, 503) else []
            await _respond(send, err.status, kind, status_body(kind, _rpc_code(err.status), err.message), extra)
            return
        await _respond(send, 200, kind, _success_body(kind))

    async def _admit(self, rows: list[tuple[str, dict[str, Any]]], size: int) -> bool:
        """Hand `rows` to the writer, waiting (first come, first served) up to ADMIT_WAIT_SECONDS for room."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self.writer.on_room = lambda: self._loop.call_soon_threadsafe(self._admit_waiting)  # type: ignore[union-attr]
        if not self._waiting and self.writer.offer(rows, size):
            return True
        if len(self._waiting) >= MAX_WAITING_REQUESTS or self.writer.closing:
            self.writer.offer_refused()
            return False
        self.writer.stats.waited_requests += 1  # only the event loop thread touches this counter
        admitted: asyncio.Future[bool] = self._loop.create_future()
        self._waiting.append((rows, size, admitted))
        try:
            return await asyncio.wait_for(admitted, self.admit_wait)
        except TimeoutError:  # wait_for cancelled the future, so _admit_waiting skips it
            self.writer.offer_refused()
            return False

    def _admit_waiting(self) -> None:
        """On the event loop, after each write: admit waiting requests in order while they fit."""
        while self._waiting:
            rows, size, admitted = self._waiting[0]
            if admitted.done():
                self._waiting.popleft()
                continue
            if not self.writer.offer(rows, size):
                return
            self._waiting.popleft()
            admitted.set_result(True)

    async def _read_body(self, receive: Callable[..., Any]) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise OtlpError(400, "the client went away before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise OtlpError(413, self._too_large())
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    def _decode(self, body: bytes, kind: str, encoding: str | None) -> tuple[list[tuple[str, dict[str, Any]]], int]:
        """(rows, their size in memory), on a worker thread: both cost a step per span."""
        rows = request_rows(decode_request(body, kind, encoding), self.project)
        return rows, rows_bytes(rows)

    def _too_large(self) -> str:
        return f"the body is larger than {self.max_body_bytes // (1024 * 1024)} MB; send smaller batches"


def _success_body(kind: str) -> bytes:
    """An empty `ExportTraceServiceResponse` (no partial success) in the request's encoding."""
    return b"{}" if kind == JSON else _EMPTY_PROTOBUF_RESPONSE


_EMPTY_PROTOBUF_RESPONSE = b""  # what ExportTraceServiceResponse().SerializeToString() is: no fields set


def warm_up(ws: Any) -> None:
    """Do at start what the first request would otherwise pay for while exporters wait: import the
    protobuf definitions, the store's writer (DuckDB, Parquet) and the price table, and map one span."""
    import pyarrow.parquet  # noqa: F401 (the writer's first segment)

    request_type = proto_types()[0]
    request = request_type()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = b"\1" * 16, b"\2" * 8, "warm-up"
    attribute = span.attributes.add()
    attribute.key, attribute.value.string_value = "gen_ai.request.model", "gpt-4o-mini"
    usage = span.attributes.add()
    usage.key, usage.value.int_value = "gen_ai.usage.input_tokens", 1
    request_rows(request, None)
    ws.projects()  # opens the workspace's DuckDB connection


def _rpc_code(status: int) -> int:
    """google.rpc.Code for an HTTP status (INVALID_ARGUMENT, UNAVAILABLE, RESOURCE_EXHAUSTED, ...)."""
    return {400: 3, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}.get(status, 2)


async def _respond(send: Callable[..., Any], status: int, kind: str, body: bytes,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", kind.encode()), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _CallbackHandler(logging.Handler):
    """Hands each log record's text to a callable."""

    def __init__(self, log: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        self.log(f"loop-tui receiver: {record.getMessage()}")


def _route_server_logs(log: Callable[[str], None]) -> None:
    """Send uvicorn's loggers to `log` only (not to stderr, not to the root logger)."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [_CallbackHandler(log)] if name == "uvicorn" else []
        logger.propagate = name != "uvicorn"  # the children reach the handler through "uvicorn"


def parse_address(text: str | None, default_port: int = 4318) -> tuple[str, int]:
    """`[HOST:]PORT` (or `HOST:` / empty) as (host, port); default 127.0.0.1:4318."""
    text = (text or "").strip()
    host, _, port_text = text.rpartition(":") if ":" in text else ("", "", text)
    host = host.strip("[]") or "127.0.0.1"
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UserError(f"--otlp takes [HOST:]PORT, e.g. 4318 or 0.0.0.0:4318; got {text!r}")
    return host, int(port_text)


class OtlpReceiver:
    """A running receiver: a bound socket, uvicorn, the app and the writer."""

    def __init__(self, writer: SpanWriter, host: str = "127.0.0.1", port: int = 4318, project: str | None = None,
                 max_body_bytes: int = MAX_BODY_BYTES, admit_wait: float = ADMIT_WAIT_SECONDS,
                 log: Callable[[str], None] | None = None) -> None:
        """`log` takes the HTTP server's own messages (a stray non-HTTP connection, ...) instead of stderr:
        inside the app, stderr is the screen."""
        self.writer = writer
        self._log = log
        self.app = OtlpApp(writer, project, max_body_bytes, admit_wait)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
        except OSError as exc:
            self.socket.close()
            raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another port with --otlp") from None
        self.socket.listen(1024)
        self.host, self.port = self.socket.getsockname()[:2]
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The base URL an exporter's OTEL_EXPORTER_OTLP_ENDPOINT should name."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _make_server(self) -> Any:
        import uvicorn

        config = uvicorn.Config(self.app, lifespan="off", access_log=False, log_level="warning",
                                timeout_graceful_shutdown=10, server_header=False, date_header=False,
                                log_config=None if self._log else uvicorn.config.LOGGING_CONFIG)
        if self._log is not None:
            _route_server_logs(self._log)
        self._server = uvicorn.Server(config)
        return self._server

    def serve_forever(self) -> None:
        """Serve on this (main) thread until SIGINT/SIGTERM, then flush what was accepted."""
        import signal

        # uvicorn restores the handlers it found and re-raises the signal once it has stopped; with the
        # default handlers that would end the process before the writer flushes. Ours just note it.
        stopped: list[int] = []
        previous = {sig: signal.signal(sig, lambda number, _frame: stopped.append(number))
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        self.writer.start()
        try:
            self._make_server().run(sockets=[self.socket])
        finally:
            self.writer.close()
            self.socket.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def warm_up(self) -> None:
        """Load what the first request needs (see `warm_up`); the socket already queues connections."""
        warm_up(self.writer.ws)

    def start_in_thread(self) -> OtlpReceiver:
        """Serve on a background thread (the app, tests); `stop` ends it."""
        self.writer.start()
        server = self._make_server()

        def run() -> None:
            self.warm_up()
            server.run(sockets=[self.socket])

        self._thread = threading.Thread(target=run, name="otlp-http", daemon=True)
        self._thread.start()
        return self

    @property
    def started(self) -> bool:
        """True once uvicorn is accepting requests."""
        return bool(self._server and self._server.started)

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop serving (in-flight requests finish), then flush; False if the flush did not finish."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        flushed = self.writer.close(timeout)
        self.socket.close()
        return flushed
