"""(a) Every answer the sandbox gives the TikTok provider has the shape TikTok publishes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.http.errors import ServiceError
from reconciler.sandbox import state
from tests.contract.conftest import Wired
from tests.contract.records import RB_API, SKIT, body, load, missing, shape_errors

SHOPS = (RB_API / "authorization_202309_shops.json", SKIT / "AuthorizationGetShopsResponse.json")
ORDERS_SEARCH = (RB_API / "order_202309_orders_search.json", SKIT / "OrderSearchOrdersResponse.json")
ORDERS_GET = (SKIT / "OrderBatchGetOrderDetailResponse.json",)
RETURNS_SEARCH = (SKIT / "ReturnRefundSearchReturnsResponse.json",)


def assert_published(answer: Any, records: tuple[Path, ...], read: list[str]) -> None:
    """Same envelope and `data` keys as the record, no invented field or type, and what we read."""
    for path in records:
        documented = body(path)
        assert shape_errors(answer, documented) == [], path.name
        assert set(answer) == set(documented), path.name
        assert set(answer["data"]) == set(documented["data"]), path.name
    assert missing(answer, read) == []


@pytest.fixture
async def exchanged(wired: Wired, monkeypatch: pytest.MonkeyPatch) -> Wired:
    # The shape, not Pipe17's routing, is under test: let the seeded Loop refund reach TikTok.
    monkeypatch.setattr(state, "refunds_pushed_to_tiktok", lambda record: True)
    async with wired.pool() as pool:
        tiktok = pool.tiktok_shop(wired.merchant)
        orders = await tiktok.search_orders(since=0)
        assert await tiktok.search_returns([o.id for o in orders])
        cipher = await tiktok.shop_cipher()
        await tiktok._client.request(  # orders by id: the sandbox serves it, the record shows it
            "GET", "/order/202309/orders", params={"shop_cipher": str(cipher), "ids": orders[0].id})
    return wired


async def test_authorized_shops(exchanged: Wired) -> None:
    [answer] = exchanged.transport.answers("GET", "/authorization/202309/shops")
    assert_published(answer.body, SHOPS, ["data.shops[].id", "data.shops[].cipher"])


async def test_orders_search(exchanged: Wired) -> None:
    [answer] = exchanged.transport.answers("POST", "/order/202309/orders/search")
    assert_published(answer.body, ORDERS_SEARCH, [
        "data.orders[].id", "data.orders[].status", "data.orders[].create_time",
        "data.orders[].recipient_address.postal_code", "data.next_page_token"])


async def test_orders_get(exchanged: Wired) -> None:
    [answer] = exchanged.transport.answers("GET", "/order/202309/orders")
    assert_published(answer.body, ORDERS_GET, ["data.orders[].id", "data.orders[].status"])


async def test_returns_search(exchanged: Wired) -> None:
    [answer] = exchanged.transport.answers("POST", "/return_refund/202309/returns/search")
    assert_published(answer.body, RETURNS_SEARCH, [
        "data.return_orders[].return_id", "data.return_orders[].order_id",
        "data.return_orders[].return_status", "data.return_orders[].refund_amount.refund_total",
        "data.return_orders[].refund_amount.currency"])


async def test_error_envelopes_keep_the_envelope_and_a_documented_code(wired: Wired) -> None:
    codes = {int(p["code"]) for p in load(RB_API / "error_list.json")["pairs"]}
    success = body(SHOPS[0])
    async with wired.pool() as pool:
        client = pool.tiktok_shop(wired.merchant)._client
        for path in ("/nothing/202309/here", "/order/202309/orders/search"):
            with pytest.raises(ServiceError):  # the answer, not the raise, is under test here
                await client.request("GET", path)
    answers = [e for e in wired.transport.exchanges if e.status != 200]
    assert [a.status for a in answers] == [404, 405]
    for answer in answers:
        assert set(answer.body) == set(success)
        assert answer.body["code"] in codes and isinstance(answer.body["message"], str)
