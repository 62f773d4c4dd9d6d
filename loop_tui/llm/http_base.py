"""What every HTTP provider shares: the request loop with retries, timeouts, cancellation and key hygiene.

Subclasses build the wire request and parse the SSE stream; this class decides when to retry. The rule:
a failure is retried (429, 5xx, connection drops, timeouts, retryable mid-stream errors) only while
nothing has been yielded to the caller — once a token was streamed, a retry would duplicate output, so
the caller gets a `ProviderError` instead.

The API key is read from its environment variable at request time and is never stored on the provider,
so it cannot show up in a repr, a pickled object or a traceback's locals of long-lived objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from loop_tui.llm.base import Done, ModelParams, ProviderError, StreamEvent
from loop_tui.llm.failures import classify_http_error, redact, retry_after_seconds

if TYPE_CHECKING:
    import ssl

    import httpx

    from loop_tui.llm.transport import LinearPoolTransport

log = logging.getLogger("loop_tui.llm")

# Exceptions a parser may raise on a reply whose JSON has an unexpected shape.
_SHAPE_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError)
_DRAIN_TIMEOUT_S = 1.0
# Connection pool: room for the widest eval run (concurrency is capped well below this), idle connections
# kept as long as a typical API keeps them, and a sweep for dead idle sockets at most this often.
_MAX_CONNECTIONS = 256
_KEEPALIVE_S = 30.0
_SWEEP_S = 1.0


class HttpProvider:
    """Base class for providers that POST JSON and read an SSE stream back (see module docstring).

    `timeout_s` bounds connecting and every wait for the next bytes of the stream (an idle timeout), not
    the whole reply, so a long answer that keeps streaming is never cut off. Retry delays: the server's
    `retry-after-ms`/`retry-after` (capped at `retry_after_cap_s`), else `backoff_base_s * 2**attempt`
    (capped at `backoff_max_s`) with jitter. `env` replaces os.environ for the key lookup (tests);
    `sleep` replaces asyncio.sleep (tests observe the delays).
    """

    name: str = "http"

    def __init__(
        self,
        *,
        base_url: str,
        api_key_env: str | None,
        name: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 8.0,
        retry_after_cap_s: float = 30.0,
        headers: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
    ) -> None:
        if name:
            self.name = name
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.retry_after_cap_s = retry_after_cap_s
        self._extra_headers = dict(headers or {})
        self._env = env  # None: os.environ, looked up per request (never copied onto the provider)
        self._own_client = client
        # One pooled client per event loop: an AsyncClient cannot be shared across loops (tests, threads).
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._sleep = sleep or asyncio.sleep

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    # --- hooks for subclasses -------------------------------------------------------------------

    def build_request(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, model: str, params: ModelParams
    ) -> tuple[str, dict[str, Any]]:
        """(url, JSON body) for one streamed request."""
        raise NotImplementedError

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        """Headers carrying the key (and any fixed headers the API requires)."""
        raise NotImplementedError

    def parse_stream(self, lines: AsyncIterator[str], model: str, secret: str | None) -> AsyncGenerator[StreamEvent, None]:
        """Neutral events from the response lines; ends with `Done` or a `ProviderError`."""
        raise NotImplementedError

    # --- the request loop -----------------------------------------------------------------------

    def api_key(self) -> str | None:
        """The key from the environment now (None if unset or empty)."""
        if not self.api_key_env:
            return None
        return (os.environ if self._env is None else self._env).get(self.api_key_env) or None

    def _client(self) -> httpx.AsyncClient:
        if self._own_client is not None:
            return self._own_client
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = pooled_client()
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the pooled connections of the current event loop's client."""
        with contextlib.suppress(RuntimeError):
            client = self._clients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.aclose()

    def retry_delay(self, attempt: int, server_wait: float | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based): the server's ask, else backoff with jitter."""
        if server_wait is not None:
            return min(server_wait, self.retry_after_cap_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        return ceiling * (0.5 + random.random() / 2)  # "equal jitter": spread retries, keep a floor

    async def stream(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None,
        model: str,
        params: ModelParams | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """Stream one reply, retrying transient failures before the first event (see module docstring)."""
        import httpx

        key = self.api_key()
        if self.api_key_env and not key:
            yield ProviderError("auth", f"no API key for {self.name}: set the environment variable ${self.api_key_env}.")
            return
        try:
            url, body = self.build_request(messages, tools, model, params or ModelParams())
        except (TypeError, ValueError, KeyError) as exc:
            reason = redact(f"{type(exc).__name__}: {exc}", key)
            yield ProviderError("bad_request", f"cannot build the request for '{model}' ({reason}).")
            return
        headers = {**self._extra_headers, **self.auth_headers(key)}
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0))
        attempt = 0
        while True:
            emitted = responded = False
            failure: ProviderError | None = None
            server_wait: float | None = None
            try:
                async with _send(self._client(), url, body, headers, timeout) as resp:
                    if resp.status_code >= 400:
                        raw = await resp.aread()
                        server_wait = retry_after_seconds(resp.headers)
                        failure = classify_http_error(
                            resp.status_code, raw, provider=self.name, model=model,
                            api_key_env=self.api_key_env, secret=key,
                        )
                    else:
                        responded = True
                        lines = resp.aiter_lines()
                        async with contextlib.aclosing(self.parse_stream(lines, model, key)) as events:
                            async for event in events:
                                if isinstance(event, ProviderError):
                                    failure = event
                                    break
                                if isinstance(event, Done):
                                    await _drain(lines)
                                emitted = True
                                yield event
            except httpx.TimeoutException:
                failure = ProviderError(
                    "timeout", f"{self.name} did not answer within {self.timeout_s:g}s (model '{model}').", None, True
                )
            except httpx.TransportError as exc:
                reason = redact(str(exc) or type(exc).__name__, key)
                what = (
                    "the connection dropped mid-reply" if emitted
                    else "the connection dropped before the reply started" if responded
                    else f"could not reach {self.base_url}"
                )
                failure = ProviderError("connection", f"{self.name}: {what} ({reason}).", None, True)
            except _SHAPE_ERRORS as exc:
                failure = ProviderError(
                    "protocol", f"{self.name} sent a reply Loop TUI cannot read ({type(exc).__name__}).", None
                )
            if failure is None:
                return
            if failure.retryable and not emitted and attempt < self.max_retries:
                delay = self.retry_delay(attempt, server_wait)
                log.info("retrying %s in %.2fs after: %s", self.name, delay, failure.message)
                await self._sleep(delay)
                attempt += 1
                continue
            yield _finalise(failure, attempt, emitted)
            return


