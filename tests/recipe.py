"""The standard recipe's managed settings (merchants/profiles/tiktok-loop.yaml), as addresses.

Shared by the test suites that build desired states or live snapshots by hand.
"""

from __future__ import annotations

from typing import Any

RECIPE: dict[str, Any] = {
    "tiktok_shop.return_proxy.partner": "loop_pipe17",
    "pipe17.integration.tiktok_shop": "present",
    "pipe17.integration.tiktok_shop.flows.orders": "pull",
    "pipe17.integration.tiktok_shop.flows.fulfillments": "push",
    "pipe17.integration.tiktok_shop.flows.refunds": "push",
    "pipe17.integration.tiktok_shop.options.push_refunds_to_tiktok": True,
    "pipe17.integration.shopify": "present",
    "pipe17.integration.shopify.flows.orders": "push",
    "pipe17.integration.shopify.flows.fulfillments": "pull",
    "pipe17.integration.shopify.flows.refunds": "pull",
    "pipe17.integration.shopify.options.order_sync_mode": "fulfillment",
    "pipe17.integration.loop": "present",
    "pipe17.integration.loop.flows.refunds": "pull",
    "loop.portal.order_lookup": "zip",
}
