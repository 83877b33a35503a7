"""The network transport under every channel that talks to a real socket.

httpx stays the API the rest of the package is written against (requests,
auth flows, responses, the in-process ASGI transport), but its default
transport (httpcore over anyio and h11) costs more than a millisecond of
CPU per request on a fleet plan, and a general-purpose client (aiohttp)
still spends most of its time on features these APIs never use. What the
four services need is small: HTTP/1.1 keep-alive connections to a handful
of hosts, one request at a time per connection, small JSON answers read
whole. This module does exactly that on asyncio, with httptools (llhttp,
the C parser behind Node.js) parsing the answers, at a fraction of the
cost (see docs/performance.md).

What it guarantees, beyond moving bytes:

- The request target is sent exactly as httpx built (and TikTok's auth flow
  signed) it: `request.url.raw_path`, byte for byte, nothing re-quoted.
- Failures come back as httpx's exception types, split the way the retry
  logic needs them: `ConnectError`/`ConnectTimeout`/`PoolTimeout` only when
  the request never left this process (safe to retry even a create), read
  and protocol errors once it may have been acted on.
- No cookie is kept between requests (merchants share connections, never
  state), no proxy or netrc is read from the environment, redirects are
  not followed, and the body is handed back undecoded for httpx to decode.
- A header that would split the request (CR, LF or NUL) is refused before
  anything is sent.
- A connection is reused only after an answer was read completely and the
  service allowed keep-alive; a connection whose request was cancelled,
  timed out or failed is closed, never handed to the next merchant.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import OrderedDict, deque
from typing import Any

import httptools
import httpx


class _Failure(Exception):
    """Why a connection failed mid-exchange, before it is mapped to an httpx error."""

    def __init__(self, kind: type[httpx.TransportError], message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one exchange at a time, parsed by httptools."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser: Any = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._read_timeout: float | None = None
        self._deadline: float | None = None
        self.closed = False
        self.keep_alive = False
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._headers_done = False
        self._complete = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        if self._waiter is not None and not self._waiter.done():
            if self._headers_done and self._ends_at_close():
                self.keep_alive = False
                self._waiter.set_result(None)  # an answer without a length ends where the connection does
            elif self._headers_done:
                self._fail(httpx.ReadError, "connection closed before the answer's body was complete")
            else:
                self._fail(httpx.RemoteProtocolError,
                           "server disconnected without sending a complete response")

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            # Bytes nobody asked for (or after a failure): the connection cannot be trusted.
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError, f"invalid response: {exc}")
            self.close()
            return
        if self._timer is not None and not self._waiter.done():
            self._arm_timer()  # the read timeout counts from the last byte received

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost reports an unfinished answer

    def _ends_at_close(self) -> bool:
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    # httptools callbacks

    def on_message_begin(self) -> None:
        if self._complete:  # a second answer to one request: nothing more on it can be trusted
            raise ValueError("more than one answer to one request")

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._headers_done = True
        self.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200:  # informational (103 Early Hints): the answer is still to come
            self.status, self.reason, self.headers, self._body = 0, b"", [], []
            self._headers_done = False
            return
        self._complete = True
        self.keep_alive = bool(self._parser.should_keep_alive())
        self._cancel_timer()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # one exchange

    async def exchange(self, head: bytes, body: bytes, read_timeout: float | None,
                       deadline: float | None = None) -> bytes:
        """Send one request and wait for its whole answer; returns the body.

        `read_timeout` counts from the last byte received; `deadline` (loop
        time) ends the exchange however the bytes trickle in.
        """
        self._parser = httptools.HttpResponseParser(self)
        self.status, self.reason, self.headers, self._body = 0, b"", [], []
        self._headers_done = self._complete = False
        self.keep_alive = False
        self._waiter = waiter = self._loop.create_future()
        self._read_timeout = read_timeout
        self._deadline = deadline
        transport = self._transport
        assert transport is not None
        transport.write(head + body if body else head)
        if read_timeout is not None or deadline is not None:
            self._arm_timer()
        await waiter
        return b"".join(self._body)

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        when = self._deadline
        if self._read_timeout is not None:
            since_last_byte = self._loop.time() + self._read_timeout
            when = since_last_byte if when is None else min(when, since_last_byte)
        assert when is not None
        self._timer = self._loop.call_at(when, self._timed_out)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(httpx.ReadTimeout, "read timed out")
        self.close()

    def _fail(self, kind: type[httpx.TransportError], message: str) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(_Failure(kind, message))

    def close(self) -> None:
        self.closed = True
        self.keep_alive = False
        self._cancel_timer()
        if self._transport is not None:
            self._transport.close()


class _IdleConnections:
    """The idle connections of all hosts, oldest first; past `cap`, the oldest is closed.

    Live Shopify is one host per shop: a fleet run touches thousands of hosts
    once each, and without a cap every one of them would keep a socket open
    (and a file descriptor) until the end of the run.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._order: OrderedDict[_Connection, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._order)

    def add(self, connection: _Connection) -> None:
        self._order[connection] = None
        while len(self._order) > self.cap:
            oldest, _ = self._order.popitem(last=False)
            oldest.close()  # its host forgets it the next time it looks for an idle connection

    def remove(self, connection: _Connection) -> None:
        self._order.pop(connection, None)


