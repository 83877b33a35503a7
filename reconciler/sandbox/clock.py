"""The sandbox's calendar: what day it is for date-bound rules (Shopify's version support window).

Real time by default, so a served or embedded sandbox ages a pinned Shopify
version out of support exactly when Shopify would. `RECONCILER_SANDBOX_CLOCK`
(an ISO 8601 date or time, UTC when no offset is given; sandbox only) fixes
the day instead: tests pin it so that they do not start failing when the
calendar moves past the pinned version's window, and set it past the window
to see the product warn. Token lifetimes are durations and keep real time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

CLOCK_ENV = "RECONCILER_SANDBOX_CLOCK"

Clock = Callable[[], float]


def fixed(moment: datetime) -> Clock:
    at = moment.timestamp()
    return lambda: at


def clock_from_env(environ: Mapping[str, str] | None = None) -> Clock:
    """The clock `RECONCILER_SANDBOX_CLOCK` fixes, or real time; ValueError if unreadable."""
    text = (os.environ if environ is None else environ).get(CLOCK_ENV, "").strip()
    if not text:
        return time.time
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{CLOCK_ENV}={text!r} is not an ISO 8601 date or time "
                         "(e.g. 2027-10-15 or 2027-10-15T09:00:00Z)") from None
    return fixed(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
