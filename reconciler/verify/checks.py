"""The checks a solution engineer does by hand after setup, one function each.

Every check takes the merchant's desired state and the evidence read for it
and returns one `CheckResult`; none reads anything itself. A failure says
what is wrong and, in its hint, how to fix it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from reconciler.declarations import manual_action_id
from reconciler.engine import gates
from reconciler.engine.unavailable import unavailable_actions
from reconciler.model import DesiredState, ManualAction
from reconciler.providers.shopify import ShopifyOrder
from reconciler.providers.tiktok_shop import TikTokOrder
from reconciler.verify.evidence import (
    WINDOW_DAYS,
    Evidence,
    Read,
    has_refund,
    order_name,
    shopify_names,
)
from reconciler.verify.results import CheckResult, failed, passed, skipped

log = logging.getLogger("reconciler.verify")

Check = Callable[[DesiredState, Evidence], CheckResult]
RETURN_URL = "tiktok_shop.return_proxy.return_url"
RETURN_PROXY = "tiktok_shop.return_proxy"  # assumed contracts
PORTAL = "loop.portal_settings"
ORDER_LOOKUP = "loop.portal.order_lookup"
TIKTOK_CHANNEL_APPS = frozenset({"tiktok", "tiktok shop", "tiktok for shopify"})
SHOWN = 3  # order ids named in a reason


def read_failure(check_id: str, what: str, read: Read) -> CheckResult:
    return failed(check_id, f"could not read {what}: {read.error}",
                  "check that the service answers and that the credentials the merchant file "
                  "references are valid, then run verify again")


def unauthorized(check_id: str) -> CheckResult:
    return skipped(check_id, "the TikTok shop has not authorized the app (see tiktok.authorized)")


def ids(values: list[str]) -> str:
    shown = ", ".join(values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def apply_hint(desired: DesiredState) -> str:
    return (f"run 'reconciler plan --merchant {desired.slug}' to review the difference, "
            f"then 'reconciler apply --merchant {desired.slug}'")


# -- TikTok Shop ---------------------------------------------------------------


def tiktok_authorized(desired: DesiredState, ev: Evidence) -> CheckResult:
    check = "tiktok.authorized"
    if not ev.tiktok.ok:
        return read_failure(check, "TikTok Shop", ev.tiktok)
    if ev.authorized:
        return passed(check, f"shop {desired.tiktok_shop_id} is among the app's authorized shops")
    action = _manual(desired, ev, "tiktok_shop.authorization")
    return failed(check, f"shop {desired.tiktok_shop_id} is not among the shops that authorized the app",
                  action or "the seller must authorize the app in TikTok Shop Partner Center")


def _action(desired: DesiredState, ev: Evidence, action_id: str) -> ManualAction | None:
    facts = ev.tiktok.value.facts if ev.tiktok.ok and ev.tiktok.value else {}
    return next((a for a in gates.manual_actions(desired, facts) if a.id == action_id), None)


def _manual(desired: DesiredState, ev: Evidence, action_id: str) -> str | None:
    action = _action(desired, ev, action_id)
    return f"manual action {action.id}: {action.instructions}" if action else None


# -- Shopify -------------------------------------------------------------------


def shopify_orders_present(desired: DesiredState, ev: Evidence) -> CheckResult:
    check = "shopify.orders_present"
    if ev.authorized is False:
        return unauthorized(check)
    for what, read in (("TikTok Shop orders", ev.tiktok_orders), ("Shopify orders", ev.shopify_orders)):
        if not read.ok:
            return read_failure(check, what, read)
    recent: list[TikTokOrder] = ev.tiktok_orders.value or []
    if not recent:
        return skipped(check, f"no TikTok order in the last {WINDOW_DAYS} days to look for")
    names = shopify_names(ev.shopify_orders.value or [])
    missing = [o.id for o in recent if o.id not in names]
    if not missing:
        return passed(check, f"all {len(recent)} recent TikTok orders are in Shopify, named by their "
                             "TikTok order id as Pipe17 writes them")
    return failed(
        check,
        f"{len(missing)} of {len(recent)} recent TikTok orders missing from Shopify: {ids(missing)}",
        "Pipe17 must pull TikTok Shop orders and push them to Shopify in fulfillment mode, with both "
        f"integrations connected: {apply_hint(desired)}. If the settings are right, the order is "
        "held in Pipe17: open it under Orders in the Pipe17 app, fix the exception and release it",
    )


def _by_tiktok_channel(order: ShopifyOrder) -> bool:
    app = (order.app_name or "").strip().lower()
    return app in TIKTOK_CHANNEL_APPS or (order.source_name or "").strip().lower() == "tiktok"


def shopify_no_duplicates(desired: DesiredState, ev: Evidence) -> CheckResult:
    check = "shopify.no_duplicates"
    if not ev.shopify_orders.ok:
        return read_failure(check, "Shopify orders", ev.shopify_orders)
    orders = ev.shopify_orders.value or []
    tiktok_ids = {o.id for o in ev.tiktok_orders.value or []}
    counts = Counter(order_name(o.name) for o in orders)
    twice = sorted(n for n, c in counts.items() if c > 1 and (n in tiktok_ids or not tiktok_ids))
    channel = sorted({order_name(o.name) for o in orders if _by_tiktok_channel(o)})
    connector = bool(ev.shopify and ev.shopify.ok and ev.shopify.value
                     and ev.shopify.value.facts.get("shopify.tiktok_channel"))
    problems = []
    if twice:
        problems.append(f"TikTok order(s) {ids(twice)} exist more than once in Shopify")
    if channel:
        problems.append(f"order(s) {ids(channel)} were created by TikTok's own Shopify channel app")
    if connector:
        problems.append("Shopify shows TikTok's own sales channel installed (publications), so "
                        "its own Shopify connector is on and writes TikTok orders beside Pipe17")
    if not problems:
        return passed(check, "no TikTok order is in Shopify twice and none came from TikTok's own "
                             "Shopify connector")
    if twice or channel:
        problems.append("TikTok's own connector is writing orders beside Pipe17")
    return failed(
        check, "; ".join(problems),
        "turn TikTok's own Shopify connector off (Shopify admin > Sales channels > TikTok: turn off "
        "order sync, or remove the channel) so that only Pipe17 writes TikTok orders; then cancel "
        "the duplicate orders the TikTok channel created in Shopify",
    )


# -- Loop ----------------------------------------------------------------------


def _no_sample(check: str, ev: Evidence) -> CheckResult:
    if ev.authorized is False:
        return unauthorized(check)
    for what, read in (("TikTok Shop orders", ev.tiktok_orders), ("Shopify orders", ev.shopify_orders)):
        if not read.ok:
            return read_failure(check, what, read)
    return skipped(check, f"no TikTok order of the last {WINDOW_DAYS} days is in Shopify with a "
                          "shipping zip to look up")


def loop_lookup_by_zip(desired: DesiredState, ev: Evidence) -> CheckResult:
    check = "loop.lookup_by_zip"
    sample, link = ev.sample, ev.deep_link
    if sample is None or link is None:
        return _no_sample(check, ev)
    if not link.ok:
        return read_failure(check, "Loop's deep link", link)
    where = f"order {sample.id} by order number and shipping zip {sample.postal_code}"
    if link.value:
        return passed(check, f"Loop finds TikTok {where} (deep link)")
    lookup = (ev.loop.value.settings.get(ORDER_LOOKUP) if ev.loop.ok and ev.loop.value else None)
    reason = f"Loop does not find TikTok {where}, though the order is in Shopify"
    by_hand = _portal_by_hand(desired, ev)
    if by_hand is not None:
        return failed(check, f"{reason}; Loop's portal settings cannot be read or written through "
                             "an API, so they must be set by hand",
                      f"manual action {by_hand.id}: {by_hand.instructions}")
    if lookup and lookup != "zip":
        return failed(check, f"{reason}: the portal looks orders up by {lookup}, and TikTok orders "
                             "carry no email",
                      f"set loop.order_lookup: zip (the tiktok-loop profile does) and run "
                      f"'reconciler apply --merchant {desired.slug}'")
    return failed(
        check,
        f"{reason}: the portal still matches orders by email although its lookup setting says zip "
        "(TikTok orders carry no email)",
        "in the Loop admin open Returns portal > Order lookup, choose order number + zip code and "
        "save; if Loop keeps matching by email, ask Loop support to switch the portal to zip lookup",
    )


def _portal_by_hand(desired: DesiredState, ev: Evidence) -> ManualAction | None:
    """The manual action for Loop's portal settings when their (assumed) API is unavailable."""
    snapshot = ev.loop.value if ev.loop.ok else None
    gone = [u for u in (snapshot.unavailable if snapshot else ()) if u.contract == PORTAL]
    return next(iter(unavailable_actions(desired, gone)), None)


