"""The network transport under every httpx client that talks to a real socket.

httpx stays the API the rest of the package is written against (requests,
auth flows, event hooks, responses, the in-process ASGI transport), but its
default transport (httpcore over anyio and h11) costs more than a
millisecond of CPU per request on a fleet plan: more than the request's
latency budget when one process plans thousands of merchants. aiohttp's
connection pool and C HTTP parser do the same work for a fraction of that
(see docs/performance.md), so the bytes go over aiohttp.

What this adapter guarantees, beyond moving bytes:

- The URL is sent exactly as httpx built (and TikTok's auth flow signed) it:
  aiohttp is told the URL is already encoded, so nothing is re-quoted.
- Failures come back as httpx's exception types, split the way the retry
  logic needs them: `ConnectError`/`ConnectTimeout` only when the request
  never reached the service (safe to retry even a create), read and
  protocol errors when it may have been acted on.
- No cookie is kept between requests (merchants share connections, never
  state), no proxy or netrc is read from the environment, redirects are
  not followed, and the body is handed back undecoded for httpx to decode.
- Responses are read whole: every vendor answer is a small JSON document.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
import httpx
import yarl


@contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """Re-raise aiohttp's failures as the httpx exception a caller can act on."""
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:  # no connection was made in time
        raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from None
    except aiohttp.ServerTimeoutError as exc:  # sent; the answer did not come in time
        raise httpx.ReadTimeout(str(exc) or "read timed out", request=request) from None
    except aiohttp.ClientConnectorError as exc:  # refused, unresolvable, TLS handshake failed
        raise httpx.ConnectError(str(exc), request=request) from None
    except aiohttp.ServerDisconnectedError:
        raise httpx.RemoteProtocolError(
            "server disconnected without sending a complete response", request=request
        ) from None
    except aiohttp.ClientResponseError as exc:  # the answer was not valid HTTP
        raise httpx.RemoteProtocolError(f"invalid response: {exc.message}", request=request) from None
    except aiohttp.ClientPayloadError as exc:
        raise httpx.ReadError(f"incomplete response body: {exc}", request=request) from None
    except (aiohttp.ClientConnectionError, OSError) as exc:  # reset mid-request and the like
        raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport over one aiohttp connection pool (created on first use)."""

    def __init__(self, *, verify: ssl.SSLContext | bool, max_connections: int) -> None:
        self._ssl: ssl.SSLContext | bool = verify
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        # A session belongs to the running event loop: made on the first request.
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=self._max_connections,
            ssl=self._ssl,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session or self._open()
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        with _as_httpx_errors(request):
            async with session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                data=request.content or None,
                allow_redirects=False,
                timeout=timeout,
            ) as answer:
                content = await answer.read()
                status, headers, reason = answer.status, answer.raw_headers, answer.reason
        extensions = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("latin-1", "replace")
        return httpx.Response(status, headers=list(headers), content=content,
                              request=request, extensions=extensions)

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
