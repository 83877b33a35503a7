"""AiohttpTransport against a raw socket server on 127.0.0.1.

The server scripts each connection's answer, so every failure mode the retry
logic distinguishes can be produced for real: refused, disconnected after the
request, too slow, not HTTP. The tests pin what the rest of the package
relies on: the exact request line that was signed goes out, no cookie is kept
between merchants, and failures arrive as the httpx exception that says
whether the service could have acted.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
import trustme

from reconciler.http.aiotransport import AiohttpTransport
from reconciler.http.channel import Channel
from reconciler.http.client import ServiceClient
from reconciler.http.errors import NetworkError, ServerError
from reconciler.http.retry import RetryPolicy

Script = Callable[[bytes], bytes | None]  # request head -> raw answer (None: hang up)
FAST = RetryPolicy(attempts=3, total_seconds=2.0, base_delay=0.01, max_delay=0.02, timeout=0.5)


def ok(body: dict, *headers: str) -> bytes:
    raw = json.dumps(body).encode()
    head = "".join(f"{h}\r\n" for h in headers)
    return (f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(raw)}\r\n"
            f"{head}\r\n").encode() + raw


class Server:
    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.script: list[Script | float] = []
        self.url = ""
        self.connections = 0
        self.open_connections = 0
        self.close_after_answer = False  # end each connection after one answer

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                if length:
                    await reader.readexactly(length)
                self.heads.append(head)
                step = self.script.pop(0) if self.script else (lambda h: ok({"ok": True}))
                if isinstance(step, float):
                    await asyncio.sleep(step)
                    continue
                answer = step(head)
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if self.close_after_answer:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    listener = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    async with listener:
        yield srv
        listener.close()


def channel(service: str = "loop") -> Channel:
    return Channel(service, AiohttpTransport(verify=False, max_connections=4), read_only=False)


async def test_the_signed_url_goes_out_byte_for_byte(server: Server) -> None:
    http = channel()
    url = httpx.URL(server.url + "/api/orders?q=a%20b&sign=ab%2Fcd&empty=&x=%E2%9C%93")
    response = await http.send(http.build("GET", url, b"", 1.0), httpx.Auth())
    await http.aclose()
    assert response.json() == {"ok": True}
    assert server.heads[0].split(b"\r\n")[0] == (
        b"GET /api/orders?q=a%20b&sign=ab%2Fcd&empty=&x=%E2%9C%93 HTTP/1.1")


async def test_no_cookie_is_kept_between_requests(server: Server) -> None:
    server.script = [lambda h: ok({"a": 1}, "set-cookie: session=merchant-a; Path=/")]
    http = channel()
    for _ in range(2):
        await http.send(http.build("GET", httpx.URL(server.url + "/x"), b"", 1.0), httpx.Auth())
    await http.aclose()
    assert all(b"cookie" not in head.lower() for head in server.heads)


async def test_a_compressed_answer_is_decoded_once(server: Server) -> None:
    raw = gzip.compress(json.dumps({"shops": ["a"]}).encode())
    server.script = [lambda h: (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                b"content-encoding: gzip\r\ncontent-length: %d\r\n\r\n" % len(raw)) + raw]
    http = channel()
    response = await http.send(http.build("GET", httpx.URL(server.url + "/x"), b"", 1.0), httpx.Auth())
    await http.aclose()
    assert response.json() == {"shops": ["a"]}


async def test_refused_is_a_connect_error() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = channel()
    with pytest.raises(httpx.ConnectError):
        await http.send(http.build("GET", httpx.URL(f"http://127.0.0.1:{port}/x"), b"", 1.0), httpx.Auth())
    await http.aclose()


async def test_hang_up_after_the_request_may_have_acted(server: Server) -> None:
    server.script = [lambda h: None]
    http = channel()
    with pytest.raises(httpx.RemoteProtocolError):
        await http.send(http.build("POST", httpx.URL(server.url + "/x"), b"{}", 1.0), httpx.Auth())
    await http.aclose()


async def test_a_slow_answer_is_a_read_timeout(server: Server) -> None:
    server.script = [5.0]
    http = channel()
    with pytest.raises(httpx.ReadTimeout):
        await http.send(http.build("GET", httpx.URL(server.url + "/x"), b"", 0.2), httpx.Auth())
    await http.aclose()


async def test_an_answer_that_is_not_http_is_a_protocol_error(server: Server) -> None:
    server.script = [lambda h: b"SMTP ready\r\n\r\n"]
    http = channel()
    with pytest.raises(httpx.RemoteProtocolError):
        await http.send(http.build("GET", httpx.URL(server.url + "/x"), b"", 1.0), httpx.Auth())
    await http.aclose()


async def test_a_create_is_not_resent_after_a_hang_up_but_a_read_is(server: Server) -> None:
    http = channel("pipe17")
    client = ServiceClient("pipe17", http, server.url, httpx.Auth(), retry=FAST)
    server.script = [lambda h: None]
    with pytest.raises(NetworkError):
        await client.request("POST", "/integrations", json={"connectorName": "Shopify"})
    assert len(server.heads) == 1  # sent once: the service may have created it

    server.script = [lambda h: None, lambda h: ok({"success": True, "integrations": []})]
    assert await client.request("GET", "/integrations") == {"success": True, "integrations": []}
    assert len(server.heads) == 3
    await http.aclose()


async def test_server_errors_keep_their_status(server: Server) -> None:
    server.script = [lambda h: b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n"] * 3
    http = channel()
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    with pytest.raises(ServerError, match="HTTP 503"):
        await client.request("GET", "/x")
    await http.aclose()


async def test_a_redirect_is_returned_not_followed(server: Server) -> None:
    server.script = [lambda h: (b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/steal\r\n"
                                b"content-length: 0\r\n\r\n")]
    http = channel()
    response = await http.send(http.build("GET", httpx.URL(server.url + "/x"), b"", 1.0), httpx.Auth())
    await http.aclose()
    assert response.status_code == 302 and len(server.heads) == 1


async def test_connections_are_reused_and_never_more_than_the_limit(server: Server) -> None:
    http = channel()  # at most 4 connections
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    answers = await asyncio.gather(*(client.request("GET", f"/x/{i}") for i in range(20)))
    assert answers == [{"ok": True}] * 20
    assert 1 <= server.connections <= 4
    opened = server.connections
    for i in range(10):
        assert await client.request("GET", f"/y/{i}") == {"ok": True}
    assert server.connections == opened  # kept alive and reused
    await http.aclose()


async def test_connection_close_is_honoured(server: Server) -> None:
    server.script = [lambda h: ok({"n": 1}, "connection: close"), lambda h: ok({"n": 2})]
    http = channel()
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    assert await client.request("GET", "/a") == {"n": 1}
    assert await client.request("GET", "/b") == {"n": 2}
    assert server.connections == 2
    await http.aclose()


async def test_a_chunked_answer_is_read_whole(server: Server) -> None:
    raw = json.dumps({"items": list(range(300))}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(raw[i:i + 100]), raw[i:i + 100])
                      for i in range(0, len(raw), 100))
    server.script = [lambda h: (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                b"transfer-encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")]
    http = channel()
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    assert await client.request("GET", "/x") == {"items": list(range(300))}
    await http.aclose()


@pytest.mark.parametrize("value", ["k\r\nx-injected: 1", "k\nx-injected: 1", "k\r", "k\0"])
async def test_a_header_that_would_split_the_request_is_refused_before_sending(
    server: Server, value: str,
) -> None:
    http = Channel("loop", AiohttpTransport(verify=False, max_connections=4), read_only=False,
                   headers={"x-api-key": value})
    with pytest.raises(httpx.LocalProtocolError, match="CR, LF or NUL"):
        await http.send(http.build("GET", httpx.URL(server.url + "/x"), b"", 1.0), httpx.Auth())
    assert server.heads == [] and server.connections == 0
    await http.aclose()


async def test_a_cancelled_request_never_hands_its_answer_to_the_next(server: Server) -> None:
    server.script = [0.3]  # the first request gets no answer in time; its connection is dropped
    http = channel()
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    first = asyncio.create_task(client.request("GET", "/slow"))
    await asyncio.sleep(0.1)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    server.script = [lambda h: ok({"n": 2})]
    assert await client.request("GET", "/next") == {"n": 2}
    assert server.connections == 2  # the cancelled request's connection was not reused
    await http.aclose()


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


async def _tls_listener(srv: Server, ca: trustme.CA, *names: str) -> asyncio.Server:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    listener = await asyncio.start_server(srv.handle, "127.0.0.1", 0, ssl=context)
    srv.url = f"https://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    return listener


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def _refused(ca: trustme.CA, verify: ssl.SSLContext | bool, *names: str) -> str:
    """Connect to a TLS server whose certificate names `names`; the refusal's text."""
    srv = Server()
    async with await _tls_listener(srv, ca, *names):
        http = Channel("loop", AiohttpTransport(verify=verify, max_connections=2), read_only=False)
        with pytest.raises(httpx.ConnectError) as refusal:
            await http.send(http.build("GET", httpx.URL(srv.url + "/x"), b"", 2.0), httpx.Auth())
        await http.aclose()
    assert srv.heads == []  # nothing was sent
    return str(refusal.value)