# -- Return URL ----------------------------------------------------------------


def _live_return_url(ev: Evidence) -> str | None:
    return ev.tiktok.value.settings.get(RETURN_URL) if ev.tiktok.value else None


def _held_back(desired: DesiredState, ev: Evidence) -> ManualAction | None:
    """The manual action that holds TikTok's return settings back, if any."""
    for gate in ("tiktok_shop.h5_redirect", "tiktok_shop.return_proxy_app"):
        action = _action(desired, ev, gate)
        if action:
            return action
    return None


def _return_url_hint(desired: DesiredState, held: ManualAction | None) -> str:
    if held is None:
        return apply_hint(desired)
    return (f"manual action {held.id}: {held.instructions} "
            f"Then run 'reconciler apply --merchant {desired.slug}'.")


def _proxy_unavailable(ev: Evidence) -> str | None:
    """Why TikTok's Return Proxy settings could not be read (an assumed contract), if so."""
    snapshot = ev.tiktok.value
    gone = [u for u in (snapshot.unavailable if snapshot else ()) if u.contract == RETURN_PROXY]
    return f"{gone[0].endpoint}: {gone[0].reason}" if gone else None


def tiktok_return_url_matches(desired: DesiredState, ev: Evidence) -> CheckResult:
    check = "tiktok.return_url_matches"
    if not ev.tiktok.ok:
        return read_failure(check, "TikTok Shop", ev.tiktok)
    if ev.authorized is False:
        return unauthorized(check)
    why = _proxy_unavailable(ev)
    if why is not None:
        # Nothing published shows TikTok's return URL: validate's rules prove the template,
        # loop.lookup_by_zip proves the portal finds TikTok orders by number and zip.
        return skipped(check, f"TikTok's Return Proxy settings cannot be read ({why}); the merchant "
                              f"file's template is checked by validate's rules and set by hand "
                              f"(manual action {manual_action_id(RETURN_PROXY)})")
    live, wanted = _live_return_url(ev), desired.settings.get(RETURN_URL)
    held = _held_back(desired, ev)
    if live is None:
        why = f" (held back until manual action {held.id} is done: {held.title})" if held else ""
        return failed(check, "TikTok has no return URL for the shop, so buyers are not sent to the "
                             f"Loop portal{why}", _return_url_hint(desired, held))
    if wanted is not None and str(wanted).strip() != str(live).strip():
        return failed(check, f"TikTok's return URL {live} is not the merchant file's {wanted}",
                      _return_url_hint(desired, held))
    # Loop's deep link is opaque (`https://<shop>.loopreturns.com/#/link/<id>`), so it proves
    # nothing about the template: the rules prove its form (https, the portal's host, both
    # placeholders, no email) and loop.lookup_by_zip proves Loop finds orders by number and zip.
    if wanted is None:
        return passed(check, f"TikTok sends buyers to {live} (the merchant file does not manage it)")
    return passed(check, f"TikTok sends buyers to {live}, the merchant file's return URL")


