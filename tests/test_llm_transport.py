"""The providers' connection pool (`loop_tui.llm.transport`) over real loopback HTTP: reuse, the connection
limit, pool timeouts, connections the server closed, failures mapped to httpx's exceptions, cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpcore
import httpx
import pytest

from loop_tui.llm.transport import LinearPoolTransport, httpx_error
from tests.fake_model_server import FakeModelServer

BODY = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer() as fake:
        yield fake


async def test_sequential_requests_reuse_one_connection(server: FakeModelServer) -> None:
    transport = LinearPoolTransport()
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(5):
            response = await client.get(f"{server.openai_base_url}/models")
            assert response.json()["data"][0]["id"] == "fake"
        assert (transport.connection_count, transport.idle_count) == (1, 1)


async def test_requests_beyond_the_limit_wait_for_a_connection_and_all_succeed() -> None:
    transport = LinearPoolTransport(max_connections=3)
    with FakeModelServer(latency_s=0.05) as server:
        async with httpx.AsyncClient(transport=transport) as client:
            seen: list[int] = []

            async def one(i: int) -> str:
                body = {**BODY, "messages": [{"role": "user", "content": f"q{i}"}]}
                async with client.stream("POST", f"{server.openai_base_url}/chat/completions", json=body) as resp:
                    seen.append(transport.connection_count)
                    assert resp.status_code == 200
                    return (await resp.aread()).decode()

            replies = await asyncio.gather(*(one(i) for i in range(12)))
    assert len(replies) == 12 and all(reply.rstrip().endswith("data: [DONE]") for reply in replies)
    assert max(seen) <= 3 and transport.connection_count == 0  # the client closed the pool


async def test_a_request_that_finds_no_free_connection_in_time_gets_a_pool_timeout(server: FakeModelServer) -> None:
    transport = LinearPoolTransport(max_connections=1)
    async with httpx.AsyncClient(transport=transport) as client:
        url = f"{server.openai_base_url}/chat/completions"
        async with client.stream("POST", url, json=BODY) as held:  # holds the only connection
            with pytest.raises(httpx.PoolTimeout):
                await client.post(url, json=BODY, timeout=httpx.Timeout(5.0, pool=0.05))
            await held.aread()
        response = await client.post(url, json=BODY)  # released: the next request gets it
        assert response.status_code == 200 and transport.connection_count == 1


@pytest.fixture
async def closing_server() -> AsyncIterator[tuple[str, list[int], asyncio.Event]]:
    """A server that answers one request per connection and then closes it without saying so (as a server
    whose keep-alive timeout is shorter than ours does); yields (url, requests per connection, closed)."""
    per_connection: list[int] = []
    closed = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        per_connection.append(0)
        await reader.readuntil(b"\r\n\r\n")
        per_connection[-1] += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok")
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield f"http://127.0.0.1:{port}/", per_connection, closed


async def test_an_idle_connection_the_server_closed_is_never_reused(
    closing_server: tuple[str, list[int], asyncio.Event],
) -> None:
    url, per_connection, closed = closing_server
    transport = LinearPoolTransport(sweep_s=3600)  # no sweep: the check before reuse must catch it
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(url)).text == "ok"
        await asyncio.wait_for(closed.wait(), 5)  # on loopback the FIN is in our socket once this is set
        assert transport.idle_count == 1
        assert (await client.get(url)).text == "ok"  # on a new connection, not an error
    assert per_connection == [1, 1]


async def test_a_connection_that_cannot_be_made_is_an_httpx_connect_error_and_frees_its_slot() -> None:
    srv = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    srv.close()
    await srv.wait_closed()  # nothing listens on `port` now
    transport = LinearPoolTransport(max_connections=1)
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(2):  # the failed connection does not keep the only slot
            with pytest.raises(httpx.ConnectError):
                await client.get(f"http://127.0.0.1:{port}/")
        assert transport.connection_count == 0


async def test_a_cancelled_request_frees_its_connection() -> None:
    arrived = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        arrived.set()
        await reader.read()  # until the client goes away

    srv = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    transport = LinearPoolTransport(max_connections=1)
    async with srv, httpx.AsyncClient(transport=transport) as client:
        task = asyncio.ensure_future(client.get(f"http://127.0.0.1:{port}/"))
        await asyncio.wait_for(arrived.wait(), 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert transport.connection_count == 0


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpcore.ConnectTimeout("t"), httpx.ConnectTimeout),
        (httpcore.ReadTimeout("t"), httpx.ReadTimeout),
        (httpcore.PoolTimeout("t"), httpx.PoolTimeout),
        (httpcore.ConnectError("e"), httpx.ConnectError),
        (httpcore.ReadError("e"), httpx.ReadError),
        (httpcore.RemoteProtocolError("e"), httpx.RemoteProtocolError),
        (httpcore.UnsupportedProtocol("e"), httpx.UnsupportedProtocol),
    ],
)
def test_httpcore_failures_become_the_most_specific_httpx_exception(raised: Exception, expected: type) -> None:
    mapped = httpx_error(raised)
    assert type(mapped) is expected and str(mapped) == str(raised)


def test_other_exceptions_are_not_mapped() -> None:
    assert httpx_error(ValueError("x")) is None


async def test_closing_the_client_while_a_response_is_open_closes_its_connection_when_the_response_ends(
    server: FakeModelServer,
) -> None:
    transport = LinearPoolTransport()
    client = httpx.AsyncClient(transport=transport)
    async with client.stream("POST", f"{server.openai_base_url}/chat/completions", json=BODY) as response:
        await client.aclose()
        await response.aread()
    assert transport.connection_count == 0 and transport.idle_count == 0
    assert server.wait_for(lambda: server.open_connections == 0), "the connection was left open"