class _Host:
    """The connections to one (scheme, host, port): idle ones first, at most `limit` open.

    A connection idle for `expiry` seconds is closed rather than reused: a
    server may be closing it at that very moment (uvicorn does after 5 s),
    and a request lost that way cannot be told from one the server acted on.
    """

    def __init__(self, limit: int, expiry: float, idle_everywhere: _IdleConnections) -> None:
        self.limit = limit
        self.expiry = expiry
        self.idle_everywhere = idle_everywhere
        self.idle: deque[tuple[float, _Connection]] = deque()  # (idle since, connection), oldest first
        self.open = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    def take_idle(self, now: float) -> _Connection | None:
        while self.idle:
            since, connection = self.idle.pop()  # the most recently used is the least likely to be stale
            self.idle_everywhere.remove(connection)
            if not connection.closed and now - since < self.expiry:
                return connection
            connection.close()
            self.open -= 1
        return None

    def give_back(self, connection: _Connection, now: float) -> None:
        if connection.closed or not connection.keep_alive:
            connection.close()
            self.open -= 1
        else:
            self.idle.append((now, connection))
            self.idle_everywhere.add(connection)
        self.wake()

    def wake(self) -> None:
        """Let the longest-waiting request try again: a connection or a slot is free."""
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break


class WireTransport(httpx.AsyncBaseTransport):
    """An httpx transport over pooled HTTP/1.1 connections.

    At most `max_connections` connections are open to any one host, and at
    most `max_connections` idle ones are kept across all hosts.

    Besides httpx's per-phase timeouts, a request may carry a `deadline`
    extension (event-loop time): waiting for a connection, connecting and
    the exchange all end by then, with the same errors as the phase's own
    timeout. The caller then needs no timer of its own around the request.
    """

    keeps_deadlines = True

    def __init__(self, *, verify: ssl.SSLContext | bool, max_connections: int,
                 keepalive_expiry: float = 4.0) -> None:
        self._verify = verify
        self._max_connections = max_connections
        self._expiry = keepalive_expiry
        self._idle = _IdleConnections(max_connections)
        self._hosts: dict[tuple[bytes, bytes, int | None], _Host] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        head = _head(request)
        timeouts = request.extensions.get("timeout", {})
        deadline = request.extensions.get("deadline")
        key = (url.raw_scheme, url.raw_host, url.port)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host(self._max_connections, self._expiry, self._idle)
        loop = asyncio.get_running_loop()
        connection = await self._connection(host, request, timeouts, deadline, loop)
        try:
            body = await connection.exchange(head, request.content, timeouts.get("read"), deadline)
            status, headers, reason = connection.status, connection.headers, connection.reason
        except _Failure as failure:
            connection.close()
            raise failure.kind(str(failure), request=request) from None
        except BaseException:  # cancelled mid-exchange: the answer may still be on its way
            connection.close()
            raise
        finally:
            host.give_back(connection, loop.time())
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        reason = reason.strip()
        if reason:
            extensions["reason_phrase"] = reason
        return whole_response(status, headers, body, request, extensions)

    async def _connection(self, host: _Host, request: httpx.Request,
                          timeouts: dict[str, float | None], deadline: float | None,
                          loop: asyncio.AbstractEventLoop) -> _Connection:
        while True:
            connection = host.take_idle(loop.time())
            if connection is not None:
                return connection
            if host.open < host.limit:
                host.open += 1
                try:
                    return await self._connect(request, _within(timeouts.get("connect"), deadline, loop))
                except BaseException:
                    host.open -= 1
                    host.wake()
                    raise
            waiter: asyncio.Future[None] = loop.create_future()
            host.waiting.append(waiter)
            try:
                await asyncio.wait_for(waiter, _within(timeouts.get("pool"), deadline, loop))
            except TimeoutError:
                raise httpx.PoolTimeout("no connection became free in time", request=request) from None

    async def _connect(self, request: httpx.Request, timeout: float | None) -> _Connection:
        url = request.url
        loop = asyncio.get_running_loop()
        secure = url.scheme == "https"
        context = self.tls_context() if secure else None
        port = url.port or (443 if secure else 80)
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop), url.host, port, ssl=context,
                    server_hostname=url.host if secure else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout("connect timed out", request=request) from None
        except (OSError, ssl.SSLError) as exc:  # refused, unresolvable, TLS handshake failed
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        return connection

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context every https connection of this transport is made with."""
        if isinstance(self._verify, ssl.SSLContext):
            return self._verify
        if self._verify:
            self._verify = httpx.create_ssl_context()
            return self._verify
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    async def aclose(self) -> None:
        hosts, self._hosts = self._hosts, {}
        for host in hosts.values():
            while host.idle:
                host.idle.pop()[1].close()


def _within(timeout: float | None, deadline: float | None,
            loop: asyncio.AbstractEventLoop) -> float | None:
    """`timeout`, shortened to what is left before `deadline`."""
    if deadline is None:
        return timeout
    left = max(deadline - loop.time(), 0.0)
    return left if timeout is None else min(timeout, left)


def whole_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes,
                   request: httpx.Request, extensions: dict[str, Any]) -> httpx.Response:
    """An httpx response whose body has been read (and decoded, if it was compressed).

    `httpx.Response(content=...)` would infer content headers and run the
    body through a decoder chain on every answer; an answer that is not
    compressed has nothing to decode, so its bytes become the content as
    they are (what `read()` would store, for a sixth of the CPU).
    """
    response = httpx.Response(status, headers=headers, stream=httpx.ByteStream(body),
                              request=request, extensions=extensions)
    if _PLAIN_CONTENT and not any(name.lower() == b"content-encoding" for name, _ in headers):
        response._content = body  # type: ignore[attr-defined]
    else:
        response.read()
    return response


def _plain_content_works() -> bool:
    """Whether setting the content directly gives the response `read()` would, on this httpx."""
    request = httpx.Request("GET", "http://127.0.0.1/")
    headers = [(b"content-type", b"application/json"), (b"content-length", b"8")]
    try:
        fast = httpx.Response(200, headers=headers, stream=httpx.ByteStream(b'{"a": 1}'),
                              request=request)
        fast._content = b'{"a": 1}'  # type: ignore[attr-defined]
        ordinary = httpx.Response(200, headers=headers, content=b'{"a": 1}', request=request)
        return (fast.content, fast.json(), fast.text, fast.headers.raw) == (
            ordinary.content, ordinary.json(), ordinary.text, ordinary.headers.raw)
    except (AttributeError, TypeError, ValueError, httpx.HTTPError):
        return False


_PLAIN_CONTENT = _plain_content_works()


def _head(request: httpx.Request) -> bytes:
    """The request line and headers, refusing any byte that could split the request."""
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    head = b"".join(parts)
    lines = len(request.headers.raw) + 2  # request line, headers, the empty line
    if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
        raise httpx.LocalProtocolError("a header or the request target contains CR, LF or NUL",
                                       request=request)
    return head