# -- Refunds -------------------------------------------------------------------


def refunds_reach_tiktok(desired: DesiredState, ev: Evidence) -> CheckResult:
    check = "refunds.reach_tiktok"
    if not ev.loop_returns.ok:
        return read_failure(check, "Loop returns", ev.loop_returns)
    refunded = sorted({r.order_name for r in ev.loop_returns.value or [] if has_refund(r)})
    if not refunded:
        return skipped(check, f"no Loop return with a refund in the last {WINDOW_DAYS} days to follow")
    seen = _seen_on_tiktok(ev)
    if seen is None and not ev.pipe17_refunds.ok:
        return read_failure(check, "TikTok returns and Pipe17 refunds", ev.pipe17_refunds)
    pipe17 = {r.ext_order_id: r for r in ev.pipe17_refunds.value or []}
    stuck = [n for n in refunded
             if not (n in seen if seen is not None else _pushed(pipe17.get(n)))]
    if not stuck:
        return passed(check, f"{len(refunded)} refund(s) issued in Loop reached TikTok through Pipe17 "
                             f"(order {ids(refunded)})")
    return _refund_stuck(desired, ev, stuck, pipe17.get(stuck[0]))


def _seen_on_tiktok(ev: Evidence) -> set[str] | None:
    if ev.authorized is not True or not ev.tiktok_returns.ok:
        return None
    return {r.order_id for r in ev.tiktok_returns.value or []}


