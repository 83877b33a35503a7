"""Shopify: the store of record. Read only: this product writes nothing to Shopify.

Wire contract: docs/providers/shopify.md (all published: Admin GraphQL).
A plan costs one request, `ReconcilerShop`, read even when no Shopify
setting is declared because its facts gate other changes: whether the shop
answers our token (`shopify.shop_found`) and which scopes the app holds
(`shopify.access_scopes`; `verify` needs `read_orders`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.http.client import ServiceClient
from reconciler.http.errors import NotFoundError, ValidationError
from reconciler.http.readonly import register_read_queries
from reconciler.model import Change, DesiredState, ServiceSnapshot
from reconciler.providers.base import Provider

SHOP_QUERY = """
query ReconcilerShop {
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
register_read_queries(SHOP_QUERY, ORDERS_QUERY)  # sent on every plan; proven query-only by tests

MAX_PAGE = 250  # Shopify's largest page


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
            data = await self._client.graphql(SHOP_QUERY)
        except NotFoundError:
            data = {}  # no such shop at this domain
        installation = data.get("currentAppInstallation") or {}
        scopes = tuple(
            sorted(s["handle"] for s in installation.get("accessScopes") or [] if s.get("handle"))
        )
        facts: dict[str, Any] = {
            "shopify.shop_found": bool(data.get("shop")),
            "shopify.access_scopes": scopes,
        }
        return ServiceSnapshot(self.service, {}, facts)

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