async def test_an_unknown_certificate_authority_is_refused_before_anything_is_sent(
    ca: trustme.CA,
) -> None:
    assert "CERTIFICATE_VERIFY_FAILED" in await _refused(ca, True, "127.0.0.1")


async def test_a_trusted_certificate_for_another_host_is_refused(ca: trustme.CA) -> None:
    assert "127.0.0.1" in await _refused(ca, _trusting(ca), "portal.example.com")


@pytest.mark.parametrize("names", [("127.0.0.1",), ("portal.example.com",)])
async def test_without_verification_any_certificate_is_accepted(
    ca: trustme.CA, names: tuple[str, ...],
) -> None:
    srv = Server()  # an authority nobody trusts, for this host or another
    async with await _tls_listener(srv, ca, *names):
        http = Channel("loop", AiohttpTransport(verify=False, max_connections=2), read_only=False)
        client = ServiceClient("loop", http, srv.url, httpx.Auth(), retry=FAST)
        assert await client.request("GET", "/x") == {"ok": True}
        await http.aclose()


async def test_a_trusted_certificate_for_the_host_is_accepted(ca: trustme.CA) -> None:
    srv = Server()
    async with await _tls_listener(srv, ca, "127.0.0.1"):
        http = Channel("loop", AiohttpTransport(verify=_trusting(ca), max_connections=2),
                       read_only=False)
        client = ServiceClient("loop", http, srv.url, httpx.Auth(), retry=FAST)
        assert await client.request("GET", "/x") == {"ok": True}
        assert await client.request("GET", "/y") == {"ok": True}
        await http.aclose()
    assert len(srv.heads) == 2 and srv.connections == 1


