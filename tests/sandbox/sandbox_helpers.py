"""Helpers for the sandbox tests: merchants built directly as DesiredState, a wire-speaking client."""

from __future__ import annotations

import json
from typing import Any

import httpx

from reconciler.model import Credentials, DesiredState, H5Redirect, SecretRef
from reconciler.sandbox import Emulator
from reconciler.sandbox.seed import credentials_of, digits
from reconciler.sandbox.tiktok_sign import signed_query
from reconciler.targets import SHOPIFY_API_VERSION

BASE = "http://sandbox.local"
SHOPIFY_PATH = "/shopify/{shop}/admin/api/" + SHOPIFY_API_VERSION + "/graphql.json"
ORDERS_QUERY = """
query ReconcilerOrders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: CREATED_AT, reverse: true) {
    nodes { id name createdAt sourceName tags app { name } shippingAddress { zip } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
def tiktok_channel_published(record: dict[str, Any]) -> bool:
    """Whether the merchant's Shopify shop has a publication of TikTok's own sales channel."""
    return any(p["catalog"]["title"] == "TikTok" for p in record["shopify"]["publications"])


SHOP_QUERY = """
query ReconcilerShop {
  shop { id name myshopifyDomain }
  currentAppInstallation { accessScopes { handle } }
}
"""


def make_merchant(slug: str = "acme-apparel", **overrides: Any) -> DesiredState:
    var = "SBXTEST_" + slug.upper().replace("-", "_")
    fields: dict[str, Any] = {
        "slug": slug,
        "source": f"merchants/{slug}.yaml",
        "shopify_shop": f"{slug}.myshopify.com",
        "tiktok_shop_id": digits(f"shop-id:{slug}", 19),
        "tiktok_region": "US",
        "loop_portal_domain": f"returns.{slug}.example",
        "credentials": Credentials(
            tiktok_app_key=SecretRef("SBXTEST_TIKTOK_APP_KEY"),
            tiktok_app_secret=SecretRef("SBXTEST_TIKTOK_APP_SECRET"),
            tiktok_access_token=SecretRef(var + "_TIKTOK_TOKEN"),
            shopify_access_token=SecretRef(var + "_SHOPIFY_TOKEN"),
            pipe17_api_key=SecretRef(var + "_PIPE17_KEY"),
            loop_api_key=SecretRef(var + "_LOOP_KEY"),
        ),
        "h5_redirect": H5Redirect(approved=True, evidence="ticket 1"),
        "settings": {},
    }
    fields.update(overrides)
    return DesiredState(**fields)


class Sandbox:
    """A client for one app, speaking each service's wire contract for a merchant."""

    def __init__(self, client: httpx.AsyncClient, emulator: Emulator) -> None:
        self.client = client
        self.emulator = emulator

    def record(self, merchant: DesiredState) -> dict[str, Any]:
        return self.emulator.merchants[merchant.slug]

    async def tiktok(self, merchant: DesiredState, method: str, path: str, *,
                     params: dict[str, str] | None = None, body: Any = None, shop: bool = True,
                     secret: str | None = None, token: str | None = None) -> httpx.Response:
        creds = credentials_of(merchant)
        query = dict(params or {})
        if shop:
            query["shop_cipher"] = self.record(merchant)["tiktok_shop"]["shop"]["cipher"]
        raw = json.dumps(body).encode() if body is not None else b""
        signed = signed_query(creds["tiktok_app_key"], secret or creds["tiktok_app_secret"], path, query, raw)
        headers = {"x-tts-access-token": token or creds["tiktok_access_token"],
                   "content-type": "application/json"}
        return await self.client.request(method, "/tiktok" + path, params=signed, content=raw or None,
                                         headers=headers)

    async def shopify(self, merchant: DesiredState, query: str, variables: dict[str, Any] | None = None,
                      *, token: str | None = None) -> httpx.Response:
        headers = {"X-Shopify-Access-Token": token or credentials_of(merchant)["shopify_access_token"]}
        return await self.client.post(SHOPIFY_PATH.format(shop=merchant.shopify_shop),
                                      json={"query": query, "variables": variables or {}}, headers=headers)

    async def pipe17(self, merchant: DesiredState, method: str, path: str, *, key: str | None = None,
                     **kwargs: Any) -> httpx.Response:
        headers = {"X-Pipe17-Key": key or credentials_of(merchant)["pipe17_api_key"]}
        return await self.client.request(method, "/pipe17/api/v3" + path, headers=headers, **kwargs)

    async def loop(self, merchant: DesiredState, method: str, path: str, *, key: str | None = None,
                   **kwargs: Any) -> httpx.Response:
        headers = {"X-Authorization": key or credentials_of(merchant)["loop_api_key"]}
        return await self.client.request(method, "/loop/api/v1" + path, headers=headers, **kwargs)

    async def integration(self, merchant: DesiredState, connector: str) -> dict[str, Any]:
        response = await self.pipe17(merchant, "GET", "/integrations", params={"count": 100})
        return next(i for i in response.json()["integrations"] if i["connectorName"] == connector)


async def configure_refunds(sbx: Any, merchant: DesiredState) -> None:
    """Set Pipe17 so Loop refunds flow to TikTok: Loop refunds in, TikTok refunds out, push on."""
    changes = {
        "Loop Returns": {"entities": {"refunds": {"direction": "in"}}},
        "TikTok Shop": {"entities": {"refunds": {"direction": "out"}},
                        "options": {"pushRefundsToTikTok": True}},
    }
    for connector, settings in changes.items():
        item = await sbx.integration(merchant, connector)
        response = await sbx.pipe17(merchant, "PUT", f"/integrations/{item['integrationId']}",
                                    json={"version": item["version"], "settings": settings})
        assert response.status_code == 200
