"""Shopify and Loop providers over a scripted fake."""

import json
from datetime import UTC, datetime

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import OwnershipError, ValidationError
from reconciler.http.retry import RetryPolicy
from reconciler.model import Action, Change
from reconciler.providers import LoopProvider
from reconciler.targets import SHOPIFY_API_VERSION

FAST = RetryPolicy(attempts=3, total_seconds=1, base_delay=0.01, max_delay=0.02, timeout=0.5)


def shop_answer(m, *channels):
    return {"data": {
        "shop": {"id": "gid://shopify/Shop/1", "name": "Acme", "myshopifyDomain": m.shopify_shop},
        "currentAppInstallation": {"accessScopes": [{"handle": "read_orders"}, {"handle": "read_publications"}]},
        "publications": {"nodes": [{"id": f"gid://shopify/Publication/{i}", "catalog": {"title": title}}
                                   for i, title in enumerate(channels)]}}}


async def test_shopify_read_reports_facts_in_one_request(fake, make_merchant, make_target):
    m = make_merchant()
    fake.on("POST", "/graphql.json", shop_answer(m, "Online Store", "Point of Sale"))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        snapshot = await pool.providers(m)["shopify"].read()
    assert snapshot.settings == {}
    assert snapshot.facts == {"shopify.shop_found": True,
                              "shopify.access_scopes": ("read_orders", "read_publications"),
                              "shopify.tiktok_channel": False}
    assert len(fake.seen) == 1
    assert fake.seen[0].url.path == f"/shopify/{m.shopify_shop}/admin/api/{SHOPIFY_API_VERSION}/graphql.json"
    assert "publications(" in json.loads(fake.seen[0].content)["query"]


async def test_shopify_read_sees_tiktoks_own_sales_channel(fake, make_merchant, make_target):
    m = make_merchant()
    fake.on("POST", "/graphql.json", shop_answer(m, "Online Store", "TikTok"))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        snapshot = await pool.providers(m)["shopify"].read()
    assert snapshot.facts["shopify.tiktok_channel"] is True


async def test_shopify_read_without_read_publications_asks_again_without_them(fake, make_merchant, make_target):
    m = make_merchant()
    denied = {"errors": [{"message": "Access denied for publications field. Required access: "
                                     "`read_publications` access scope.",
                          "extensions": {"code": "ACCESS_DENIED"}, "path": ["publications"]}],
              "data": None}

    def answer(request, body):
        if "publications(" in body["query"]:
            return httpx.Response(200, json=denied)
        basic = shop_answer(m)
        del basic["data"]["publications"]
        basic["data"]["currentAppInstallation"]["accessScopes"] = [{"handle": "read_orders"}]
        return httpx.Response(200, json=basic)

    fake.on("POST", "/graphql.json", answer)
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        snapshot = await pool.providers(m)["shopify"].read()
    assert snapshot.facts == {"shopify.shop_found": True, "shopify.access_scopes": ("read_orders",),
                              "shopify.tiktok_channel": None}
    assert len(fake.seen) == 2


async def test_shopify_orders_paginate_up_to_first(fake, make_merchant, make_target):
    def node(i):
        return {"id": f"gid://shopify/Order/{i}", "name": f"#{i}", "createdAt": "2025-01-01T00:00:00Z",
                "sourceName": "pipe17", "tags": ["TikTok"], "app": {"name": "Pipe17"},
                "shippingAddress": {"zip": "10001"}}

    def orders(request, body):
        start = int(body["variables"]["after"] or 0)
        first = body["variables"]["first"]
        nodes = [node(i) for i in range(start, min(start + first, 300))]
        end = start + len(nodes)
        return httpx.Response(200, json={"data": {"orders": {"nodes": nodes, "pageInfo": {
            "hasNextPage": end < 300, "endCursor": str(end)}}}})

    fake.on("POST", "/graphql.json", orders)
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        found = await pool.shopify(make_merchant()).orders("tag:TikTok", first=260)
    assert len(found) == 260 and found[0].app_name == "Pipe17" and found[0].tags == ("TikTok",)
    assert [r for r in fake.seen] and len(fake.seen) == 2


async def test_shopify_apply_is_refused(make_merchant, make_target, fake):
    m = make_merchant()
    async with ClientPool(make_target(), read_only=False, transport=fake.transport, retry=FAST) as pool:
        with pytest.raises(ValidationError, match="nothing on Shopify is managed"):
            await pool.shopify(m).apply(Change("shopify.x", Action.UPDATE, 1, 2), m)


def loop_fake(fake, portal):
    """Loop's portal settings, naming the shop the key serves (`fake.shop_domain`) unless given."""
    fake.on("GET", "/portal/settings", lambda request, body: httpx.Response(
        200, json={"shop_domain": fake.shop_domain, **portal}))

    def patch(request, body):
        portal.update(body)
        return httpx.Response(200, json=portal)

    fake.on("PATCH", "/portal/settings", patch)