# The transport each pooled client was built on (see `pooled_client`), for `_send`.
_TRANSPORTS: weakref.WeakKeyDictionary[httpx.AsyncClient, LinearPoolTransport] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def _send(
    client: httpx.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str], timeout: httpx.Timeout
) -> AsyncIterator[httpx.Response]:
    """POST `body` and stream the response.

    On our pooled clients the request goes straight to the transport: the client's layers (auth flows,
    redirects, cookie jar, event hooks) do nothing for an API call with a header key, yet cost about a tenth
    of the CPU of every request, which at 50-100 calls in flight is time the event loop is not reading
    replies. Any other client (a test's, a caller's) is used as it is.
    """
    request = client.build_request("POST", url, json=body, headers=headers, timeout=timeout)
    transport = _TRANSPORTS.get(client)
    if transport is None or request.url.userinfo:  # credentials in the URL: httpx's auth step sends them
        response = await client.send(request, stream=True)
    else:
        response = await transport.handle_async_request(request)
        response.request = request
    try:
        yield response
    finally:
        await response.aclose()


async def _drain(lines: AsyncIterator[str]) -> None:
    """Read the rest of a finished stream (the chunked terminator) so the connection goes back to the pool.

    Closing a response with unread body bytes makes httpcore drop the connection, and a new TCP connection
    per request costs more than the whole request on loopback. Bounded, for servers that never close.
    """
    import httpx

    with contextlib.suppress(TimeoutError, httpx.HTTPError):
        async with asyncio.timeout(_DRAIN_TIMEOUT_S):
            async for _ in lines:
                pass


def _finalise(failure: ProviderError, retries: int, emitted: bool) -> ProviderError:
    """Add what the caller needs to know: retries spent, or that output was cut off and not retried."""
    message = failure.message.rstrip(".")
    if emitted and failure.retryable:
        message += "; the reply was cut off and is not retried after partial output"
    elif retries:
        message += f" (gave up after {retries} {'retry' if retries == 1 else 'retries'})"
    return ProviderError(failure.kind, message + ".", failure.status, failure.retryable)


def pooled_client() -> httpx.AsyncClient:
    """An AsyncClient for one provider on one event loop: keep-alive for every parallel stream, on a pool
    whose cost per request does not grow with its size (see `loop_tui.llm.transport`)."""
    import httpx

    if _proxied():  # proxies from the environment: let the client pick the transport per URL
        limits = httpx.Limits(
            max_connections=_MAX_CONNECTIONS, max_keepalive_connections=_MAX_CONNECTIONS,
            keepalive_expiry=_KEEPALIVE_S,
        )
        return httpx.AsyncClient(limits=limits, verify=_ssl_context())
    from loop_tui.llm.transport import LinearPoolTransport

    transport = LinearPoolTransport(
        ssl_context=_ssl_context(), max_connections=_MAX_CONNECTIONS, max_keepalive=_MAX_CONNECTIONS,
        keepalive_expiry_s=_KEEPALIVE_S, sweep_s=_SWEEP_S,
    )
    client = httpx.AsyncClient(transport=transport)
    _TRANSPORTS[client] = transport
    return client


def _proxied() -> bool:
    """Whether a proxy is configured, as httpx reads it (environment, and the system's settings on macOS and
    Windows): then the client must choose the transport per URL."""
    import urllib.request

    return any(value for scheme, value in urllib.request.getproxies().items() if scheme in ("http", "https", "all"))


@cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's default verifying context (honouring SSL_CERT_FILE/DIR), built once: loading the CA bundle
    costs 20-60 ms, which every new client (one per provider and event loop) would otherwise pay."""
    import httpx

    return httpx.create_ssl_context()
