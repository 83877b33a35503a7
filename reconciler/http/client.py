"""ServiceClient: the one HTTP seam a provider talks through.

One `request()` per call does, in order: refuse writes on a read-only
client, wait for the service's client-side rate limit, send with a timeout
(the httpx timeout and an overall deadline, because in-process transports
ignore httpx timeouts), decode the vendor envelope into a payload or a typed
error, and retry retryable errors with backoff inside the retry budget.

Requests that are not idempotent (a POST that creates) are retried only when
the service surely did not act on them: rate limited, or the connection was
never made. Anything else is reported, and the provider decides (Pipe17
re-reads before creating again).
"""

from __future__ import annotations

import asyncio
import functools
import json as jsonlib
import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from reconciler.http import logs, urls
from reconciler.http.channel import Channel
from reconciler.http.envelopes import decode
from reconciler.http.errors import (
    AuthError,
    NetworkError,
    RateLimitedError,
    ServiceError,
    scrub,
)
from reconciler.http.notices import DEPRECATED_REASON, Notices, deprecation_notice
from reconciler.http.ratelimit import TokenBucket
from reconciler.http.readonly import READ_METHODS, is_read, refuse
from reconciler.http.retry import RetryPolicy

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_IDEMPOTENT = READ_METHODS | {"PUT", "PATCH", "DELETE"}
Params = Mapping[str, str | int]
logs.install()


@functools.lru_cache(maxsize=64)
def _parsed_base(text: str) -> httpx.URL:
    """A service's base URL is the same for every merchant: parsed once."""
    return httpx.URL(text)


class ServiceClient:
    """Calls one service on behalf of one merchant, over the pool's shared Channel."""

    def __init__(
        self,
        service: str,
        http: Channel,
        base_url: str | httpx.URL,
        auth: httpx.Auth,
        *,
        bucket: TokenBucket | None = None,
        retry: RetryPolicy | None = None,
        read_only: bool = False,
        merchant: str | None = None,
        notices: Notices | None = None,
    ) -> None:
        self.service = service
        self.notices = notices
        self.merchant = merchant
        self.read_only = read_only
        self._http = http
        # Already parsed (Shopify's per-shop base, see urls.Template) or parsed once here.
        self._base = base_url if isinstance(base_url, httpx.URL) else _parsed_base(base_url.rstrip("/"))
        self._auth = auth
        self._bucket = bucket
        self._retry = retry or RetryPolicy()
        self._log = logs.service_logger(service)

    def url(self, path: str, params: Params | None = None) -> httpx.URL:
        """The absolute URL of `path` with `params` as its query (see urls.py)."""
        query = urlencode([(k, str(v)) for k, v in params.items()], quote_via=quote) if params else None
        return urls.join(self._base, path, query)

    async def request(
        self, method: str, path: str = "", *, params: Params | None = None, json: Any = None
    ) -> Any:
        """Send one call and return its decoded JSON body (None when empty)."""
        method = method.upper()
        url = self.url(path, params)
        # Serialized once: these bytes are what is signed and what is sent.
        body = b"" if json is None else jsonlib.dumps(json, separators=(",", ":")).encode()
        readonly_ok = is_read(self.service, method, url, body)
        if self.read_only and not readonly_ok:
            raise refuse(self.service, method, url, self.merchant)
        idempotent = method in _IDEMPOTENT or readonly_ok
        return await self._with_retries(method, url, body, idempotent)

    async def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None
    ) -> Mapping[str, Any]:
        """POST a GraphQL document to the base URL; returns its `data`."""
        reply = await self.request("POST", "", json={"query": query, "variables": variables or {}})
        return (reply or {}).get("data") or {}

    async def _with_retries(self, method: str, url: httpx.URL, body: bytes, idempotent: bool) -> Any:
        policy = self._retry
        started: float | None = None
        attempt = 0
        while True:
            attempt += 1
            if self._bucket is not None:
                await self._bucket.acquire()
            started = time.monotonic() if started is None else started
            remaining = policy.total_seconds - (time.monotonic() - started)
            try:
                return await self._attempt(method, url, body, max(remaining, 0.05))
            except ServiceError as exc:
                elapsed = time.monotonic() - started
                delay = self._next_delay(exc, attempt, elapsed, idempotent)
                if delay is None:
                    if attempt > 1:
                        exc.exhausted(attempt, elapsed)
                        self._log.warning("%s", exc)
                    raise
                self._log.info(
                    "%s; retrying in %.1fs (attempt %d/%d)",
                    self._who(exc.detail), delay, attempt + 1, policy.attempts,
                )
                await asyncio.sleep(delay)

    def _next_delay(
        self, exc: ServiceError, attempt: int, elapsed: float, idempotent: bool
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if not exc.retryable:
            return None
        # A rate-limit answer means the service is healthy and asks us to slow
        # down: it is bounded by the time budget, not by the attempt count.
        if attempt >= self._retry.attempts and not isinstance(exc, RateLimitedError):
            return None
        never_sent = isinstance(exc, RateLimitedError) or exc.code == "not-connected"
        if not idempotent and not never_sent:
            return None
        delay = self._retry.backoff(attempt, exc.retry_after)
        if elapsed + delay >= self._retry.total_seconds:
            return None
        return delay

    async def _attempt(self, method: str, url: httpx.URL, body: bytes, budget: float) -> Any:
        """One attempt; with a renewing token (TikTok), one refresh and resend on `105002`
        (or on an invalid configured access token: see TokenSession.may_cure)."""
        session = getattr(self._auth, "session", None)
        if session is None:
            return await self._send_once(method, url, body, budget)
        generation = await session.ready()
        try:
            return await self._send_once(method, url, body, budget)
        except AuthError as exc:
            if not session.may_cure(exc, generation):
                raise
            self._log.info("%s; refreshing the access token once", self._who(exc.detail))
            await session.renew(generation)
            return await self._send_once(method, url, body, budget)

    async def _send_once(self, method: str, url: httpx.URL, body: bytes, budget: float) -> Any:
        timeout = min(self._retry.timeout, budget)
        request = self._http.build(method, url, body, timeout)
        what = f"{method} {url.path}"
        try:
            if self._http.keeps_deadlines:  # the transport ends the whole request by then itself
                deadline = asyncio.get_running_loop().time() + timeout
                request.extensions = {**request.extensions, "deadline": deadline}
                response = await self._http.send(request, self._auth)
            else:
                async with asyncio.timeout(timeout):
                    response = await self._http.send(request, self._auth)
        except (TimeoutError, httpx.TimeoutException) as exc:
            code = "not-connected" if isinstance(exc, _NEVER_SENT) else "timeout"
            raise NetworkError(self.service, f"{what} timed out after {timeout:.1f}s",
                               self.merchant, code=code) from None
        except httpx.TransportError as exc:
            code = "not-connected" if isinstance(exc, _NEVER_SENT) else "transport"
            raise NetworkError(self.service, f"{what} failed: {type(exc).__name__}: {scrub(str(exc))}",
                               self.merchant, code=code) from None
        if self._log.isEnabledFor(logging.INFO):  # RECONCILER_LOG=info: one line per request
            self._log.info("%s -> HTTP %d", self._who(what), response.status_code)
        if self.notices is not None and DEPRECATED_REASON in response.headers:
            self.notices.add(deprecation_notice(self.service, response.headers, url.path))
        return decode(self.service, response, what=what, merchant=self.merchant)

    def _who(self, detail: str) -> str:
        who = f"{self.service} (merchant {self.merchant})" if self.merchant else self.service
        return f"{who} {detail}"
