"""Client-side rate limits: one async token bucket per service and credential.

Limits are per credential because that is how services count (Loop: per
API key; Shopify: per app and store; TikTok and Pipe17 publish nothing and
are assumed per token/key). A fleet of merchants with their own keys then
runs in parallel, while merchants sharing a key share its budget.

Defaults (requests per second, burst):

    loop          4.83/s, burst 10   never more than 300 in any 60 s window (published limit)
    shopify       20/s,   burst 20   a shop-read query costs ~2 of 100 points restored per second
    pipe17        10/s,   burst 20   unpublished; conservative
    tiktok_shop   10/s,   burst 20   unpublished; conservative
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: int


DEFAULT_RATE_LIMITS: Mapping[str, RateLimit] = {
    # burst + rate * 60 <= 300: the published 300/minute holds over any window.
    "loop": RateLimit(per_second=290 / 60, burst=10),
    "shopify": RateLimit(per_second=20.0, burst=20),
    "pipe17": RateLimit(per_second=10.0, burst=20),
    "tiktok_shop": RateLimit(per_second=10.0, burst=20),
}


class TokenBucket:
    """An async token bucket. Waiters are served in arrival order."""

    def __init__(self, limit: RateLimit) -> None:
        self._rate = limit.per_second
        self._capacity = float(limit.burst)
        self._tokens = float(limit.burst)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    async def acquire(self) -> None:
        if not self._lock.locked():  # nobody waiting: take a token without queueing
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                return
        # Holding the lock while sleeping keeps the queue fair (first come, first served).
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self._rate)
                self._refill()
            self._tokens -= 1


class RateLimiters:
    """Buckets keyed by (service, credential fingerprint), created on first use."""

    def __init__(self, limits: Mapping[str, RateLimit] | None = None) -> None:
        self._limits = {**DEFAULT_RATE_LIMITS, **(limits or {})}
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def bucket(self, service: str, key: str) -> TokenBucket:
        found = self._buckets.get((service, key))
        if found is None:
            found = self._buckets[(service, key)] = TokenBucket(self._limits[service])
        return found
