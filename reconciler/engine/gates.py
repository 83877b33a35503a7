"""Dependencies between changes, stated in one place.

* Manual actions: what only a person can do, derived from the desired state
  and live facts, each with exact instructions, and the changes it holds back.
* Order: the sequence in which changes are applied across services.
* Safety: which changes are destructive.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from reconciler import declarations
from reconciler.model import (
    CONNECTOR_NAMES,
    PIPE17_INTEGRATIONS,
    RETURN_PROXY_AUTHORIZE_URL,
    Action,
    DesiredState,
    ManualAction,
)

PIPE17_APP = "https://app.pipe17.com/integrations"
TIKTOK_PARTNER_CENTER = "https://partner.tiktokshop.com"
DESTRUCTIVE = "destructive"


def manual_actions(desired: DesiredState, facts: Mapping[str, Any], *,
                   unavailable: frozenset[str] = frozenset()) -> list[ManualAction]:
    """Everything a person must do before the dependent changes can be applied.

    `unavailable`: contracts not read in this run; what they would have shown
    is unknown, so no step is asked for on their account (engine/unavailable.py
    lists their settings instead).
    """
    actions: list[ManualAction] = []
    if not desired.h5_redirect.approved:
        h5 = declarations.BY_ATTESTATION["tiktok_shop.h5_redirect"]  # no API: the file attests it
        actions.append(ManualAction(
            id=h5.id, title=h5.title,
            instructions=h5.instructions.format(shop_id=desired.tiktok_shop_id, source=desired.source),
        ))
    if facts.get("tiktok_shop.authorized") is False:
        actions.append(ManualAction(
            id="tiktok_shop.authorization",
            title="Authorize the app for the TikTok shop",
            instructions=(
                f"The seller of TikTok shop {desired.tiktok_shop_id} must authorize the app: in the "
                "TikTok Shop Partner Center open the app's authorization link, sign in as the seller "
                "and approve. Then plan again."
            ),
            link=TIKTOK_PARTNER_CENTER,
        ))
    elif facts.get("tiktok_shop.return_proxy.installed") is False:
        actions.append(ManualAction(
            id="tiktok_shop.return_proxy_app",
            title="Install the TikTok Shop Return Proxy App",
            instructions=(
                f"Signed in to TikTok Shop Seller Center as shop {desired.tiktok_shop_id}, open "
                f"{RETURN_PROXY_AUTHORIZE_URL} and authorize the Return Proxy App. Then plan again."
            ),
            link=RETURN_PROXY_AUTHORIZE_URL,
        ))
    actions.extend(_sales_channel_actions(desired, facts))
    for name in PIPE17_INTEGRATIONS:
        if "pipe17.integrations" in unavailable or f"pipe17.integration.{name}" not in desired.settings:
            continue
        status = facts.get(f"pipe17.integration.{name}.status")
        if status != "connected":
            label = CONNECTOR_NAMES[name]
            actions.append(ManualAction(
                id=f"pipe17.integration.{name}.connect",
                title=f"Connect the {label} integration in Pipe17",
                instructions=(
                    f"In the Pipe17 app, open Integrations > {label} and press Connect, then complete "
                    f"the {label} sign-in (status now: {status or 'not created'}). Then plan again."
                ),
                link=PIPE17_APP,
            ))
    scopes = facts.get("shopify.access_scopes")
    if scopes is not None and "read_orders" not in scopes:
        actions.append(ManualAction(
            id="shopify.access_scopes",
            title="Grant the read_orders scope on Shopify",
            instructions=(
                f"Reinstall the app on {desired.shopify_shop} with the read_orders scope so that "
                "verify can find TikTok orders in Shopify."
            ),
        ))
    return actions


def _sales_channel_actions(desired: DesiredState, facts: Mapping[str, Any]) -> list[ManualAction]:
    """TikTok's own Shopify sales channel, as Shopify's `publications` show it (or cannot)."""
    channel = facts.get("shopify.tiktok_channel")
    scopes = facts.get("shopify.access_scopes")
    if channel is True and _declared_disabled(desired):
        return [ManualAction(
            id="tiktok_shop.shopify_connector",
            title="Turn off TikTok's own Shopify connector",
            instructions=(
                f"Shopify shows TikTok's own sales channel installed on {desired.shopify_shop}; it "
                "also writes this shop's orders into Shopify, which duplicates the orders Pipe17 "
                "writes. In Shopify admin, open Sales channels > TikTok and turn off order sync (or "
                "remove the channel). Then plan again."
            ),
        )]
    if channel is None and scopes and "read_publications" not in scopes:
        return [ManualAction(
            id="shopify.read_publications",
            title="Grant the read_publications scope on Shopify",
            instructions=(
                f"Reinstall the app on {desired.shopify_shop} with the read_publications scope: "
                "without it Shopify hides the shop's sales channels, so the plan cannot tell whether "
                "TikTok's own Shopify connector writes orders beside Pipe17."
            ),
        )]
    return []


def _declared_disabled(desired: DesiredState) -> bool:
    tiktok = desired.document.get("tiktok_shop") or {}
    return tiktok.get("shopify_connector", "disabled") == "disabled"


def held_by(address: str, manual_ids: set[str]) -> str | None:
    """The manual action that holds back a change at `address`, if any.

    A contract that could not be used holds back all of its settings;
    otherwise the declaration's gates, in order, first one present wins.
    """
    setting = declarations.BY_ADDRESS.get(address)
    if setting is None:
        return None
    unavailable = declarations.manual_action_id(setting.contract)
    if unavailable in manual_ids:
        return unavailable
    return next((gate for gate in setting.held_by if gate in manual_ids), None)


@functools.lru_cache(maxsize=4096)  # a fixed vocabulary of addresses, sorted for every merchant
def order_key(address: str, action: Action) -> tuple[int, int, str]:
    """Sort key: by dependency (the diff creates and updates; it never deletes)."""
    setting = declarations.BY_ADDRESS.get(address)
    rank = setting.order if setting else declarations.UNRANKED
    return (0, rank, address)


def is_destructive(address: str, action: Action, before: Any, after: Any,
                   live: Mapping[str, Any]) -> bool:
    """Changes that stop something that works today (docs/design.md section 4)."""
    if before is None:
        return False
    setting = declarations.BY_ADDRESS.get(address)
    return setting is not None and setting.destructive(before, after, live)
