"""Seeding: one freshly onboarded merchant across the four services, plus scenarios.

"Freshly onboarded" means shops authorized, integrations connected, nothing
configured: TikTok Return Proxy installed with no partner and no return URL,
Pipe17 integrations at vendor defaults, Loop looking up orders by email.
Identifiers are derived from the merchant's own ids, so they are stable
between seedings; only timestamps follow the clock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from reconciler.model import SERVICE_NAMES, DesiredState
from reconciler.secrets import SecretFileError, prefetch, resolve

DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "TikTok Shop": {"pushRefundsToTikTok": False},
    "Shopify": {"orderSyncMode": "order"},
    "Loop Returns": {},
}
TIKTOK_CHANNEL = "TikTok"  # the title of TikTok's own sales channel app in Shopify
DEFAULT_INSTRUCTIONS = "Enter your order number and email address to start a return."
ORDER_STATUSES = ("DELIVERED", "COMPLETED", "DELIVERED")
ORDER_TOTALS = ("24.50", "39.00", "18.75")


def spec_of(merchant: DesiredState, scenarios: set[str]) -> dict[str, Any]:
    """What the sandbox keeps about a merchant file: ids, resolved credentials, scenarios."""
    return {
        "slug": merchant.slug,
        "shopify_shop": merchant.shopify_shop,
        "tiktok_shop_id": str(merchant.tiktok_shop_id),
        "tiktok_region": merchant.tiktok_region,
        "loop_portal_domain": merchant.loop_portal_domain,
        "scenarios": sorted(scenarios),
    }


def prefetch_credentials(merchants: Iterable[DesiredState]) -> None:
    """Decrypt the secret files of many merchants in parallel before `credentials_of` each."""
    prefetch([ref for m in merchants for ref in m.credentials.all().values()], sandbox=True)


def credentials_of(merchant: DesiredState) -> dict[str, str]:
    """The credentials the sandbox accepts for this merchant (env value or sandbox credential).

    A `sops:` value that cannot be read is left out: the sandbox then accepts
    no such credential (the client reports the file before sending anything).
    """
    found = {}
    for name, ref in merchant.credentials.all().items():
        try:
            found[name] = resolve(ref, sandbox=True)
        except SecretFileError:
            continue
    return found


def digits(seed: str, count: int) -> str:
    """A stable decimal string of `count` digits, not starting with 0."""
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    text = str(number)[: count - 1]
    return str(1 + number % 9) + text


def token(seed: str, length: int = 12) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_merchant(spec: dict[str, Any], credentials: dict[str, str], now: int | None = None) -> dict[str, Any]:
    """The state of one freshly onboarded merchant, with its scenarios applied."""
    now = int(time.time()) if now is None else now
    slug = spec["slug"]
    orders = _tiktok_orders(slug, now)
    record: dict[str, Any] = {
        "spec": dict(spec),
        "credentials": dict(credentials),
        "tiktok_shop": _tiktok(spec, orders),
        "pipe17": _pipe17(slug, orders),
        "shopify": _shopify(spec, orders),
        "loop": _loop(spec, orders, now),
    }
    for name in spec["scenarios"]:
        SCENARIO_SEEDERS.get(name, _no_seed_change)(record)
    return record


def _tiktok_orders(slug: str, now: int) -> list[dict[str, Any]]:
    orders = []
    for i, status in enumerate(ORDER_STATUSES):
        created = now - (i + 1) * 86_400 - int(digits(f"{slug}:t{i}", 4))
        orders.append({
            "id": digits(f"{slug}:tiktok-order:{i}", 18),
            "status": status,
            "create_time": created,
            "update_time": created + 3_600,
            "recipient_address": {
                "name": f"Buyer {i + 1}",
                "postal_code": str(10_000 + int(digits(f"{slug}:zip:{i}", 6)) % 89_999),
                "region_code": "US",
            },
            "payment": {"currency": "USD", "total_amount": ORDER_TOTALS[i]},
        })
    return orders


def _tiktok(spec: dict[str, Any], orders: list[dict[str, Any]]) -> dict[str, Any]:
    slug, shop_id = spec["slug"], spec["tiktok_shop_id"]
    return {
        "shop": {
            "id": shop_id,
            "name": slug.replace("-", " ").title(),
            "region": spec["tiktok_region"],
            "seller_type": "LOCAL",
            "cipher": "ROW_" + token(f"cipher:{slug}:{shop_id}", 20),
            "code": spec["tiktok_region"].upper()[:2] + token(f"code:{shop_id}", 6).upper(),
        },
        "authorized": True,
        "return_proxy": {
            "service_id": "7252639977727674154",
            "installed": True,
            "partner": None,
            "return_url_template": None,
        },
        "orders": orders,
    }


def _integration(slug: str, connector: str) -> dict[str, Any]:
    return {
        "integrationId": "int_" + token(f"{slug}:{connector}"),
        "integrationName": connector,
        "connectorName": connector,
        "status": "connected",
        "version": 1,
        "settings": {
            "entities": {e: {"direction": "none"} for e in ("orders", "fulfillments", "refunds")},
            "options": dict(DEFAULT_OPTIONS[connector]),
        },
    }


def _pipe17(slug: str, orders: list[dict[str, Any]]) -> dict[str, Any]:
    tiktok = _integration(slug, "TikTok Shop")
    return {
        "integrations": [tiktok, _integration(slug, "Shopify"), _integration(slug, "Loop Returns")],
        "orders": [
            {
                "orderId": "ord_" + token(f"{slug}:p17:{o['id']}"),
                "extOrderId": o["id"],
                "status": "readyForFulfillment" if o["status"] == "DELIVERED" else "fulfilled",
                "integration": tiktok["integrationId"],
                "createdAt": iso(o["create_time"] + 60),
            }
            for o in orders
        ],
        "next_id": 1,
    }


def shopify_order(slug: str, order: dict[str, Any], *, channel: str = "pipe17") -> dict[str, Any]:
    app = {"pipe17": SERVICE_NAMES["pipe17"], "tiktok": TIKTOK_CHANNEL}[channel]  # the app's title
    return {
        "id": "gid://shopify/Order/" + digits(f"{slug}:{channel}:{order['id']}", 13),
        "name": order["id"],
        "createdAt": iso(order["create_time"] + 120),
        "sourceName": channel,
        "tags": ["TikTok"],
        "app": {"id": "gid://shopify/App/" + digits(app, 7), "name": app},
        "email": None,
        "shippingAddress": {"zip": order["recipient_address"]["postal_code"], "countryCodeV2": "US"},
    }


def _shopify(spec: dict[str, Any], orders: list[dict[str, Any]]) -> dict[str, Any]:
    slug, domain = spec["slug"], spec["shopify_shop"]
    return {
        "shop": {
            "id": "gid://shopify/Shop/" + digits(f"shop:{domain}", 10),
            "name": slug.replace("-", " ").title(),
            "myshopifyDomain": domain,
            "email": f"owner@{slug}.example",
            "currencyCode": "USD",
        },
        "app_installation": {"id": "gid://shopify/AppInstallation/" + digits(f"inst:{domain}", 10)},
        "scopes": ["read_orders", "read_products", "read_publications"],
        "orders": [shopify_order(slug, o) for o in orders],
        "publications": [publication(domain, "Online Store")],
    }


def publication(domain: str, title: str) -> dict[str, Any]:
    """A sales channel's publication: an app catalog titled after the channel app."""
    number = digits(f"{domain}:publication:{title}", 11)
    return {"id": f"gid://shopify/Publication/{number}",
            "catalog": {"id": f"gid://shopify/AppCatalog/{number}", "title": title, "kind": "APP"}}


