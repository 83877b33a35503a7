"""A synthetic fleet of plan entries (docs/design.md section 5 shape) for sharding tests."""

from __future__ import annotations

import random
from typing import Any

_ADDRESSES = (
    ("loop.portal.order_lookup", "email", "zip"),
    ("pipe17.integration.tiktok_shop.flows.orders", None, "pull"),
    ("pipe17.integration.shopify.sync_mode", "order", "fulfillment"),
    ("tiktok_shop.return_proxy.return_url", "https://old.example/", "https://returns.example/"),
    ("loop.portal.instructions", "", "Enter your TikTok order number and shipping zip code."),
)


def slugs(count: int) -> list[str]:
    return [f"merchant-{i:04d}" for i in range(count)]


def entry(slug: str, rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.05:
        return {"merchant": slug, "status": "error", "error": "live state unreadable",
                "changes": [], "manual_actions": []}
    return {"merchant": slug, "status": "ok", "error": None,
            "changes": [_change(rng) for _ in range(rng.randrange(0, 4))],
            "manual_actions": _manual(rng)}


def fleet(count: int, seed: int = 6) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [entry(slug, rng) for slug in slugs(count)]


def _change(rng: random.Random) -> dict[str, Any]:
    address, before, after = rng.choice(_ADDRESSES)
    action = "create" if before is None else rng.choice(("update", "update", "delete"))
    destructive = action == "delete" or address.endswith("sync_mode")
    return {"address": address, "action": action, "before": before,
            "after": None if action == "delete" else after, "destructive": destructive,
            "blocked_by": _blocked_by(destructive, rng)}


def _blocked_by(destructive: bool, rng: random.Random) -> str | None:
    """Destructive changes are sometimes blocked; others sometimes wait on a manual action."""
    roll = rng.random()
    if destructive:
        return "destructive" if roll < 0.5 else None
    return "tiktok_shop.h5_redirect" if roll < 0.15 else None


def _manual(rng: random.Random) -> list[dict[str, str]]:
    if rng.random() < 0.8:
        return []
    return [{"id": "tiktok_shop.h5_redirect", "instructions": "Ask the account manager."}]
