"""TikTok Shop provider over a scripted fake: request economy, normalization, one-key writes."""

import asyncio

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import OwnershipError
from reconciler.http.retry import RetryPolicy
from reconciler.model import Action, Change
from reconciler.providers import TikTokShopProvider

FAST = RetryPolicy(attempts=3, total_seconds=1, base_delay=0.01, max_delay=0.02, timeout=0.5)


def envelope(data):
    return {"code": 0, "message": "Success", "data": data, "request_id": "r1"}


def script(fake, shop_ids, proxy):
    fake.on("GET", "/authorization/202309/shops",
            envelope({"shops": [{"id": s, "name": s, "cipher": f"C-{s}"} for s in shop_ids]}))
    fake.on("GET", "/return_refund/202309/return_proxy", lambda request, body: httpx.Response(
        200, json=envelope(proxy | {"cipher_seen": request.url.params["shop_cipher"]})))
    fake.on("PUT", "/return_refund/202309/return_proxy", lambda request, body: httpx.Response(
        200, json=envelope(proxy | body)))


async def test_read_normalizes_and_reports_facts(fake, make_merchant, make_target):
    m = make_merchant()
    script(fake, [m.tiktok_shop_id], {"installed": True, "partner": "LOOP_PIPE17",
                                      "return_url_template": " https://r/ "})
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        snapshot = await pool.providers(m)["tiktok_shop"].read()
    assert snapshot.settings == {"tiktok_shop.return_proxy.partner": "loop_pipe17",
                                 "tiktok_shop.return_proxy.return_url": "https://r/"}
    assert snapshot.facts == {"tiktok_shop.authorized": True, "tiktok_shop.return_proxy.installed": True}
    proxy_read = [r for r in fake.seen if r.url.path.endswith("return_proxy")][0]
    assert proxy_read.url.params["shop_cipher"] == f"C-{m.tiktok_shop_id}"


async def test_unauthorized_shop_reads_one_request(fake, make_merchant, make_target):
    script(fake, [], {})
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        snapshot = await pool.providers(make_merchant())["tiktok_shop"].read()
    assert snapshot.facts["tiktok_shop.authorized"] is False
    assert snapshot.settings == {}
    assert len(fake.seen) == 1


async def test_token_authorized_only_for_other_shops_is_not_this_merchants(fake, make_merchant,
                                                                          make_target):
    script(fake, ["someone-else"], {"installed": True})
    merchant = make_merchant()
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        with pytest.raises(OwnershipError) as caught:
            await pool.providers(merchant)["tiktok_shop"].read()
    message = str(caught.value)
    assert "tiktok_shop (merchant acme-apparel)" in message and merchant.tiktok_shop_id in message
    assert fake.count("GET", "/return_proxy") == 0  # nothing more is asked with a foreign token


async def test_shop_list_is_fetched_once_per_run_per_credentials(fake, make_merchant, make_target):
    merchants = [make_merchant(f"m{i}", shared_tiktok_token=True) for i in range(5)]
    script(fake, [m.tiktok_shop_id for m in merchants], {"installed": True})
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        await asyncio.gather(*(pool.providers(m)["tiktok_shop"].read() for m in merchants))
    assert fake.count("GET", "/shops") == 1
    assert fake.count("GET", "/return_proxy") == 5


async def test_apply_puts_only_the_changed_key_in_wire_case(fake, make_merchant, make_target):
    m = make_merchant()
    script(fake, [m.tiktok_shop_id], {"installed": True, "partner": None, "return_url_template": None})
    change = Change("tiktok_shop.return_proxy.partner", Action.CREATE, None, "loop_pipe17")
    async with ClientPool(make_target(), read_only=False, transport=fake.transport, retry=FAST) as pool:
        await pool.providers(m)["tiktok_shop"].apply(change, m)
    put = [r for r in fake.seen if r.method == "PUT"][0]
    assert put.content == b'{"partner":"LOOP_PIPE17"}'
    assert "sign" in put.url.params


async def test_search_orders_follows_next_page_token(fake, make_merchant, make_target):
    m = make_merchant()
    script(fake, [m.tiktok_shop_id], {})
    pages = {"": ("t2", [{"id": "1", "status": "DELIVERED", "create_time": 5,
                          "recipient_address": {"postal_code": "10001"}}]),
             "t2": ("", [{"id": "2", "status": "COMPLETED", "create_time": 6}])}

    def search(request, body):
        token, rows = pages[request.url.params.get("page_token", "")]
        assert body == {"create_time_ge": 1}
        return httpx.Response(200, json=envelope({"orders": rows, "next_page_token": token}))

    fake.on("POST", "/order/202309/orders/search", search)
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        orders = await pool.tiktok_shop(m).search_orders(since=1)
    assert [(o.id, o.postal_code) for o in orders] == [("1", "10001"), ("2", None)]


async def test_search_returns(fake, make_merchant, make_target):
    m = make_merchant()
    script(fake, [m.tiktok_shop_id], {})
    fake.on("POST", "/returns/search", envelope({"return_orders": [
        {"return_id": "r1", "order_id": "1", "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
         "refund_amount": {"refund_total": "9.00", "currency": "USD"}}]}))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        provider = pool.tiktok_shop(m)
        assert await provider.search_returns([]) == []
        returns = await provider.search_returns(["1"])
    assert (returns[0].order_id, returns[0].refund_total, returns[0].currency) == ("1", "9.00", "USD")


@pytest.mark.parametrize("value,expected", [("LOOP_PIPE17", "loop_pipe17"), (" Loop_Pipe17 ", "loop_pipe17")])
def test_partner_normalization(value, expected):
    assert TikTokShopProvider.normalize("tiktok_shop.return_proxy.partner", value) == expected
