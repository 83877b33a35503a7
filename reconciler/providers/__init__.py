"""One provider per service; `PROVIDER_CLASSES` maps service name to class.

Build providers through `reconciler.engine.pool.ClientPool.providers()`, which
hands each one a client (read-only for a plan) for one merchant.
"""

from __future__ import annotations

from reconciler.providers.base import Provider
from reconciler.providers.loop import LoopProvider
from reconciler.providers.pipe17 import Pipe17Provider
from reconciler.providers.shopify import ShopifyProvider
from reconciler.providers.tiktok_shop import TikTokShopProvider

PROVIDER_CLASSES: dict[str, type[Provider]] = {
    "tiktok_shop": TikTokShopProvider,
    "pipe17": Pipe17Provider,
    "shopify": ShopifyProvider,
    "loop": LoopProvider,
}

__all__ = [
    "PROVIDER_CLASSES",
    "LoopProvider",
    "Pipe17Provider",
    "Provider",
    "ShopifyProvider",
    "TikTokShopProvider",
]
