"""The day every test's sandbox lives in: inside the pinned Shopify version's support window.

Shopify supports an Admin API version for 12 months from its release; the
sandbox follows its calendar (reconciler/sandbox/clock.py). Pinning the day two
months after the pinned version's release keeps the suite's sandboxes from
falling forward to a newer version (and warning) once the real calendar
passes the window. Tests that need another day set RECONCILER_SANDBOX_CLOCK
themselves.
"""

from __future__ import annotations

from reconciler.sandbox.clock import CLOCK_ENV
from reconciler.targets import SHOPIFY_API_VERSION


def months_after(version: str, months: int) -> str:
    """The first day `months` after `version`'s release month, as an ISO date."""
    year, month = (int(part) for part in version.split("-"))
    total = year * 12 + month - 1 + months
    return f"{total // 12:04d}-{total % 12 + 1:02d}-01"


TEST_DAY = months_after(SHOPIFY_API_VERSION, 2)
PINNED = {CLOCK_ENV: TEST_DAY}
