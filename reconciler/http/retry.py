"""Retry policy: exponential backoff with full jitter, inside a bounded budget.

The budget bounds both the number of attempts and the seconds spent between
the first attempt and giving up, so a service that never recovers fails the
call in bounded time instead of hanging a fleet plan. Time spent queueing
for the client-side rate limiter is not counted: it is our own pacing, not
the service failing.
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries, including the first
    total_seconds: float = 30.0  # from the first attempt to the last give-up
    base_delay: float = 0.2  # first backoff cap; doubles per attempt
    max_delay: float = 10.0  # cap on one backoff (and on an honored Retry-After)
    timeout: float = 15.0  # one attempt, connect to last byte
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """The default policy, with the budget tuned by operators (or CI) through the environment.

        `RECONCILER_HTTP_TIMEOUT` (seconds per attempt), `RECONCILER_RETRY_ATTEMPTS`
        and `RECONCILER_RETRY_SECONDS` (the whole budget). Values that are not
        positive numbers are ignored: the budget can be tuned, never unbounded.
        """
        env = os.environ if environ is None else environ
        tuned: dict[str, Any] = {}  # field name -> its float or int value
        for var, name, kind in _ENV_KNOBS:
            value = _positive(env.get(var), kind)
            if value is not None:
                tuned[name] = value
        return cls(**tuned)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        A server's own hint (Retry-After, Shopify's throttle status) says
        when to come back: wait that long plus a little jitter, so a throttled
        fleet keeps retrying at the service's pace instead of backing off
        ever longer. Without a hint, exponential backoff with full jitter.
        """
        if retry_after is not None:
            return min(retry_after + self.rng.uniform(0, self.base_delay), self.max_delay)
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return self.rng.uniform(0, cap)


_ENV_KNOBS = (
    ("RECONCILER_HTTP_TIMEOUT", "timeout", float),
    ("RECONCILER_RETRY_ATTEMPTS", "attempts", int),
    ("RECONCILER_RETRY_SECONDS", "total_seconds", float),
)


def _positive(text: str | None, kind: type) -> float | int | None:
    try:
        value = kind(text) if text else None
    except ValueError:
        return None
    return value if value is not None and 0 < value < float("inf") else None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