async def test_an_informational_answer_is_skipped(server: Server) -> None:
    server.script = [lambda h: b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n" + ok({"n": 1})]
    http = channel()
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    assert await client.request("GET", "/x") == {"n": 1}
    await http.aclose()


async def test_a_second_answer_to_one_request_is_ignored_and_the_connection_dropped(
    server: Server,
) -> None:
    server.script = [lambda h: ok({"n": 1}) + ok({"n": "unasked"}), lambda h: ok({"n": 2})]
    http = channel()
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    assert await client.request("GET", "/a") == {"n": 1}
    assert await client.request("GET", "/b") == {"n": 2}  # not the unasked answer
    assert server.connections == 2
    await http.aclose()


async def test_an_answer_without_a_length_ends_with_the_connection(server: Server) -> None:
    raw = json.dumps({"items": list(range(50))}).encode()
    server.script = [lambda h: b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + raw]
    server.close_after_answer = True
    http = channel()
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    assert await client.request("GET", "/x") == {"items": list(range(50))}
    await http.aclose()


async def test_a_connection_idle_too_long_is_not_reused(server: Server) -> None:
    http = Channel("loop", AiohttpTransport(verify=False, max_connections=4, keepalive_expiry=0.2),
                   read_only=False)
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    assert await client.request("GET", "/a") == {"ok": True}
    assert await client.request("GET", "/b") == {"ok": True}
    assert server.connections == 1  # reused while fresh
    await asyncio.sleep(0.3)
    assert await client.request("GET", "/c") == {"ok": True}
    assert server.connections == 2  # idle past the expiry: a new connection
    await http.aclose()


async def test_idle_connections_are_closed_after_the_expiry() -> None:
    """One host per shop (live Shopify): idle sockets must not pile up, one per host."""
    servers = [Server() for _ in range(6)]
    listeners = []
    for srv in servers:
        listener = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
        srv.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
        listeners.append(listener)
    http = Channel("shopify", AiohttpTransport(verify=False, max_connections=4, keepalive_expiry=0.2),
                   read_only=False)
    for srv in servers:
        client = ServiceClient("shopify", http, srv.url, httpx.Auth(), retry=FAST)
        assert await client.request("GET", "/shop") == {"ok": True}
    await asyncio.sleep(0.6)  # expiry checks run every expiry: gone within twice the expiry
    assert sum(srv.open_connections for srv in servers) == 0
    client = ServiceClient("shopify", http, servers[0].url, httpx.Auth(), retry=FAST)
    assert await client.request("GET", "/shop") == {"ok": True}  # a closed one is replaced
    await http.aclose()
    for listener in listeners:
        listener.close()


async def test_an_answer_trickling_in_still_ends_at_the_deadline() -> None:
    finished = asyncio.Event()

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        try:
            for _ in range(200):  # a byte every 20 ms: never idle for a read timeout
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(0.02)
        except ConnectionError:
            pass  # the client hung up
        finally:
            writer.close()
            finished.set()

    listener = await asyncio.start_server(trickle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    http = channel()
    assert http.keeps_deadlines
    once = RetryPolicy(attempts=1, total_seconds=5.0, timeout=0.3)
    client = ServiceClient("loop", http, url, httpx.Auth(), retry=once)
    started = asyncio.get_running_loop().time()
    with pytest.raises(NetworkError, match="timed out after 0.3s") as caught:
        await client.request("GET", "/x")
    assert caught.value.code == "timeout"  # it was sent: the service may have acted
    assert asyncio.get_running_loop().time() - started < 1.0
    await http.aclose()
    await asyncio.wait_for(finished.wait(), 5)
    listener.close()


async def test_waiting_for_a_busy_connection_ends_at_the_deadline_unsent(server: Server) -> None:
    server.script = [1.0]  # the first request holds the only connection for a second
    http = Channel("loop", AiohttpTransport(verify=False, max_connections=1), read_only=False)
    patient = ServiceClient("loop", http, server.url, httpx.Auth(),
                            retry=RetryPolicy(attempts=1, total_seconds=5.0, timeout=0.8))
    hurried = ServiceClient("loop", http, server.url, httpx.Auth(),
                            retry=RetryPolicy(attempts=1, total_seconds=5.0, timeout=0.3))
    first = asyncio.ensure_future(patient.request("GET", "/slow"))
    await asyncio.sleep(0.05)
    with pytest.raises(NetworkError) as caught:
        await hurried.request("GET", "/waits")
    assert caught.value.code == "not-connected"  # never sent: safe to retry even a create
    assert [h.split(b" ")[1] for h in server.heads] == [b"/slow"]
    with pytest.raises(NetworkError):
        await first
    await http.aclose()
