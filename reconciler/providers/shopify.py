"""Shopify: the store of record. Read only: this product writes nothing to Shopify.

Wire contract: docs/providers/shopify.md (all published: Admin GraphQL,
version `SHOPIFY_API_VERSION`). A plan costs one request, `ReconcilerShop`,
read even when no Shopify setting is declared because its facts gate other
changes: whether the shop answers our token (`shopify.shop_found`), which
scopes the app holds (`shopify.access_scopes`; `verify` needs `read_orders`)
and whether TikTok's own sales channel is installed (`shopify.tiktok_channel`,
from `publications`, scope `read_publications`). Without that scope Shopify
denies `publications` and, the field being non-null, the whole answer: the
provider then asks once more without it (`ReconcilerShopBasic`) and the fact
is None (unknown), which the plan turns into a manual action.
The same answer proves the token is this merchant's: `shop.myshopifyDomain`
must be the merchant's `shopify.shop`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.http.client import ServiceClient
from reconciler.http.errors import AuthError, NotFoundError, OwnershipError, ValidationError
from reconciler.http.readonly import register_read_queries
from reconciler.model import Change, DesiredState, ServiceSnapshot
from reconciler.providers.base import Provider

SHOP_QUERY = """
query ReconcilerShop {
  shop { id name myshopifyDomain }
  currentAppInstallation { accessScopes { handle } }
  publications(first: 25, catalogType: APP) { nodes { id catalog { title } } }
}
"""

SHOP_BASIC_QUERY = """
query ReconcilerShopBasic {
  shop { id name myshopifyDomain }
  currentAppInstallation { accessScopes { handle } }
}
"""

ORDERS_QUERY = """
query ReconcilerOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { id name createdAt sourceName tags app { name } shippingAddress { zip } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
register_read_queries(SHOP_QUERY, SHOP_BASIC_QUERY, ORDERS_QUERY)  # sent on every plan; proven query-only by tests

MAX_PAGE = 250  # Shopify's largest page
PUBLICATIONS_SCOPE = "read_publications"
# Titles of TikTok's own sales channel app as its publication's catalog shows it.
TIKTOK_CHANNEL_TITLES = frozenset({"tiktok", "tiktok shop"})


@dataclass(frozen=True)
class ShopifyOrder:
    id: str
    name: str  # "#1001"
    created_at: str
    source_name: str | None
    app_name: str | None  # the sales channel app that created it
    zip: str | None
    tags: tuple[str, ...]


class ShopifyProvider(Provider):
    service = "shopify"

    def __init__(self, client: ServiceClient, merchant: DesiredState) -> None:
        self._client = client
        self._merchant = merchant

    async def read(self) -> ServiceSnapshot:
        try:
            data = await self._shop()
        except NotFoundError:
            data = {}  # no such shop at this domain
        self._check_owner(data.get("shop") or {})
        installation = data.get("currentAppInstallation") or {}
        scopes = tuple(
            sorted(s["handle"] for s in installation.get("accessScopes") or [] if s.get("handle"))
        )
        facts: dict[str, Any] = {
            "shopify.shop_found": bool(data.get("shop")),
            "shopify.access_scopes": scopes,
            "shopify.tiktok_channel": _tiktok_channel(data),
        }
        return ServiceSnapshot(self.service, {}, facts, proven=("shopify.admin_graphql",))

    async def _shop(self) -> Mapping[str, Any]:
        """The shop, our scopes and the sales channels: one request, two without read_publications."""
        try:
            return await self._client.graphql(SHOP_QUERY)
        except AuthError as exc:
            if exc.code != "ACCESS_DENIED" or PUBLICATIONS_SCOPE not in str(exc):
                raise
        return await self._client.graphql(SHOP_BASIC_QUERY)

    def _check_owner(self, shop: dict[str, Any]) -> None:
        """The token answers for the merchant's shop, as Shopify names it (`myshopifyDomain`)."""
        domain = str(shop.get("myshopifyDomain") or "").strip().lower()
        if shop and domain != self._merchant.shopify_shop.strip().lower():
            raise OwnershipError(
                self.service, f"the access token answers for shop {domain or '(unnamed)'}, not "
                f"{self._merchant.shopify_shop}; set this merchant's own token", self._merchant.slug)

    async def apply(self, change: Change, desired: DesiredState) -> None:
        raise ValidationError(
            self.service, f"{change.address}: nothing on Shopify is managed by this product", desired.slug
        )

    async def orders(self, query: str | None = None, first: int = 50) -> list[ShopifyOrder]:
        """Up to `first` orders matching Shopify search `query`, newest first, across pages."""
        found: list[ShopifyOrder] = []
        after: str | None = None
        while len(found) < first:
            variables = {"first": min(MAX_PAGE, first - len(found)), "after": after, "query": query}
            page = (await self._client.graphql(ORDERS_QUERY, variables)).get("orders") or {}
            found.extend(_order(node) for node in page.get("nodes") or [])
            info = page.get("pageInfo") or {}
            after = info.get("endCursor")
            if not info.get("hasNextPage") or not after:
                break
        return found[:first]


def _tiktok_channel(data: Mapping[str, Any]) -> bool | None:
    """Whether TikTok's own sales channel has a publication; None when it cannot be seen."""
    if "publications" not in data:
        return None
    nodes = (data.get("publications") or {}).get("nodes") or []
    titles = {str((n.get("catalog") or {}).get("title", "")).strip().lower() for n in nodes if n}
    return bool(titles & TIKTOK_CHANNEL_TITLES)


def _order(node: dict[str, Any]) -> ShopifyOrder:
    return ShopifyOrder(
        id=str(node.get("id", "")),
        name=str(node.get("name", "")),
        created_at=str(node.get("createdAt", "")),
        source_name=node.get("sourceName"),
        app_name=(node.get("app") or {}).get("name"),
        zip=(node.get("shippingAddress") or {}).get("zip"),
        tags=tuple(node.get("tags") or ()),
    )
