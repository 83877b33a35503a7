"""Server-side rate limits: fixed windows per key, and Shopify's leaky bucket."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Limits:
    """Rate limits the sandbox enforces. Loop's is published; the others are assumed."""

    tiktok_per_second: int = 50  # per app_key + shop
    pipe17_per_second: int = 100  # per key
    loop_per_minute: int = 300  # per key (published)
    shopify_bucket_size: int = 1000  # maximumAvailable per shop
    shopify_restore_rate: int = 100  # points per second (Standard plan)

    def update(self, payload: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for key, value in payload.items():
            if key not in known or not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"limit {key!r} must be one of {sorted(known)} with an integer >= 1")
        for key, value in payload.items():
            setattr(self, key, value)

    def to_json(self) -> dict[str, int]:
        return asdict(self)


class SlidingWindow:
    """At most `limit` events per `period` seconds per key."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str, limit: int, period: float) -> tuple[bool, float]:
        """Record an event if allowed; else return (False, seconds until a slot frees)."""
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - period:
            events.popleft()
        if len(events) >= limit:
            return False, max(0.0, events[0] + period - now)
        events.append(now)
        return True, 0.0

    def clear(self) -> None:
        self._events.clear()


class LeakyBucket:
    """Shopify's cost bucket for one shop: spend points, restore at a fixed rate."""

    def __init__(self, size: int, restore_rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.restore_rate = restore_rate
        self._clock = clock
        self._available = float(size)
        self._at = clock()

    def available(self) -> float:
        now = self._clock()
        self._available = min(self.size, self._available + (now - self._at) * self.restore_rate)
        self._at = now
        return self._available

    def take(self, cost: int) -> bool:
        if self.available() < cost:
            return False
        self._available -= cost
        return True

    def give_back(self, points: int) -> None:
        self._available = min(self.size, self.available() + points)

    def drain_to(self, points: float) -> None:
        self.available()
        self._available = max(0.0, min(self._available, points))

    def status(self) -> dict[str, Any]:
        return {
            "maximumAvailable": float(self.size),
            "currentlyAvailable": int(self.available()),
            "restoreRate": float(self.restore_rate),
        }


@dataclass
class TokenPolicy:
    """Lifetimes in seconds; TikTok's access tokens last about 7 days."""

    access_token_lifetime: int = 7 * 86_400
    refresh_token_lifetime: int = 365 * 86_400
    rotate_refresh_tokens: bool = False

    def update(self, payload: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in payload.items():
            if name not in known:
                raise ValueError(f"unknown token policy setting {name!r}")
            if name == "rotate_refresh_tokens":
                if not isinstance(value, bool):
                    raise ValueError("rotate_refresh_tokens must be true or false")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive number of seconds")
            setattr(self, name, value)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
