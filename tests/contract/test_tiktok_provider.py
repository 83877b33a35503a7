"""(b) The TikTok provider reads the published samples right; (c) its requests are as published."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import OwnershipError
from reconciler.providers.tiktok_shop import TikTokOrder, TikTokReturn
from reconciler.sandbox.seed import credentials_of
from reconciler.sandbox.tiktok_sign import sign
from tests.contract.conftest import FAST
from tests.contract.records import RB_API, SKIT, body, shape_errors

SHOP_ID = "7000714532876273420"  # the samples' shop
CIPHER = "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3"
SHOP_SCOPED = {"/order/202309/orders/search", "/return_refund/202309/returns/search"}
PUBLISHED = {"/authorization/202309/shops", *SHOP_SCOPED}


def last_page(path: Path, key: str) -> Any:
    """The sample as a page with no successor (the samples all promise a next page)."""
    page = copy.deepcopy(body(path))
    page["data"]["next_page_token"] = ""
    return page


def paged(first: Any, then: Any) -> Any:
    def route(request: httpx.Request, _body: Any) -> httpx.Response:
        return httpx.Response(200, json=then if request.url.params.get("page_token") else first)

    return route


@pytest.fixture
def shop(fake, make_merchant):
    m = make_merchant(tiktok_shop_id=SHOP_ID)
    fake.on("GET", "/authorization/202309/shops", body(RB_API / "authorization_202309_shops.json"))
    return m


@pytest.mark.parametrize("sample", [RB_API / "authorization_202309_shops.json",
                                    SKIT / "AuthorizationGetShopsResponse.json"])
async def test_shop_cipher_from_the_authorized_shops_sample(fake, make_merchant, make_target, sample) -> None:
    fake.on("GET", "/authorization/202309/shops", body(sample))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        assert await pool.tiktok_shop(make_merchant(tiktok_shop_id=SHOP_ID)).shop_cipher() == CIPHER
        with pytest.raises(OwnershipError, match="authorized for 1 other shop"):
            await pool.tiktok_shop(make_merchant("other-shop")).shop_cipher()


@pytest.mark.parametrize("sample", [RB_API / "order_202309_orders_search.json",
                                    SKIT / "OrderSearchOrdersResponse.json"])
async def test_orders_from_the_orders_search_sample(fake, shop, make_target, sample) -> None:
    fake.on("POST", "/order/202309/orders/search", paged(body(sample), last_page(sample, "orders")))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        orders = await pool.tiktok_shop(shop).search_orders(since=1619000000)
    # Both pages: the sample's next_page_token is followed once.
    assert orders == [TikTokOrder("576461413038785752", "UNPAID", 1619611561, "95110")] * 2
    searches = [r for r in fake.seen if r.url.path.endswith("/orders/search")]
    assert searches[1].url.params["page_token"] == body(sample)["data"]["next_page_token"]


async def test_refunds_from_the_returns_search_sample(fake, shop, make_target) -> None:
    sample = SKIT / "ReturnRefundSearchReturnsResponse.json"
    empty = {**last_page(sample, "return_orders"), "data": {"return_orders": [], "next_page_token": ""}}
    fake.on("POST", "/return_refund/202309/returns/search", paged(body(sample), empty))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        returns = await pool.tiktok_shop(shop).search_returns(["577686530908261117"])
    assert returns == [TikTokReturn("4035318504086604100", "577686530908261117",
                                    "RETURN_OR_REFUND_REQUEST_PENDING", "1.23", "USD")]


async def test_every_request_is_as_published(fake, shop, make_target) -> None:
    orders = RB_API / "order_202309_orders_search.json"
    returns = SKIT / "ReturnRefundSearchReturnsResponse.json"
    fake.on("POST", "/order/202309/orders/search", last_page(orders, "orders"))
    fake.on("POST", "/return_refund/202309/returns/search", last_page(returns, "return_orders"))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        provider = pool.tiktok_shop(shop)
        await provider.search_orders(since=1619000000)
        await provider.search_returns(["577686530908261117"])
    secret = credentials_of(shop)["tiktok_app_secret"]
    documented_bodies = {"/order/202309/orders/search": body(SKIT / "OrderSearchOrdersRequest.json"),
                         "/return_refund/202309/returns/search":
                             body(SKIT / "ReturnRefundSearchReturnsRequest.json")}
    assert {r.url.path.removeprefix("/tiktok") for r in fake.seen} == PUBLISHED
    for request in fake.seen:
        path = request.url.path.removeprefix("/tiktok")
        query = request.url.params
        assert request.headers["content-type"] == "application/json", path  # GET included
        assert request.headers["x-tts-access-token"] == credentials_of(shop)["tiktok_access_token"]
        assert {"app_key", "timestamp", "sign"} <= set(query) and query["timestamp"].isdigit()
        assert ("shop_cipher" in query) == (path in SHOP_SCOPED), path
        assert query["sign"] == sign(secret, path, query.multi_items(), request.content)
        if path in SHOP_SCOPED:
            assert query["shop_cipher"] == CIPHER and 1 <= int(query["page_size"]) <= 100
            assert request.method == "POST"
            assert shape_errors(json.loads(request.content), documented_bodies[path]) == [], path
        else:
            assert request.method == "GET" and not request.content
