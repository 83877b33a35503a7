"""Loop Returns: the portal's lookup method and instructions; verify-time deep links and returns.

Wire contract: docs/providers/loop.md. Published: key header, `POST
/order/link` (deep link: an opaque `{"url"}`; "order not found" is HTTP 400
`{"errors": [..]}`), `GET /warehouse/return/list` (`from`/`to` date-times).
Assumed (no public API): the portal settings resource (`PORTAL_PATH`; fields
from the declarations of contract `loop.portal_settings`). When Loop answers
that it has no such endpoint, the read reports the contract unavailable and
the plan turns the settings into a manual action.

A plan costs one request (`GET /portal/settings`), whose `shop_domain`
proves the key is this merchant's (its Shopify shop); a change is one PATCH
of one field. Loop allows 300 requests per minute per key; the client-side
limit keeps under it (reconciler/http/ratelimit.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from reconciler.declarations import normalize_text, settings_of
from reconciler.http.client import ServiceClient
from reconciler.http.errors import ValidationError
from reconciler.model import Change, DesiredState, ServiceSnapshot
from reconciler.providers.base import Provider
from reconciler.providers.ownership import require_shop

PORTAL = "loop.portal_settings"  # assumed contract
PORTAL_PATH = "/portal/settings"
# Who the key is for (assumed contract): the portal settings name the Shopify shop the
# Loop account serves (Loop is a Shopify app: one account, one shop).
OWNER_FIELD = "shop_domain"
LINK_PATH = "/order/link"
RETURNS_PATH = "/warehouse/return/list"
# address -> portal settings field on the wire (assumed contract)
_FIELDS = {s.address: s.wire for s in settings_of(PORTAL)}
__all__ = ["LoopProvider", "LoopReturn", "normalize_text"]
DATETIME = "%Y-%m-%d %H:%M:%S"  # the returns list's `from`/`to` form, e.g. 2022-01-01 00:00:00


@dataclass(frozen=True)
class LoopReturn:
    id: str
    order_name: str
    state: str
    refund: Any


def _datetime(when: datetime) -> str:
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.strftime(DATETIME)


class LoopProvider(Provider):
    service = "loop"

    def __init__(self, client: ServiceClient, merchant: DesiredState) -> None:
        self._client = client
        self._merchant = merchant

    async def read(self) -> ServiceSnapshot:
        portal, unavailable = await self.read_assumed(
            PORTAL, lambda: self._client.request("GET", PORTAL_PATH))
        if unavailable is not None:
            # Nothing is written to Loop then (the engine writes only through proven
            # contracts), so the key's owner need not be proven from this answer.
            return ServiceSnapshot(self.service, {}, {"loop.portal_domain": ""},
                                   unavailable=(unavailable,))
        require_shop(self.service, self._merchant, portal.get(OWNER_FIELD), label="API key")
        settings = {
            address: self.normalize(address, portal[field])
            for address, field in _FIELDS.items()
            if portal.get(field) is not None
        }
        facts = {"loop.portal_domain": str(portal.get("portal_domain") or "")}
        return ServiceSnapshot(self.service, settings, facts, proven=(PORTAL,))

    async def apply(self, change: Change, desired: DesiredState) -> None:
        """PATCH one field to its desired value."""
        field = _FIELDS.get(change.address)
        if field is None:
            raise ValidationError(self.service, f"no writable setting at {change.address}", desired.slug)
        value = self.normalize(change.address, desired.settings.get(change.address))
        await self._client.request("PATCH", PORTAL_PATH, json={field: value})

    async def order_link(self, name: str, zip_code: str) -> str | None:
        """The portal deep link (opaque) for an order found by number and zip, or None if Loop finds none.

        Loop answers "not found" with HTTP 400 `{"errors": [..]}`; any other
        400 (or a 404: no such endpoint) is an error.
        """
        try:
            reply = await self._client.request("POST", LINK_PATH, json={"name": name, "zip": zip_code})
        except ValidationError as exc:
            if exc.status == 400 and "not found" in exc.detail.lower():
                return None
            raise
        url = (reply or {}).get("url") if isinstance(reply, dict) else None
        return str(url) if url else None

    async def returns(self, since: datetime | None = None, until: datetime | None = None) -> list[LoopReturn]:
        """Returns created in [since, until], sent as Loop's date-times (`2022-01-01 00:00:00`, UTC)."""
        params = {k: _datetime(v) for k, v in (("from", since), ("to", until)) if v is not None}
        reply = await self._client.request("GET", RETURNS_PATH, params=params) or []
        rows = reply.get("returns", []) if isinstance(reply, dict) else reply
        return [
            LoopReturn(
                id=str(r.get("id", "")),
                order_name=str(r.get("order_name", "")),
                state=str(r.get("state", "")),
                refund=r.get("refund"),
            )
            for r in rows
        ]
