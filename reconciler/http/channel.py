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
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from reconciler.http.readonly import guard

USER_AGENT = "reconciler (+config as code for returns integrations)"
DEFAULT_HEADERS = {
    "user-agent": USER_AGENT,
    "accept": "application/json",
    "accept-encoding": "gzip, deflate",
}


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

    def build(self, method: str, url: httpx.URL, body: bytes, timeout: float) -> httpx.Request:
        headers = dict(self._headers)
        if body:
            headers["content-type"] = "application/json"
        return httpx.Request(
            method, url, headers=headers, content=body or None,
            extensions={"timeout": httpx.Timeout(timeout).as_dict()},
        )

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
