"""Which Admin API version answers a request, and what Shopify says when it is not the one asked for.

Shopify releases a version every quarter (`YYYY-01`, `-04`, `-07`, `-10`)
and supports each for 12 months; a request for a version no longer supported
is served by the oldest supported one ("falls forward"), the answer names the
version that served it in `X-Shopify-API-Version` and carries
`X-Shopify-API-Deprecated-Reason` (shopify.dev, "About Shopify API
versioning"). Since 2025-04 the header lists the deprecated fields a query
selected, `Shop.products, Shop.productVariants` (shopify.dev changelog
"The X-Shopify-API-Deprecated-Reason HTTP header will return actual GraphQL
deprecations if any").

The sandbox has one schema, the pinned version's, and serves every version
with it; only the headers tell the versions apart.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

VERSION_HEADER = "X-Shopify-API-Version"
DEPRECATED_HEADER = "X-Shopify-API-Deprecated-Reason"
VERSIONING_PAGE = "https://shopify.dev/api/usage/versioning#deprecation-practices"
UNSUPPORTED_SCENARIO = "shopify-version-unsupported"
SUPPORT_MONTHS = 12
_VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")


def is_version(text: str) -> bool:
    return bool(_VERSION.match(text)) or text == "unstable"


def _months(version: str) -> int:
    year, month = version.split("-")
    return int(year) * 12 + int(month) - 1


def _name(months: int) -> str:
    return f"{months // 12:04d}-{months % 12 + 1:02d}"


def oldest_supported(now: float | None = None) -> str:
    """The oldest version still inside its support window at `now`."""
    today = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    current = today.year * 12 + (today.month - 1) // 3 * 3  # this quarter's release
    return _name(current - SUPPORT_MONTHS + 3)


def serving_version(requested: str, *, expired: bool = False, now: float | None = None) -> str:
    """The version that answers a request for `requested`.

    `expired` plays the request as made after `requested` left its window
    (the `shopify-version-unsupported` scenario): served by the next release.
    """
    if requested == "unstable":
        return requested
    oldest = oldest_supported(now)
    if expired:
        return _name(max(_months(requested) + 3, _months(oldest)))
    return oldest if _months(requested) < _months(oldest) else requested


def deprecation_headers(requested: str, served: str, deprecated_fields: tuple[str, ...]) -> dict[str, str]:
    """The version headers of an answer: the serving version, and why it is not the one asked for."""
    headers = {VERSION_HEADER: served}
    if served != requested:
        headers[DEPRECATED_HEADER] = VERSIONING_PAGE
    elif deprecated_fields:
        headers[DEPRECATED_HEADER] = ", ".join(deprecated_fields)
    return headers

