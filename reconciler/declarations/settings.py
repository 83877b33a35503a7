"""Every managed setting, declared once (address, file path, contract, gates, order, manual steps).

Pipe17's nine flows and two options are one declaration each, generated
from the integration and entity vocabularies below, so a new entity or
integration is one line here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from reconciler.declarations.types import Attestation, Setting
from reconciler.model import CONNECTOR_NAMES, FLOW_ENTITIES

INTEGRATIONS: Mapping[str, str] = CONNECTOR_NAMES  # address name -> Pipe17 connector name
FLOW_VALUES: tuple[str, ...] = ("pull", "push", "off")
LOOKUP_VALUES: tuple[str, ...] = ("zip", "email", "phone")
SYNC_MODES: tuple[str, ...] = ("fulfillment", "order")
# One limit for the merchant file's schema, the rules and the sandbox: the
# stricter of the two seen (Loop publishes none), so a valid file applies.
LOOP_INSTRUCTIONS_MAX = 2000
RETURN_URL_MAX = 2048

# Held back by TikTok's manual gates, first missing one wins.
_TIKTOK_GATES = ("tiktok_shop.authorization", "tiktok_shop.h5_redirect", "tiktok_shop.return_proxy_app")


def _host(url: Any) -> str | None:
    try:
        return urlsplit(str(url)).hostname
    except ValueError:
        return None


def _flow_stops(before: Any, after: Any, live: Mapping[str, Any]) -> bool:
    return before != "off" and after != before


def _refund_push_stops(before: Any, after: Any, live: Mapping[str, Any]) -> bool:
    return before is True and after is not True


def _sync_mode_moves(before: Any, after: Any, live: Mapping[str, Any]) -> bool:
    # Changing the mode of a pipeline that already pushes orders to Shopify.
    return live.get("pipe17.integration.shopify.flows.orders", "off") != "off"


def _url_moves_host(before: Any, after: Any, live: Mapping[str, Any]) -> bool:
    return _host(before) != _host(after)


def _always(before: Any, after: Any, live: Mapping[str, Any]) -> bool:
    return True


def _tiktok() -> Iterator[Setting]:
    where = "TikTok Shop Seller Center > Apps & services > Return Proxy App > Settings"
    yield Setting(
        "tiktok_shop.return_proxy.partner", ("tiktok_shop", "return_proxy", "partner"),
        "tiktok_shop", "tiktok_shop.return_proxy", "Return partner", f"{where} > Return partner",
        "text", wire="partner", order=100, destructive=_always, held_by=_TIKTOK_GATES,
        normalize="lower",
    )
    yield Setting(
        "tiktok_shop.return_proxy.return_url", ("tiktok_shop", "return_proxy", "return_url"),
        "tiktok_shop", "tiktok_shop.return_proxy", "Return URL", f"{where} > Return URL",
        "text", wire="return_url_template", max_length=RETURN_URL_MAX, order=110,
        destructive=_url_moves_host, held_by=_TIKTOK_GATES, normalize="strip",
    )


def _pipe17() -> Iterator[Setting]:
    order = {"shopify": 0, "tiktok_shop": 1, "loop": 2}
    for name, label in INTEGRATIONS.items():
        base = ("pipe17", "integrations", name)
        address = f"pipe17.integration.{name}"
        rank = order[name]
        yield Setting(address, base, "pipe17", "pipe17.integrations", f"{label} integration",
                      f"Pipe17 app > Integrations > Add integration > {label}", "presence",
                      wire=label, order=10 + rank)
        connect = (f"pipe17.integration.{name}.connect",)
        for entity in FLOW_ENTITIES:
            yield Setting(
                f"{address}.flows.{entity}", (*base, "flows", entity), "pipe17", "pipe17.integrations",
                f"{label} {entity} flow",
                f"Pipe17 app > Integrations > {label} > Settings > {entity.title()}", "enum",
                wire=entity, allowed=FLOW_VALUES, order=_flow_order(name), destructive=_flow_stops,
                held_by=connect + _shopify_connector_gate(name, entity), normalize="lower",
            )
    yield Setting(
        "pipe17.integration.tiktok_shop.options.push_refunds_to_tiktok",
        ("pipe17", "integrations", "tiktok_shop", "push_refunds_to_tiktok"), "pipe17",
        "pipe17.integrations", "Push refunds to TikTok",
        "Pipe17 app > Integrations > TikTok Shop > Settings > Refunds > Push refunds to TikTok",
        "bool", wire="pushRefundsToTikTok", allowed=(True, False), order=50,
        destructive=_refund_push_stops, held_by=("pipe17.integration.tiktok_shop.connect",),
    )
    yield Setting(
        "pipe17.integration.shopify.options.order_sync_mode",
        ("pipe17", "integrations", "shopify", "order_sync_mode"), "pipe17", "pipe17.integrations",
        "Order sync mode", "Pipe17 app > Integrations > Shopify > Settings > Orders > Sync mode",
        "enum", wire="orderSyncMode", allowed=SYNC_MODES, order=30, destructive=_sync_mode_moves,
        held_by=("pipe17.integration.shopify.connect",), normalize="lower",
    )


def _flow_order(name: str) -> int:
    # Shopify is ready to receive fulfilment-mode orders before TikTok orders are pulled.
    return {"shopify": 40, "tiktok_shop": 45, "loop": 60}[name]


def _shopify_connector_gate(name: str, entity: str) -> tuple[str, ...]:
    # Pipe17 must not push TikTok orders into Shopify while TikTok's own connector does.
    return ("tiktok_shop.shopify_connector",) if (name, entity) == ("shopify", "orders") else ()


def _loop() -> Iterator[Setting]:
    where = "Loop admin > Settings > Return portal"
    # Loop looks up by zip and says so before TikTok sends buyers to the portal.
    yield Setting("loop.portal.order_lookup", ("loop", "order_lookup"), "loop", "loop.portal_settings",
                  "Order lookup", f"{where} > Order lookup", "enum", wire="order_lookup",
                  allowed=LOOKUP_VALUES, order=70, destructive=never_destructive, normalize="lower")
    yield Setting("loop.portal.instructions", ("loop", "instructions"), "loop", "loop.portal_settings",
                  "Portal instructions", f"{where} > Instructions", "text", wire="instructions",
                  max_length=LOOP_INSTRUCTIONS_MAX, order=80, destructive=never_destructive,
                  normalize="text")


def never_destructive(before: Any, after: Any, live: Mapping[str, Any]) -> bool:
    return False


SETTINGS: tuple[Setting, ...] = (*_pipe17(), *_loop(), *_tiktok())

ATTESTATIONS: tuple[Attestation, ...] = (
    Attestation(
        "tiktok_shop.h5_redirect", ("tiktok_shop", "h5_redirect"), "tiktok_shop",
        "tiktok_shop.h5_redirect", "Get the H5 Redirect feature approved",
        "Ask the merchant's TikTok Shop Account Manager to request an exception to the platform "
        "return process and approval of the H5 Redirect feature for shop {shop_id}. When approved, "
        "set tiktok_shop.h5_redirect.approved: true and record the evidence (who approved, ticket, "
        "date) in {source}.",
    ),
)