def _pushed(refund: object | None) -> bool:
    return refund is not None and str(getattr(refund, "status", "")).lower() == "pushed"


def _refund_stuck(desired: DesiredState, ev: Evidence, stuck: list[str], first: object | None) -> CheckResult:
    check = "refunds.reach_tiktok"
    head = f"refund(s) issued in Loop for order {ids(stuck)} have not reached TikTok"
    if not ev.pipe17_refunds.ok:
        return failed(check, f"{head}; Pipe17 refunds could not be read: {ev.pipe17_refunds.error}",
                      apply_hint(desired))
    if first is None:
        return failed(check, f"{head}: Pipe17 has not pulled them from Loop",
                      "Pipe17 must pull refunds from Loop (pipe17.integrations.loop.flows.refunds: pull) "
                      f"with the Loop Returns integration connected: {apply_hint(desired)}")
    status = getattr(first, "status", "") or "unknown"
    if status.lower() != "pushed":
        return failed(
            check, f"{head}: Pipe17 holds them with status '{status}' and has not pushed them to TikTok",
            "Pipe17 must push refunds to TikTok: TikTok Shop refunds flow push and 'Push refunds to "
            f"TikTok' on ({apply_hint(desired)}); if both are set, retry the refunds from the Refunds "
            "list in the Pipe17 app",
        )
    return failed(check, f"{head}: Pipe17 marks them pushed but TikTok shows no refund for the order",
                  "open the refund in Pipe17 and in TikTok Seller Center and push it again from Pipe17")


CHECKS: tuple[tuple[str, Check], ...] = (
    ("tiktok.authorized", tiktok_authorized),
    ("shopify.orders_present", shopify_orders_present),
    ("shopify.no_duplicates", shopify_no_duplicates),
    ("loop.lookup_by_zip", loop_lookup_by_zip),
    ("tiktok.return_url_matches", tiktok_return_url_matches),
    ("refunds.reach_tiktok", refunds_reach_tiktok),
)


def run_checks(desired: DesiredState, ev: Evidence) -> tuple[CheckResult, ...]:
    results = []
    for check_id, check in CHECKS:
        try:
            results.append(check(desired, ev))
        except Exception as exc:  # a bug in one check must not hide the others
            log.debug("check %s failed", check_id, exc_info=True)
            results.append(failed(check_id, f"the check itself failed: {type(exc).__name__}",
                                  "report this as a bug in reconciler"))
    return tuple(results)
