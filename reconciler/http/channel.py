"""Channel: one service's way out of the process, shared by every merchant.

A channel holds what all of a service's requests have in common (the
transport and its connection pool, the default headers, the read-only
guard) and sends a prepared `httpx.Request` through the transport
directly. httpx's `AsyncClient` would do the same plus cookie jars,
redirect handling and header merging on every request; none of that
applies to these APIs (no cookies, no redirects, fixed headers), and on a
fleet plan it cost more CPU than the transport itself.

Auth is an `httpx.Auth` whose flow signs in one step (TikTok signing,
static key headers), so it runs without waiting for a response.

Requests are built from a header template per host (Host, the default
headers, the content type) through httpx's public `stream=` constructor,
which skips the header normalization and content-header inference that
`httpx.Request(content=...)` repeats on every call: the same request for a
fifth of the CPU. `FAST_BUILD` is set only if, on this httpx, a sample built
both ways is the same request; otherwise requests are built the ordinary way.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import httpx

from reconciler.http.readonly import guard

USER_AGENT = "reconciler (+config as code for returns integrations)"
DEFAULT_HEADERS = {
    "user-agent": USER_AGENT,
    "accept": "application/json",
    "accept-encoding": "gzip, deflate",
}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})  # httpx adds Content-Length: 0 when empty


class Channel:
    """Sends one service's requests over `transport`; with `read_only`, refuses writes last."""

    def __init__(
        self,
        service: str,
        transport: httpx.AsyncBaseTransport,
        *,
        read_only: bool,
        headers: Mapping[str, str] = DEFAULT_HEADERS,
    ) -> None:
        self.service = service
        self.read_only = read_only
        self._transport = transport
        self._headers = dict(headers)
        self._templates: dict[tuple[bytes, bool], httpx.Headers] = {}
        # Whether the transport ends a request at its `deadline` extension (see aiotransport.py);
        # in-process transports ignore timeouts, and the client then keeps the time itself.
        self.keeps_deadlines = bool(getattr(transport, "keeps_deadlines", False))

    def build(self, method: str, url: httpx.URL, body: bytes, timeout: float) -> httpx.Request:
        """The request as it goes to auth: default headers, JSON content type when there is a body."""
        extensions = _timeout_extensions(timeout)
        if not FAST_BUILD or (method in _BODY_METHODS and not body):
            return self._build_ordinary(method, url, body, extensions)
        return self._build_fast(method, url, body, extensions)

    def _build_fast(self, method: str, url: httpx.URL, body: bytes,
                    extensions: dict[str, Any]) -> httpx.Request:
        key = (url.netloc, bool(body))
        template = self._templates.get(key)
        if template is None:
            template = self._templates[key] = self._template(url.netloc, bool(body))
        request = httpx.Request(method, url, headers=template, stream=httpx.ByteStream(body),
                                extensions=extensions)
        if body:
            request.headers["Content-Length"] = str(len(body))
        request.read()
        return request

    def _template(self, netloc: bytes, body: bool) -> httpx.Headers:
        # The order httpx.Request(content=...) gives: Host, the headers given, Content-Length.
        headers = [(b"Host", netloc), *((k.encode(), v.encode()) for k, v in self._headers.items())]
        if body:
            headers.append((b"content-type", b"application/json"))
        return httpx.Headers(headers)

    def _build_ordinary(self, method: str, url: httpx.URL, body: bytes,
                        extensions: dict[str, Any]) -> httpx.Request:
        headers = dict(self._headers)
        if body:
            headers["content-type"] = "application/json"
        return httpx.Request(method, url, headers=headers, content=body or None,
                             extensions=extensions)

    async def send(self, request: httpx.Request, auth: httpx.Auth) -> httpx.Response:
        """Sign `request`, check it one last time on a read-only channel, and send it."""
        request = next(auth.auth_flow(request))
        if self.read_only:
            # After auth, before the transport: nothing past this point can turn into a write.
            guard(self.service, request)
        response = await self._transport.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        response.request = request
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


@functools.lru_cache(maxsize=64)  # nearly always the policy's timeout; retries add a few more
def _timeout_extensions(timeout: float) -> dict[str, Any]:
    """Request extensions for `timeout` (shared: nothing changes a request's extensions)."""
    return {"timeout": httpx.Timeout(timeout).as_dict()}


def _fast_build_works() -> bool:
    channel = Channel("check", httpx.AsyncBaseTransport(), read_only=False)
    extensions = {"timeout": httpx.Timeout(5.0).as_dict()}
    try:
        for method, url, body in (("GET", "https://a.example/x?y=1", b""),
                                  ("POST", "http://127.0.0.1:8080/p", b'{"a":1}')):
            fast = channel._build_fast(method, httpx.URL(url), body, extensions)
            ordinary = channel._build_ordinary(method, httpx.URL(url), body, extensions)
            if (fast.method, fast.url, fast.headers.raw, fast.content, fast.extensions) != (
                    ordinary.method, ordinary.url, ordinary.headers.raw, ordinary.content,
                    ordinary.extensions):
                return False
        return True
    except (AttributeError, TypeError, ValueError, httpx.HTTPError):
        return False


FAST_BUILD = _fast_build_works()
