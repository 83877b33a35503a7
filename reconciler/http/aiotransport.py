"""The network transport under every channel that talks to a real socket: aiohttp.

httpx stays the API the rest of the package is written against (requests,
auth flows, responses, the in-process ASGI transport); the bytes go over an
aiohttp connection pool, a maintained HTTP/1.1 client that reads proxy
settings, limits connections in total and per host, and answers `HEAD`.
httpcore, httpx's own transport, costs about ten times the CPU per request
on a fleet plan (its pool rescans every connection on each request).

What it guarantees, beyond moving bytes:

- The request target is sent exactly as httpx built (and TikTok's auth flow
  signed) it: `request.url.raw_path`, byte for byte, nothing re-quoted.
- Failures come back as httpx's exception types, split the way the retry
  logic needs them: `ConnectError`/`ConnectTimeout` only when the request
  never left this process (refused, unresolvable, TLS refused, proxy refused,
  no connection free in time; safe to retry even a create), read and protocol
  errors once it may have been acted on (hang-up, reset, slow answer).
- No cookie is kept between requests (merchants share connections, never
  state), no netrc is read, redirects are not followed, and the body is handed
  back undecoded for httpx to decode.
- Proxies come from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` (read once, when the
  transport is made); credentials in a proxy URL go only to the proxy, and
  never into a message.
- A header that would split the request (CR, LF or NUL) is refused before
  anything is sent.
- A connection is reused only after an answer was read completely; a
  connection whose request was cancelled, timed out or failed is closed.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import urllib.request
from typing import Any

import aiohttp
import httpx
import yarl

# The deadline's own timer fires this much after the connect phase's: a request still
# waiting for a connection at its deadline is reported as never sent, not as timed out.
_DEADLINE_GRACE = 0.05
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class Proxies:
    """The proxy for each URL, from the environment as it was when the run started."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        found = (urllib.request.getproxies_environment() if environ is None
                 else _proxies_of(environ))
        self._table = found
        self._by_host: dict[tuple[str, str], tuple[yarl.URL | None, dict[str, str] | None]] = {}

    def for_url(self, scheme: str, host: str) -> tuple[yarl.URL | None, dict[str, str] | None]:
        key = (scheme, host)
        found = self._by_host.get(key)
        if found is None:
            found = self._by_host[key] = self._lookup(scheme, host)
        return found

    def _lookup(self, scheme: str, host: str) -> tuple[yarl.URL | None, dict[str, str] | None]:
        proxy = self._table.get(scheme)
        # NO_PROXY matching as urllib and httpx's own stack do it; typeshed omits the function.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        if not proxy or bypass(host, self._table):
            return None, None
        url = yarl.URL(proxy if "://" in proxy else f"http://{proxy}")
        if url.user is None:
            return url, None
        # Credentials travel as Proxy-Authorization; the URL kept (and shown in errors) has none.
        token = base64.b64encode(f"{url.user}:{url.password or ''}".encode()).decode("ascii")
        return url.with_user(None), {"Proxy-Authorization": f"Basic {token}"}


def _proxies_of(environ: dict[str, str]) -> dict[str, str]:
    """What urllib.request.getproxies_environment finds, from `environ` (lower case wins)."""
    found: dict[str, str] = {}
    for lower in (False, True):
        for name, value in environ.items():
            if value and name[-6:].lower() == "_proxy" and name.islower() == lower:
                found[name[:-6].lower()] = value
    return found


class _NeverSent(aiohttp.ClientError):
    """A failure while getting a connection (a proxy's CONNECT included): nothing was sent yet."""