async def test_loop_read_normalizes_and_apply_patches_one_field(fake, make_merchant, make_target):
    m = make_merchant()
    portal = {"portal_domain": m.loop_portal_domain, "order_lookup": "EMAIL",
              "instructions": "Enter your email.  \r\n"}
    loop_fake(fake, portal)
    async with ClientPool(make_target(), read_only=False, transport=fake.transport, retry=FAST) as pool:
        provider = pool.loop(m)
        before = await provider.read()
        await provider.apply(Change("loop.portal.instructions", Action.UPDATE, "x", "y"), m)
        after = await provider.read()
    assert before.settings == {"loop.portal.order_lookup": "email",
                               "loop.portal.instructions": "Enter your email."}
    assert before.facts == {"loop.portal_domain": m.loop_portal_domain}
    patch = [r for r in fake.seen if r.method == "PATCH"][0]
    assert patch.content == b'{"instructions":"Enter your TikTok order number and shipping zip code."}'
    assert after.settings["loop.portal.instructions"] == "Enter your TikTok order number and shipping zip code."


@pytest.mark.parametrize("raw,expected", [
    ("a\r\nb  \n\n", "a\nb"), ("a\n", "a"), ("a", "a"), ("  line\t\nnext", "line\nnext"),
])
def test_loop_instructions_normalization(raw, expected):
    assert LoopProvider.normalize("loop.portal.instructions", raw) == expected


async def test_loop_order_link_and_returns(fake, make_merchant, make_target):
    def link(request, body):
        if body == {"name": "123", "zip": "10001"}:
            return httpx.Response(200, json={"url": "https://returns-x.loopreturns.com/#/link/ab-cd"})
        if body == {"name": "123", "zip": ""}:
            return httpx.Response(400, json={"errors": ["The zip field is required."]})
        return httpx.Response(400, json={"errors": ["Order not found."]})

    fake.on("POST", "/order/link", link)
    fake.on("GET", "/warehouse/return/list", [{"id": 7, "order_name": "123", "state": "closed", "refund": "9.00"}])
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        provider = pool.loop(make_merchant())
        assert await provider.order_link("123", "10001") == "https://returns-x.loopreturns.com/#/link/ab-cd"
        assert await provider.order_link("123", "99999") is None
        with pytest.raises(ValidationError, match="The zip field is required"):
            await provider.order_link("123", "")
        returns = await provider.returns(since=datetime(2025, 1, 1, tzinfo=UTC))
    assert returns[0].id == "7" and returns[0].order_name == "123"
    [listed] = [r for r in fake.seen if r.url.path.endswith("/warehouse/return/list")]
    assert listed.url.params["from"] == "2025-01-01 00:00:00"


async def test_shopify_token_answering_for_another_shop_is_refused(fake, make_merchant, make_target):
    m = make_merchant()
    fake.on("POST", "/graphql.json", {"data": {
        "shop": {"id": "gid://shopify/Shop/2", "name": "Bright", "myshopifyDomain": "bright-basics.myshopify.com"},
        "currentAppInstallation": {"accessScopes": [{"handle": "read_orders"}]}}})
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        with pytest.raises(OwnershipError) as caught:
            await pool.providers(m)["shopify"].read()
    assert str(caught.value).startswith("shopify (merchant acme-apparel): ")
    assert "bright-basics.myshopify.com" in str(caught.value)


@pytest.mark.parametrize("service", ["loop", "pipe17"])
@pytest.mark.parametrize("answer", ["another-shop", "no-identity"])
async def test_loop_and_pipe17_keys_must_report_the_merchants_shop(fake, make_merchant, make_target,
                                                                    service, answer):
    loop_fake(fake, {"order_lookup": "zip", "instructions": "i"})
    fake.on("GET", "/integrations", {"success": True, "integrations": []})
    if answer == "another-shop":
        fake.shop_domain = "bright-basics.myshopify.com"
    elif service == "loop":
        loop_fake(fake, {"order_lookup": "zip", "instructions": "i", "shop_domain": None})
    else:
        fake.on("GET", "/api/v3/organization",
                lambda request, body: httpx.Response(200, json={"success": True, "organization": {}}))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        with pytest.raises(OwnershipError) as caught:
            await pool.providers(make_merchant())[service].read()
    message = str(caught.value)
    assert message.startswith(f"{service} (merchant acme-apparel): ")
    assert ("belongs to shop bright-basics" in message) == (answer == "another-shop")
    assert all(r.method != "PATCH" for r in fake.seen)


async def test_pipe17_without_an_identity_endpoint_writes_nothing(fake, make_merchant, make_target):
    """No such endpoint (an assumed contract): the key cannot be proven, so the integrations'
    contract is unavailable for the run (its settings become a manual action) instead of an error."""
    fake.on("GET", "/integrations", {"success": True, "integrations": []})
    fake.on("GET", "/api/v3/organization",
            lambda request, body: httpx.Response(404, json={"success": False, "code": 404}))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        snapshot = await pool.providers(make_merchant())["pipe17"].read()
    [gone] = snapshot.unavailable
    assert (gone.contract, gone.endpoint) == ("pipe17.integrations", "GET /organization")
    assert "owner cannot be proven" in gone.reason
    assert snapshot.proven == () and snapshot.settings == {}
