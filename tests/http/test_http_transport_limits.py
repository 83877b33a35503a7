"""What the aiohttp transport guarantees: HEAD, limits in total and per host,
and the never-sent split when a server hangs up before it reads the request."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from reconciler.http.aiotransport import AiohttpTransport
from reconciler.http.channel import Channel
from reconciler.http.client import ServiceClient
from reconciler.http.errors import NetworkError
from reconciler.http.retry import RetryPolicy
from tests.http.test_http_transport import FAST, Server, ok, server  # noqa: F401


class Busy:
    """Holds every answer a little, counting how many requests it is answering at once."""

    def __init__(self, in_flight: list[int], hold: float = 0.03) -> None:
        self.url = ""
        self.hold = hold
        self.answered = 0
        self.in_flight = in_flight  # shared by the servers of one test: [now, most]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.in_flight[0] += 1
                self.in_flight[1] = max(self.in_flight)
                await asyncio.sleep(self.hold)
                self.in_flight[0] -= 1
                self.answered += 1
                writer.write(ok({"ok": True}))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def _listening(*servers: Busy) -> list[asyncio.Server]:
    listeners = []
    for srv in servers:
        listener = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
        srv.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        listeners.append(listener)
    return listeners


async def _requests(http: Channel, srv: Busy, count: int) -> list[object]:
    client = ServiceClient("shopify", http, srv.url, httpx.Auth(), retry=FAST)
    return await asyncio.gather(*(client.request("GET", f"/x/{i}") for i in range(count)))


async def test_a_head_answer_returns_at_once_without_waiting_for_a_body(server: Server) -> None:  # noqa: F811
    server.script = [lambda h: b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n", lambda h: ok({"n": 2})]
    http = Channel("loop", AiohttpTransport(verify=False, max_connections=2), read_only=False)
    loop = asyncio.get_running_loop()
    started = loop.time()
    response = await http.send(http.build("HEAD", httpx.URL(server.url + "/x"), b"", 5.0), httpx.Auth())
    assert loop.time() - started < 1.0  # not the 5 s read timeout
    assert response.status_code == 200 and response.content == b""
    again = await http.send(http.build("GET", httpx.URL(server.url + "/y"), b"", 5.0), httpx.Auth())
    assert again.json() == {"n": 2} and server.connections == 1  # and the connection was reusable
    await http.aclose()


async def test_connections_are_limited_in_total_across_hosts() -> None:
    in_flight = [0, 0]
    servers = [Busy(in_flight), Busy(in_flight)]
    listeners = await _listening(*servers)
    http = Channel("shopify", AiohttpTransport(verify=False, max_connections=3, max_per_host=2),
                   read_only=False)
    answers = await asyncio.gather(*(_requests(http, srv, 12) for srv in servers))
    await http.aclose()
    for listener in listeners:
        listener.close()
    assert answers == [[{"ok": True}] * 12] * 2
    assert in_flight[1] == 3  # three at a time in all, where two hosts at two each would be four


async def test_connections_are_limited_per_host() -> None:
    in_flight = [0, 0]
    srv = Busy(in_flight)
    listeners = await _listening(srv)
    http = Channel("loop", AiohttpTransport(verify=False, max_connections=10, max_per_host=2),
                   read_only=False)
    assert await _requests(http, srv, 8) == [{"ok": True}] * 8
    await http.aclose()
    listeners[0].close()
    assert in_flight[1] == 2


async def test_a_server_that_hangs_up_before_reading_lets_a_create_be_retried() -> None:
    """An https server that drops the connection during the handshake never saw a request."""
    accepted = 0

    async def hang_up_then_refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        writer.close()  # before the TLS handshake: nothing of the request was written

    listener = await asyncio.start_server(hang_up_then_refuse, "127.0.0.1", 0)
    url = f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    http = Channel("pipe17", AiohttpTransport(verify=False, max_connections=2), read_only=False)
    retry = RetryPolicy(attempts=3, total_seconds=5.0, base_delay=0.01, max_delay=0.02, timeout=1.0)
    client = ServiceClient("pipe17", http, url, httpx.Auth(), retry=retry)
    with pytest.raises(NetworkError) as caught:
        await client.request("POST", "/integrations", json={"connectorName": "Shopify"})
    await http.aclose()
    listener.close()
    assert caught.value.code == "not-connected"
    assert accepted == 3  # a create that never left is retried like any request


async def test_a_server_that_hangs_up_after_reading_gets_a_create_once(server: Server) -> None:  # noqa: F811
    server.script = [lambda h: None] * 3
    http = Channel("pipe17", AiohttpTransport(verify=False, max_connections=2), read_only=False)
    client = ServiceClient("pipe17", http, server.url, httpx.Auth(), retry=FAST)
    with pytest.raises(NetworkError) as caught:
        await client.request("POST", "/integrations", json={"connectorName": "Shopify"})
    await http.aclose()
    assert caught.value.code == "transport"  # may have been acted on
    assert len(server.heads) == 1  # read by the server once, never resent