class _Connector(aiohttp.TCPConnector):
    """aiohttp's pool, with every failure before the request is written marked as such.

    aiohttp reports a proxy hanging up on CONNECT as a server disconnect, the
    same error as a service hanging up after reading a request; the retry
    logic must tell them apart (the first may be resent even when it creates).
    """

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        try:
            return await super().connect(req, traces, timeout)
        except (aiohttp.ClientConnectorError, TimeoutError):
            raise  # already reported as a connect failure or a connect timeout
        except (aiohttp.ClientError, OSError) as exc:
            raise _NeverSent(str(exc) or type(exc).__name__) from exc


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over a pool of aiohttp connections.

    At most `max_connections` connections are in use at once in total, and at
    most `max_per_host` to any one host (idle ones close after
    `keepalive_expiry` seconds; aiohttp does not count them against the limit). Besides httpx's per-phase timeouts, a
    request may carry a `deadline` extension (event-loop time): waiting for a
    connection, connecting and the exchange all end by then. The caller then
    needs no timer of its own around the request.
    """

    keeps_deadlines = True

    def __init__(self, *, verify: ssl.SSLContext | bool, max_connections: int,
                 max_per_host: int | None = None, keepalive_expiry: float = 4.0,
                 environ: dict[str, str] | None = None) -> None:
        self._verify = verify
        self._limit = max_connections
        self._per_host = max_per_host or max_connections
        self._expiry = keepalive_expiry
        self._proxies = Proxies(environ)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: aiohttp binds its pool to the running event loop.
        connector = _Connector(
            limit=self._limit, limit_per_host=self._per_host, ssl=self.tls_context(),
            keepalive_timeout=self._expiry, timeout_ceil_threshold=1e9,
        )
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
            trust_env=False,  # proxies come from Proxies; True would also read ~/.netrc
            skip_auto_headers=_NO_AUTO_HEADERS, timeout=aiohttp.ClientTimeout(total=None),
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        _refuse_split(request)
        session = self._session or self._open()
        url = request.url
        target = yarl.URL(
            f"{url.scheme}://{url.netloc.decode('ascii')}{url.raw_path.decode('ascii')}",
            encoded=True)  # signed as it is: aiohttp must not re-quote it
        timeouts = request.extensions.get("timeout", {})
        deadline = request.extensions.get("deadline")
        loop = asyncio.get_running_loop()
        connect = _within(_sum(timeouts.get("pool"), timeouts.get("connect")), deadline, loop)
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=timeouts.get("read"),
                                        ceil_threshold=1e9)
        headers = _str_headers(request)
        proxy, proxy_headers = self._proxies.for_url(url.scheme, url.host)
        if proxy_headers is not None:
            if url.scheme == "https":  # on the CONNECT only: the tunnel's inside is the service's
                proxy_headers = dict(proxy_headers)
            else:  # plain http: the proxy reads (and drops) it from the request itself
                headers += proxy_headers.items()
                proxy_headers = None
        try:
            async with asyncio.timeout_at(None if deadline is None else deadline + _DEADLINE_GRACE):
                answer = await session.request(
                    request.method, target, headers=headers, data=request.content or None,
                    allow_redirects=False, timeout=timeout, proxy=proxy, proxy_headers=proxy_headers)
                try:
                    body = await answer.read()  # whole, before the connection goes back
                except BaseException:
                    answer.close()
                    raise
                answer.release()
        except Exception as exc:
            raise _mapped(exc, request) from None
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode("latin-1", "replace")
        return whole_response(answer.status, list(answer.raw_headers), body, request, extensions)

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context every https connection of this transport is made with."""
        if isinstance(self._verify, ssl.SSLContext):
            return self._verify
        if self._verify:
            self._verify = httpx.create_ssl_context()
            return self._verify
        # What create_default_context makes, without loading the system's certificates
        # (tens of milliseconds per transport) that a context checking nothing never reads.
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _mapped(exc: Exception, request: httpx.Request) -> Exception:
    """The httpx error for an aiohttp failure: never sent, or possibly acted on."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(text, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ClientHttpProxyError | _NeverSent):
        return httpx.ConnectError(text, request=request)  # refused, unresolvable, TLS or proxy said no
    if isinstance(exc, TimeoutError):  # SocketTimeoutError, or the deadline
        return httpx.ReadTimeout("read timed out", request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(
            "server disconnected without sending a complete response", request=request)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.ReadError(f"the answer's body was not complete: {text}", request=request)
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(f"invalid response: {exc.message}", request=request)
    if isinstance(exc, aiohttp.ClientError | OSError):
        return httpx.ReadError(text, request=request)
    return exc


def _sum(pool: float | None, connect: float | None) -> float | None:
    """aiohttp's connect timeout covers waiting for a free connection and connecting."""
    if pool is None or connect is None:
        return None
    return pool + connect


def _within(timeout: float | None, deadline: float | None,
            loop: asyncio.AbstractEventLoop) -> float | None:
    """`timeout`, shortened to what is left before `deadline`."""
    if deadline is None:
        return timeout
    left = max(deadline - loop.time(), 0.001)
    return left if timeout is None else min(timeout, left)


def _str_headers(request: httpx.Request) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]


_SPLITTING = re.compile(rb"[\r\n\0]")


def _refuse_split(request: httpx.Request) -> None:
    """Refuse any header or target byte that could split the request, before anything is sent."""
    # One search over every part, joined by a byte that is not searched for: a third of the
    # CPU of three searches per part, on every request.
    parts = b" ".join([request.url.raw_path, *(b for pair in request.headers.raw for b in pair)])
    if _SPLITTING.search(parts):
        raise httpx.LocalProtocolError("a header or the request target contains CR, LF or NUL",
                                       request=request)


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
        response._content = body
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
        fast._content = b'{"a": 1}'
        ordinary = httpx.Response(200, headers=headers, content=b'{"a": 1}', request=request)
        return (fast.content, fast.json(), fast.text, fast.headers.raw) == (
            ordinary.content, ordinary.json(), ordinary.text, ordinary.headers.raw)
    except (AttributeError, TypeError, ValueError, httpx.HTTPError):
        return False


_PLAIN_CONTENT = _plain_content_works()