def _loop(spec: dict[str, Any], orders: list[dict[str, Any]], now: int) -> dict[str, Any]:
    refunded = orders[-1]
    return {
        "portal": {
            "portal_domain": spec["loop_portal_domain"],
            "order_lookup": "email",
            "instructions": DEFAULT_INSTRUCTIONS,
        },
        "returns": [{
            "id": int(digits(f"{spec['slug']}:return", 8)),
            "order_name": refunded["id"],
            "state": "closed",
            "refund": refunded["payment"]["total_amount"],
            "currency": "USD",
            "created_at": iso(now - 3_600 * 6),
            "updated_at": iso(now - 3_600 * 2),
        }],
    }


def _no_seed_change(record: dict[str, Any]) -> None:
    """Scenarios that act when state is read (see `reconciler.sandbox.state`)."""


def _return_proxy_not_installed(record: dict[str, Any]) -> None:
    record["tiktok_shop"]["return_proxy"]["installed"] = False


def _tiktok_unauthorized(record: dict[str, Any]) -> None:
    record["tiktok_shop"]["authorized"] = False


def _pipe17_integration(record: dict[str, Any], connector: str) -> dict[str, Any]:
    return next(i for i in record["pipe17"]["integrations"] if i["connectorName"] == connector)


def _pipe17_shopify_disconnected(record: dict[str, Any]) -> None:
    _pipe17_integration(record, "Shopify")["status"] = "disconnected"


