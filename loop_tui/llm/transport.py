"""An httpx transport with a small connection pool whose cost per request does not grow with its size.

Why not httpx's default transport: httpcore 1.0's pool re-examines every connection for every queued request
whenever any request starts or ends (about 16M `is_idle` calls per 1,000 requests at 50 connections), which
at eval concurrency costs more CPU than the requests themselves. This pool keeps the idle connections of each
origin in a stack, so taking one and giving it back are O(1).

Only public APIs are used: `httpx.AsyncBaseTransport`, `httpcore.AsyncHTTPConnection` and its interface
(`handle_async_request`, `is_available`, `is_idle`, `has_expired`, `is_closed`, `aclose`), httpcore's
`Request`/`URL`/`Response` and its exception classes, mapped to httpx's as httpx's own transport maps them.

The policy: HTTP/1.1, one request per connection at a time, at most `max_connections` connections (a request
beyond waits, up to the request's pool timeout); a finished connection is kept for reuse while it is
healthy, unless `max_keepalive` are already idle; idle connections past their keep-alive expiry or closed by
the server are dropped on a sweep at most every `sweep_s`, and the one about to be reused is always checked
first, so a socket the server closed is never used.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpcore
import httpx

OriginKey = tuple[bytes, bytes, int]

# httpcore's exception -> httpx's (the most specific match wins: ConnectTimeout before TimeoutException).
_EXCEPTIONS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.ProxyError: httpx.ProxyError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
}


def httpx_error(exc: Exception) -> httpx.TransportError | None:
    """The httpx exception for an httpcore one (None for any other exception)."""
    mapped: type[httpx.TransportError] | None = None
    for source, target in _EXCEPTIONS.items():
        if isinstance(exc, source) and (mapped is None or issubclass(target, mapped)):
            mapped = target
    return None if mapped is None else mapped(str(exc))


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        mapped = httpx_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


class LinearPoolTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncBaseTransport` over a pool of `httpcore.AsyncHTTPConnection` (see the module doc).

    One instance belongs to one event loop (as an `httpx.AsyncClient` does).
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 100,
        max_keepalive: int = 100,
        keepalive_expiry_s: float = 30.0,
        sweep_s: float = 1.0,
    ) -> None:
        self.ssl_context = ssl_context
        self.max_connections = max_connections
        self.max_keepalive = max_keepalive
        self.keepalive_expiry_s = keepalive_expiry_s
        self.sweep_s = sweep_s
        self._idle: dict[OriginKey, list[httpcore.AsyncHTTPConnection]] = {}
        self._idle_count = 0
        self._open = 0  # connections that exist: idle, in use, or connecting
        self._waiters: list[asyncio.Future[None]] = []
        self._to_close: list[httpcore.AsyncHTTPConnection] = []
        self._next_sweep = 0.0
        self._closed = False

    # --- what httpx calls ------------------------------------------------------------------------

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` on a pooled connection; the connection returns to the pool when the body is closed."""
        if self._closed:
            raise RuntimeError("the transport was closed")
        url = request.url
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        origin = core_request.url.origin
        key: OriginKey = (origin.scheme, origin.host, origin.port)
        with _httpx_errors():
            while True:
                connection = await self._acquire(key, origin, _pool_timeout(request))
                try:
                    core_response = await connection.handle_async_request(core_request)
                except httpcore.ConnectionNotAvailable:
                    self._release(key, connection)  # it closed under us (rare): another one
                    continue
                except BaseException:
                    self._release(key, connection)
                    raise
                break
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_PooledStream(core_response, lambda: self._give_back(key, connection)),
            extensions=core_response.extensions,
        )

    async def aclose(self) -> None:
        """Close every idle connection; connections in use close when their response is closed."""
        self._closed = True
        idle = [c for stack in self._idle.values() for c in stack]
        self._idle.clear()
        self._idle_count = 0
        self._open -= len(idle)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(httpx.PoolTimeout("the transport was closed"))
        self._waiters.clear()
        await self._close_all(idle + self._to_close)
        self._to_close.clear()

    # --- the pool --------------------------------------------------------------------------------

    @property
    def connection_count(self) -> int:
        """How many connections exist now (idle, in use, or connecting)."""
        return self._open

    @property
    def idle_count(self) -> int:
        """How many connections wait idle for reuse."""
        return self._idle_count

    async def _acquire(
        self, key: OriginKey, origin: httpcore.Origin, pool_timeout: float | None
    ) -> httpcore.AsyncHTTPConnection:
        """A connection for `origin` that no other request holds: an idle one, a new one, or the next released."""
        deadline = None if pool_timeout is None else time.monotonic() + pool_timeout
        while True:
            await self._sweep()
            connection = self._take_idle(key)
            if connection is not None:
                return connection
            if self._open >= self.max_connections:
                await self._close_other_idle()  # the pool is full of idle connections to other origins
            if self._open < self.max_connections:
                self._open += 1
                return httpcore.AsyncHTTPConnection(
                    origin=origin, ssl_context=self.ssl_context, keepalive_expiry=self.keepalive_expiry_s
                )
            await self._wait_for_release(deadline)

    def _take_idle(self, key: OriginKey) -> httpcore.AsyncHTTPConnection | None:
        """The most recently used healthy idle connection to the origin (dead ones are set aside to close)."""
        stack = self._idle.get(key)
        while stack:
            connection = stack.pop()
            self._idle_count -= 1
            if connection.is_available() and not connection.has_expired():
                return connection
            self._drop(connection)
        return None

    def _release(self, key: OriginKey, connection: httpcore.AsyncHTTPConnection) -> None:
        """Give a connection back after its response: keep it idle if it can serve another request, else drop
        it. Synchronous, so it also runs on a cancelled request's way out."""
        if not self._closed and connection.is_idle() and not connection.is_closed() and (
            self._idle_count < self.max_keepalive
        ):
            self._idle.setdefault(key, []).append(connection)
            self._idle_count += 1
        else:
            self._drop(connection)
        self._wake_one()

    async def _give_back(self, key: OriginKey, connection: httpcore.AsyncHTTPConnection) -> None:
        """`_release` after a response was read; once the transport is closed, no request will come to close
        what was set aside, so it is closed now."""
        self._release(key, connection)
        if self._closed:
            await self._close_pending()

    def _drop(self, connection: httpcore.AsyncHTTPConnection) -> None:
        self._open -= 1
        if not connection.is_closed():
            self._to_close.append(connection)  # closed by the next request (closing awaits)

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _wait_for_release(self, deadline: float | None) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            raise httpcore.PoolTimeout("no connection became free within the pool timeout") from None
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._wake_one()  # woken, then cancelled before taking the connection: pass the turn on
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def _close_other_idle(self) -> None:
        """Close one idle connection (of any origin) to make room for a new one."""
        for stack in self._idle.values():
            if stack:
                self._idle_count -= 1
                self._drop(stack.pop(0))  # the least recently used
                break
        await self._close_pending()

    async def _sweep(self) -> None:
        """At most every `sweep_s`: drop idle connections that expired or that the server closed; and close
        what was set aside for closing."""
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.sweep_s
            for key, stack in list(self._idle.items()):
                keep = [c for c in stack if c.is_available() and not c.has_expired()]
                for connection in stack:
                    if connection not in keep:
                        self._idle_count -= 1
                        self._drop(connection)
                if keep:
                    self._idle[key] = keep
                else:
                    del self._idle[key]
        await self._close_pending()

    async def _close_pending(self) -> None:
        if self._to_close:
            pending, self._to_close = self._to_close, []
            await self._close_all(pending)

    @staticmethod
    async def _close_all(connections: list[httpcore.AsyncHTTPConnection]) -> None:
        for connection in connections:
            with contextlib.suppress(Exception):  # a socket that fails to close is gone either way
                await connection.aclose()


class _PooledStream(httpx.AsyncByteStream):
    """A response body read from a pooled connection; closing it gives the connection back."""

    def __init__(self, response: httpcore.Response, release: Callable[[], Awaitable[None]]) -> None:
        self._response = response
        self._release = release
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for chunk in self._response.aiter_stream():
                yield chunk

    async def aclose(self) -> None:
        try:
            with _httpx_errors():
                await self._response.aclose()
        finally:
            if not self._released:
                self._released = True
                await self._release()


def _pool_timeout(request: httpx.Request) -> float | None:
    """The request's pool timeout (httpx puts its timeouts in the request's extensions)."""
    timeout = request.extensions.get("timeout")
    return timeout.get("pool") if isinstance(timeout, dict) else None
