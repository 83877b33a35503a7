"""A per-run cache of values that are stable for the length of one command.

Single-flight: concurrent merchants asking for the same key share one
request (a fleet of shops behind one TikTok seller token reads the shop list
once). Failures are not cached, so the next caller tries again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


def fingerprint(secret: str) -> str:
    """A stable, non-reversible key for a credential (never the value itself)."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class RunCache:
    def __init__(self) -> None:
        self._entries: dict[Hashable, asyncio.Future[Any]] = {}

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[Any]]) -> Any:
        future = self._entries.get(key)
        if future is None:
            future = asyncio.ensure_future(fetch())
            self._entries[key] = future
        try:
            # shield: one cancelled waiter must not cancel the fetch others await.
            return await asyncio.shield(future)
        except BaseException:
            if future.done() and (future.cancelled() or future.exception() is not None):
                self._entries.pop(key, None)
            raise