def _pipe17_loop_missing(record: dict[str, Any]) -> None:
    record["pipe17"]["integrations"] = [
        i for i in record["pipe17"]["integrations"] if i["connectorName"] != "Loop Returns"
    ]


def _half_configured(record: dict[str, Any]) -> None:
    portal = record["loop"]["portal"]["portal_domain"]
    proxy = record["tiktok_shop"]["return_proxy"]
    proxy["partner"] = "LOOP_PIPE17"
    proxy["return_url_template"] = f"https://{portal}/?order=[TT_ORDER_NUM]&email=[BUYER_EMAIL]"
    tiktok = _pipe17_integration(record, "TikTok Shop")["settings"]["entities"]
    tiktok["orders"]["direction"] = "in"
    tiktok["fulfillments"]["direction"] = "out"
    shopify = _pipe17_integration(record, "Shopify")["settings"]["entities"]
    shopify["orders"]["direction"] = "out"
    shopify["fulfillments"]["direction"] = "in"
    if any(i["connectorName"] == "Loop Returns" for i in record["pipe17"]["integrations"]):
        _pipe17_integration(record, "Loop Returns")["settings"]["entities"]["refunds"]["direction"] = "in"
    record["loop"]["portal"]["order_lookup"] = "zip"


def _order_missing_in_shopify(record: dict[str, Any]) -> None:
    missing = record["tiktok_shop"]["orders"][0]["id"]
    record["shopify"]["orders"] = [o for o in record["shopify"]["orders"] if o["name"] != missing]
    for order in record["pipe17"]["orders"]:
        if order["extOrderId"] == missing:
            order["status"] = "onHold"


def _duplicate_order(record: dict[str, Any]) -> None:
    order = record["tiktok_shop"]["orders"][1]
    record["shopify"]["orders"].append(shopify_order(record["spec"]["slug"], order, channel="tiktok"))


HAND_INSTRUCTIONS = ("Bought on TikTok Shop? Enter your TikTok order number and the shipping zip "
                     "code of the order to start a return.")
_HAND_DIRECTIONS = {  # the tiktok-loop recipe, seen from Pipe17
    "TikTok Shop": {"orders": "in", "fulfillments": "out", "refunds": "out"},
    "Shopify": {"orders": "out", "fulfillments": "in", "refunds": "in"},
    "Loop Returns": {"refunds": "in"},
}


def _set_up_by_hand(record: dict[str, Any]) -> None:
    """What a person does in the four admin screens when no API can (published-only mode)."""
    portal = record["loop"]["portal"]
    portal["order_lookup"] = "zip"
    portal["instructions"] = HAND_INSTRUCTIONS
    proxy = record["tiktok_shop"]["return_proxy"]
    proxy["partner"] = "LOOP_PIPE17"
    proxy["return_url_template"] = (
        f"https://{portal['portal_domain']}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]")
    for item in record["pipe17"]["integrations"]:
        for entity, direction in _HAND_DIRECTIONS.get(item["connectorName"], {}).items():
            item["settings"]["entities"][entity]["direction"] = direction
    for item in record["pipe17"]["integrations"]:
        if item["connectorName"] == "TikTok Shop":
            item["settings"]["options"]["pushRefundsToTikTok"] = True
        if item["connectorName"] == "Shopify":
            item["settings"]["options"]["orderSyncMode"] = "fulfillment"


def _tiktok_connector_on(record: dict[str, Any]) -> None:
    shopify = record["shopify"]
    shopify["publications"].append(publication(shopify["shop"]["myshopifyDomain"], TIKTOK_CHANNEL))


def _publications_scope_missing(record: dict[str, Any]) -> None:
    record["shopify"]["scopes"].remove("read_publications")


SCENARIO_SEEDERS = {
    "return-proxy-not-installed": _return_proxy_not_installed,
    "tiktok-unauthorized": _tiktok_unauthorized,
    "pipe17-shopify-disconnected": _pipe17_shopify_disconnected,
    "pipe17-loop-missing": _pipe17_loop_missing,
    "half-configured": _half_configured,
    "order-missing-in-shopify": _order_missing_in_shopify,
    "duplicate-order": _duplicate_order,
    "tiktok-connector-on": _tiktok_connector_on,
    "shopify-publications-scope-missing": _publications_scope_missing,
    "set-up-by-hand": _set_up_by_hand,
}
