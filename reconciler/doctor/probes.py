"""Probing every endpoint the product uses, read-only, for one merchant.

One cheap read per probed endpoint (reconciler/declarations/endpoints.py
marks which), concurrently after TikTok's shop list (which gives the shop
cipher the shop-scoped probes need). Writes are never sent: a write endpoint
is reported with the result of its contract's read, which is what decides
whether apply may use it in a run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler import declarations
from reconciler.declarations import ContractStatus, Endpoint
from reconciler.http.client import ServiceClient
from reconciler.http.errors import AuthError, ServiceError, endpoint_missing
from reconciler.model import DesiredState
from reconciler.providers.base import answer_of, shape_problem
from reconciler.providers.shopify import ORDERS_QUERY, SHOP_BASIC_QUERY, SHOP_QUERY

AVAILABLE, UNAVAILABLE, REFUSED, MISSING_SCOPE = "available", "unavailable", "credential refused", "missing scope"
ERROR, NOT_PROBED = "error", "not probed"
_SCOPE_CODES = {"105005", "ACCESS_DENIED"}  # TikTok: missing access scope; Shopify: access denied


@dataclass(frozen=True)
class Probe:
    endpoint: Endpoint
    result: str
    reason: str = ""

    @property
    def status(self) -> ContractStatus:
        return declarations.BY_CONTRACT_ID[self.endpoint.contract].status

    @property
    def unusable(self) -> bool:
        """Something the plan needs does not work: exit 1.

        An unavailable *assumed* endpoint is not: the plan degrades to manual
        actions for it. A credential refused or a missing scope always is.
        """
        if self.result in (AVAILABLE, NOT_PROBED):
            return False
        return not (self.result == UNAVAILABLE and self.status is ContractStatus.ASSUMED)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.endpoint.id, "service": self.endpoint.service,
                "endpoint": self.endpoint.call, "contract": self.endpoint.contract,
                "status": self.status.value, "result": self.result, "reason": self.reason,
                "scopes": list(self.endpoint.scopes)}


def classify(exc: ServiceError) -> tuple[str, str]:
    answer = answer_of(exc)
    if endpoint_missing(exc):
        return UNAVAILABLE, answer
    if isinstance(exc, AuthError) or exc.status in (401, 403):
        scope = exc.code in _SCOPE_CODES or exc.status == 403
        return (MISSING_SCOPE if scope else REFUSED), answer
    return ERROR, answer


Call = Callable[[], Awaitable[Any]]


async def _probe(endpoint_id: str, call: Call, accept: Callable[[ServiceError], bool] | None = None) -> Probe:
    endpoint = declarations.BY_ENDPOINT_ID[endpoint_id]
    contract = declarations.BY_CONTRACT_ID[endpoint.contract]
    try:
        payload = await call()
    except ServiceError as exc:
        if accept is not None and accept(exc):
            return Probe(endpoint, AVAILABLE, f"answered {exc.status} to an empty probe, as expected")
        return Probe(endpoint, *classify(exc))
    if contract.status is ContractStatus.ASSUMED and contract.read == endpoint_id:
        problem = shape_problem(contract.id, payload)
        if problem is not None:
            return Probe(endpoint, UNAVAILABLE, f"the answer is not the assumed contract's shape: {problem}")
    return Probe(endpoint, AVAILABLE)


def _refused_request(exc: ServiceError) -> bool:
    """An empty deep-link request answered as invalid: the endpoint exists and takes the key."""
    return exc.status in (400, 422)


async def probe_merchant(desired: DesiredState, clients: Mapping[str, ServiceClient]) -> list[Probe]:
    """Every declared endpoint's result for `desired`, in the declarations' order."""
    tiktok, shopify, pipe17, loop = (clients[s] for s in ("tiktok_shop", "shopify", "pipe17", "loop"))
    cipher: dict[str, str] = {}

    async def shops() -> Any:
        reply = await tiktok.request("GET", "/authorization/202309/shops")
        for shop in (reply.get("data") or {}).get("shops") or []:
            if str(shop.get("id")) == desired.tiktok_shop_id and shop.get("cipher"):
                cipher["value"] = shop["cipher"]
        return reply

    first = await _probe("tiktok_shop.shops", shops)
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    calls: dict[str, tuple[Call, Callable[[ServiceError], bool] | None]] = {
        "shopify.shop": (lambda: shopify.graphql(SHOP_QUERY), None),
        "shopify.shop_basic": (lambda: shopify.graphql(SHOP_BASIC_QUERY), None),
        "shopify.orders": (lambda: shopify.graphql(ORDERS_QUERY, {"first": 1}), None),
        "pipe17.integrations.read": (lambda: pipe17_page("/integrations", "integrations"), None),
        "pipe17.organization": (lambda: pipe17.request("GET", "/organization"), None),
        "pipe17.refunds": (lambda: pipe17_page("/refunds", "refunds"), None),
        "loop.portal_settings.read": (lambda: loop.request("GET", "/portal/settings"), None),
        "loop.order_link": (lambda: loop.request("POST", "/order/link", json={}), _refused_request),
        "loop.returns": (lambda: loop.request("GET", "/warehouse/return/list",
                                              params={"from": since, "paginate": "true",
                                                      "pageSize": 1}), None),
    }

    async def pipe17_page(path: str, key: str) -> Any:
        reply = await pipe17.request("GET", path, params={"skip": 0, "count": 1})
        return {key: (reply or {}).get(key)} if isinstance(reply, dict) else reply

    if "value" in cipher:
        shop = {"shop_cipher": cipher["value"]}
        calls["tiktok_shop.return_proxy.read"] = (
            lambda: _data(tiktok.request("GET", "/return_refund/202309/return_proxy", params=shop)), None)
        calls["tiktok_shop.orders_search"] = (lambda: tiktok.request(
            "POST", "/order/202309/orders/search", params={**shop, "page_size": 1}, json={}), None)
        calls["tiktok_shop.returns_search"] = (lambda: tiktok.request(
            "POST", "/return_refund/202309/returns/search", params={**shop, "page_size": 1}, json={}),
            None)
    found = await asyncio.gather(*(_probe(i, call, accept) for i, (call, accept) in calls.items()))
    results = {p.endpoint.id: p for p in (first, *found)}
    return [_result(e, results, desired) for e in declarations.ENDPOINTS]


async def _data(reply: Awaitable[Any]) -> Any:
    return (await reply).get("data")


def _result(endpoint: Endpoint, results: Mapping[str, Probe], desired: DesiredState) -> Probe:
    if endpoint.id in results:
        return results[endpoint.id]
    contract = declarations.BY_CONTRACT_ID[endpoint.contract]
    read = results.get(contract.read or "")
    if read is not None and not endpoint.probe:
        return Probe(endpoint, read.result,
                     f"a write, never sent by doctor: follows {read.endpoint.call}"
                     + (f" ({read.reason})" if read.reason else ""))
    shops = results.get("tiktok_shop.shops")
    why = (f"shop {desired.tiktok_shop_id} is not among the app's authorized shops"
           if shops is not None and shops.result == AVAILABLE else "TikTok's shop list could not be read")
    return Probe(endpoint, NOT_PROBED, why)
