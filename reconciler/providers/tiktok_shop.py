"""TikTok Shop: shop authorization, the Return Proxy settings, and verify-time order reads.

Wire contract: docs/providers/tiktok_shop.md. Published: authorized shops
(and the shop cipher), orders search, returns search. Assumed (no public
API): the Return Proxy resource, isolated in `RETURN_PROXY_PATH` (fields
from the declarations of contract `tiktok_shop.return_proxy`), so pointing
at a real endpoint later is a change here only. When TikTok answers that it
has no such path, the read reports the contract unavailable.

A plan costs one request when the shop list is already cached for this run
(`GET /authorization/202309/shops`, once per seller token) plus one Return
Proxy read; a shop that is not authorized costs nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.declarations import settings_of
from reconciler.http.cache import RunCache
from reconciler.http.client import ServiceClient
from reconciler.http.errors import OwnershipError, ValidationError
from reconciler.model import Change, DesiredState, ServiceSnapshot
from reconciler.providers.base import Provider

SHOPS_PATH = "/authorization/202309/shops"
RETURN_PROXY = "tiktok_shop.return_proxy"  # assumed contract
RETURN_PROXY_PATH = "/return_refund/202309/return_proxy"
ORDERS_SEARCH_PATH = "/order/202309/orders/search"
RETURNS_SEARCH_PATH = "/return_refund/202309/returns/search"
PAGE_SIZE = 50

# address -> Return Proxy field on the wire (assumed contract).
_FIELDS = {s.address: s.wire for s in settings_of(RETURN_PROXY)}


@dataclass(frozen=True)
class TikTokOrder:
    id: str
    status: str
    create_time: int
    postal_code: str | None


@dataclass(frozen=True)
class TikTokReturn:
    return_id: str
    order_id: str
    status: str
    refund_total: str | None  # `refund_amount.refund_total`, a decimal string
    currency: str | None = None


class TikTokShopProvider(Provider):
    service = "tiktok_shop"

    def __init__(
        self, client: ServiceClient, merchant: DesiredState, cache: RunCache, credential_id: str
    ) -> None:
        """`credential_id` fingerprints (app key, access token): the shop list's cache key."""
        self._client = client
        self._merchant = merchant
        self._cache = cache
        self._shops_key = ("tiktok_shop.shops", credential_id)

    @staticmethod
    def _wire(address: str, value: Any) -> Any:
        if address == "tiktok_shop.return_proxy.partner" and value is not None:
            return str(value).strip().upper()
        return value

    async def shop_cipher(self) -> str | None:
        """The cipher of the merchant's shop, or None if the seller has not authorized it.

        Ownership: a token that is authorized for shops, none of them this
        merchant's, belongs to another seller; that is an error, not a
        missing authorization, so nothing is ever written with it.
        """
        shops = await self._cache.get(self._shops_key, self._fetch_shops)
        cipher = shops.get(self._merchant.tiktok_shop_id)
        if cipher is None and shops:
            raise OwnershipError(
                self.service, f"the access token is authorized for {len(shops)} other shop(s), not "
                f"for shop {self._merchant.tiktok_shop_id}; set this merchant's own token",
                self._merchant.slug)
        return cipher

    async def _fetch_shops(self) -> Mapping[str, str]:
        reply = await self._client.request("GET", SHOPS_PATH)
        shops = (reply.get("data") or {}).get("shops") or []
        return {str(s["id"]): s["cipher"] for s in shops if s.get("cipher")}

    async def read(self) -> ServiceSnapshot:
        cipher = await self.shop_cipher()
        facts: dict[str, Any] = {
            "tiktok_shop.authorized": cipher is not None,
            "tiktok_shop.return_proxy.installed": False,
        }
        settings: dict[str, Any] = {}
        if cipher is None:
            return ServiceSnapshot(self.service, settings, facts, proven=("tiktok_shop.authorization",))
        proxy, unavailable = await self.read_assumed(RETURN_PROXY, lambda: self._read_proxy(cipher))
        if unavailable is not None:
            # Unknown, not false: no manual step is asked for on the strength of a missing endpoint.
            facts["tiktok_shop.return_proxy.installed"] = None
            return ServiceSnapshot(self.service, settings, facts, proven=("tiktok_shop.authorization",),
                                   unavailable=(unavailable,))
        facts["tiktok_shop.return_proxy.installed"] = bool(proxy.get("installed"))
        for address, field in _FIELDS.items():
            if proxy.get(field) is not None:
                settings[address] = self.normalize(address, proxy[field])
        return ServiceSnapshot(self.service, settings, facts,
                               proven=("tiktok_shop.authorization", RETURN_PROXY))

    async def _read_proxy(self, cipher: str) -> Any:
        reply = await self._client.request("GET", RETURN_PROXY_PATH, params={"shop_cipher": cipher})
        return reply.get("data")

    async def apply(self, change: Change, desired: DesiredState) -> None:
        """PUT only the changed Return Proxy field; a delete clears it (null)."""
        field = _FIELDS.get(change.address)
        if field is None:
            raise ValidationError(self.service, f"no writable setting at {change.address}", desired.slug)
        cipher = await self.shop_cipher()
        if cipher is None:
            raise ValidationError(
                self.service, f"shop {desired.tiktok_shop_id} is not authorized for the app", desired.slug
            )
        value = desired.settings.get(change.address)
        body = {field: self._wire(change.address, value)}
        await self._client.request("PUT", RETURN_PROXY_PATH, params={"shop_cipher": cipher}, json=body)

    async def search_orders(self, since: int) -> list[TikTokOrder]:
        """Orders created at or after `since` (Unix seconds), every page."""
        rows = await self._search(ORDERS_SEARCH_PATH, {"create_time_ge": since}, "orders")
        return [
            TikTokOrder(
                id=str(o["id"]),
                status=str(o.get("status", "")),
                create_time=int(o.get("create_time") or 0),
                postal_code=(o.get("recipient_address") or {}).get("postal_code"),
            )
            for o in rows
        ]

    async def search_returns(self, order_ids: Sequence[str]) -> list[TikTokReturn]:
        """Returns and refunds of the given orders, every page."""
        if not order_ids:
            return []
        rows = await self._search(RETURNS_SEARCH_PATH, {"order_ids": list(order_ids)}, "return_orders")
        return [self._return(r) for r in rows]

    @staticmethod
    def _return(row: Mapping[str, Any]) -> TikTokReturn:
        # The refund sits in `refund_amount {refund_total, currency}` (Search Returns 202309).
        refund = row.get("refund_amount") or {}
        total = refund.get("refund_total") if isinstance(refund, Mapping) else None
        currency = refund.get("currency") if isinstance(refund, Mapping) else None
        return TikTokReturn(
            return_id=str(row["return_id"]),
            order_id=str(row.get("order_id", "")),
            status=str(row.get("return_status", "")),
            refund_total=None if total is None else str(total),
            currency=None if currency is None else str(currency),
        )

    async def _search(self, path: str, body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        cipher = await self.shop_cipher()
        if cipher is None:
            return []
        rows: list[Mapping[str, Any]] = []
        token = ""
        while True:
            params: dict[str, str | int] = {"shop_cipher": cipher, "page_size": PAGE_SIZE}
            if token:
                params["page_token"] = token
            data = (await self._client.request("POST", path, params=params, json=body)).get("data") or {}
            rows.extend(data.get(key) or [])
            token = data.get("next_page_token") or ""
            if not token:
                return rows
