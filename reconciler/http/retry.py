"""Retry policy: exponential backoff with full jitter, inside a bounded budget.

The budget bounds both the number of attempts and the seconds spent between
the first attempt and giving up, so a service that never recovers fails the
call in bounded time instead of hanging a fleet plan. Time spent queueing
for the client-side rate limiter is not counted: it is our own pacing, not
the service failing.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # total tries, including the first
    total_seconds: float = 30.0  # from the first attempt to the last give-up
    base_delay: float = 0.2  # first backoff cap; doubles per attempt
    max_delay: float = 10.0  # cap on one backoff (and on an honored Retry-After)
    timeout: float = 15.0  # one attempt, connect to last byte
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        Full jitter spreads a fleet's retries; a server's own hint
        (Retry-After, Shopify's throttle status) is a floor, not a suggestion.
        """
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        delay = self.rng.uniform(0, cap)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_delay))
        return delay


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
