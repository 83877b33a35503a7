"""Everything verify reads about one merchant, read once, before any check runs.

Reads are independent where they can be (one round of concurrent requests,
then a second round that needs the first: the deep link for a sample order,
TikTok's view of the refunded orders). A read that fails is kept as its
redacted error, so the checks that need it fail with the reason and the
others still run.

Cost per merchant, healthy path: TikTok 3-4 requests (shops list cached per
run, Return Proxy, orders search, returns search), Shopify 1, Pipe17 1,
Loop 3 (portal settings, returns, deep link).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar, cast

from reconciler.engine.plan import error_text
from reconciler.model import ServiceSnapshot
from reconciler.providers.base import Provider
from reconciler.providers.loop import LoopProvider, LoopReturn
from reconciler.providers.pipe17 import Pipe17Provider, Pipe17Refund
from reconciler.providers.shopify import ShopifyOrder, ShopifyProvider
from reconciler.providers.tiktok_shop import TikTokOrder, TikTokReturn, TikTokShopProvider

log = logging.getLogger("reconciler.verify")

WINDOW_DAYS = 14  # how far back "recent" orders and returns reach
SYNC_GRACE_SECONDS = 30 * 60  # an order younger than this may not have reached Shopify yet
SAMPLE_ORDERS = 20  # newest TikTok orders checked per merchant
SHOPIFY_PAGE = 250
MAX_NAME_LOOKUPS = 5  # orders not in the window page, looked up one by one
# TikTok statuses Pipe17 does not write to Shopify (not paid, cancelled, in the remorse hold).
NOT_SYNCED_STATUSES = frozenset({"UNPAID", "CANCELLED", "ON_HOLD"})

T = TypeVar("T")


@dataclass(frozen=True)
class Read(Generic[T]):
    """A value read from a service, or the (redacted) reason it could not be read."""

    value: T | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def attempt(call: Awaitable[T]) -> Read[T]:
    try:
        return Read(await call)
    except Exception as exc:  # a failed read becomes a failed check, never a crash
        log.debug("verify read failed", exc_info=True)
        return Read(error=error_text(exc))


@dataclass(frozen=True)
class Evidence:
    tiktok: Read[ServiceSnapshot]
    loop: Read[ServiceSnapshot]
    tiktok_orders: Read[list[TikTokOrder]]  # recent, syncable, newest first
    shopify_orders: Read[list[ShopifyOrder]]  # Shopify orders of the window (and looked-up names)
    sample: TikTokOrder | None  # the order the Loop checks use
    deep_link: Read[str | None] | None  # None: not attempted (no sample)
    loop_returns: Read[list[LoopReturn]]
    tiktok_returns: Read[list[TikTokReturn]]
    pipe17_refunds: Read[list[Pipe17Refund]]
    shopify: Read[ServiceSnapshot] | None = None  # the shop, scopes and sales channels

    @property
    def authorized(self) -> bool | None:
        if not self.tiktok.ok or self.tiktok.value is None:
            return None
        return bool(self.tiktok.value.facts.get("tiktok_shop.authorized"))


def order_name(name: str) -> str:
    """Shopify shows `#1001` for its own numbering; Pipe17 names TikTok orders by their id."""
    return name.strip().lstrip("#")


def shopify_names(orders: Sequence[ShopifyOrder]) -> set[str]:
    return {order_name(o.name) for o in orders}


async def gather(providers: Mapping[str, Provider], *, now: float) -> Evidence:
    tiktok = cast(TikTokShopProvider, providers["tiktok_shop"])
    shopify = cast(ShopifyProvider, providers["shopify"])
    pipe17 = cast(Pipe17Provider, providers["pipe17"])
    loop = cast(LoopProvider, providers["loop"])
    since = int(now) - WINDOW_DAYS * 86_400
    # Two groups (asyncio.gather types at most six results), all seven reads at once.
    snapshots = asyncio.gather(attempt(tiktok.read()), attempt(loop.read()),
                               attempt(shopify.read()))
    recent = asyncio.gather(
        attempt(recent_tiktok_orders(tiktok, since, now)),
        attempt(shopify.orders(f"created_at:>={day(since - 86_400)}", SHOPIFY_PAGE)),
        attempt(loop.returns(since=datetime.fromtimestamp(since, UTC))),
        attempt(pipe17.refunds()),
    )
    ((tt_snapshot, loop_snapshot, sh_snapshot),
     (tt_orders, sh_orders, returns, refunds)) = await asyncio.gather(snapshots, recent)
    sh_orders = await look_up_missing(shopify, tt_orders, sh_orders)
    sample = choose_sample(tt_orders, sh_orders)
    refunded = sorted({r.order_name for r in returns.value or [] if has_refund(r)})
    deep_link, tt_returns = await asyncio.gather(
        deep_link_of(loop, sample),
        attempt(tiktok.search_returns(refunded)),
    )
    return Evidence(tt_snapshot, loop_snapshot, tt_orders, sh_orders, sample, deep_link,
                    returns, tt_returns, refunds, sh_snapshot)


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


async def recent_tiktok_orders(tiktok: TikTokShopProvider, since: int, now: float) -> list[TikTokOrder]:
    orders = await tiktok.search_orders(since)
    settled = [
        o for o in orders
        if o.status.upper() not in NOT_SYNCED_STATUSES and o.create_time <= now - SYNC_GRACE_SECONDS
    ]
    settled.sort(key=lambda o: o.create_time, reverse=True)
    return settled[:SAMPLE_ORDERS]


async def look_up_missing(shopify: ShopifyProvider, tiktok: Read[list[TikTokOrder]],
                          found: Read[list[ShopifyOrder]]) -> Read[list[ShopifyOrder]]:
    """Orders the window page did not hold, looked up by name (Shopify search `name:`)."""
    if not tiktok.ok or not found.ok:
        return found
    have = shopify_names(found.value or [])
    missing = [o.id for o in tiktok.value or [] if o.id not in have][:MAX_NAME_LOOKUPS]
    if not missing:
        return found
    extra = await asyncio.gather(*(attempt(shopify.orders(f"name:{m}", 5)) for m in missing))
    errors = [r.error for r in extra if not r.ok]
    if errors:
        return Read(error=errors[0])
    known = {o.id for o in found.value or []}
    more = [o for r in extra for o in r.value or [] if o.id not in known]
    return Read([*(found.value or []), *more])


def choose_sample(tiktok: Read[list[TikTokOrder]],
                  shopify: Read[list[ShopifyOrder]]) -> TikTokOrder | None:
    """The newest recent TikTok order that is in Shopify and has a shipping zip."""
    if not tiktok.ok or not shopify.ok:
        return None
    names = shopify_names(shopify.value or [])
    for order in tiktok.value or []:
        if order.id in names and order.postal_code:
            return order
    return None


async def deep_link_of(loop: LoopProvider, sample: TikTokOrder | None) -> Read[str | None] | None:
    if sample is None or not sample.postal_code:
        return None
    return await attempt(loop.order_link(sample.id, sample.postal_code))


def has_refund(loop_return: LoopReturn) -> bool:
    refund = loop_return.refund
    if refund in (None, "", False):
        return False
    try:
        return float(refund) > 0
    except (TypeError, ValueError):
        return True  # a refund object rather than an amount
