from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.sandbox import SCENARIOS, ScenarioError, load_scenarios
from reconciler.sandbox.clock import CLOCK_ENV, clock_from_env
from reconciler.sandbox.scenarios import ENV_VAR
from reconciler.targets import SHOPIFY_API_VERSION
from tests.clock import months_after
from tests.sandbox.sandbox_helpers import ORDERS_QUERY, configure_refunds

PROXY = "/return_refund/202309/return_proxy"
PUBLICATIONS = "{ publications(first: 5, catalogType: APP) { nodes { catalog { title } } } }"
RETURNS = "/return_refund/202309/returns/search"


def test_load_scenarios_merges_file_env_and_extra(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "_sandbox.yaml").write_text(
        "scenarios:\n  acme-apparel: [half-configured]\n  bolt-outdoor: duplicate-order\n")
    monkeypatch.setenv(ENV_VAR, "acme-apparel=refunds-not-pushed, bolt-outdoor=tiktok-connector-on")
    selected = load_scenarios(tmp_path, ["acme-apparel=tiktok-unauthorized"])
    assert selected == {
        "acme-apparel": {"half-configured", "refunds-not-pushed", "tiktok-unauthorized"},
        "bolt-outdoor": {"duplicate-order", "tiktok-connector-on"},
    }


def test_load_scenarios_rejects_unknown_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert load_scenarios(tmp_path) == {}
    with pytest.raises(ScenarioError, match="unknown sandbox scenario 'nope'"):
        load_scenarios(tmp_path, ["acme=nope"])
    with pytest.raises(ScenarioError, match="slug=scenario"):
        load_scenarios(tmp_path, ["acme"])


def test_every_scenario_is_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "sandbox.md").read_text()
    for name in SCENARIOS:
        assert f"`{name}`" in docs


async def test_return_proxy_not_installed(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"return-proxy-not-installed"}})
    assert (await sbx.tiktok(merchant, "GET", PROXY)).json()["data"]["installed"] is False
    write = await sbx.tiktok(merchant, "PUT", PROXY, body={"partner": "LOOP_PIPE17"})
    assert (write.status_code, write.json()["code"]) == (400, 17003001)


async def test_tiktok_unauthorized(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"tiktok-unauthorized"}})
    shops = await sbx.tiktok(merchant, "GET", "/authorization/202309/shops", shop=False)
    assert shops.json()["code"] == 0 and shops.json()["data"]["shops"] == []
    proxy = await sbx.tiktok(merchant, "GET", PROXY)
    assert (proxy.status_code, proxy.json()["code"]) == (403, 105005)


async def test_pipe17_shopify_disconnected_and_loop_missing(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"pipe17-shopify-disconnected", "pipe17-loop-missing"}})
    items = (await sbx.pipe17(merchant, "GET", "/integrations")).json()["integrations"]
    status = {i["connectorName"]: i["status"] for i in items}
    assert status == {"TikTok Shop": "connected", "Shopify": "disconnected"}


async def test_half_configured(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"half-configured"}})
    proxy = (await sbx.tiktok(merchant, "GET", PROXY)).json()["data"]
    assert proxy["partner"] == "LOOP_PIPE17" and "email=" in proxy["return_url_template"]
    tiktok = await sbx.integration(merchant, "TikTok Shop")
    assert tiktok["settings"]["entities"]["orders"]["direction"] == "in"
    assert tiktok["settings"]["entities"]["refunds"]["direction"] == "none"
    shopify = await sbx.integration(merchant, "Shopify")
    assert shopify["settings"]["options"]["orderSyncMode"] == "order"
    portal = (await sbx.loop(merchant, "GET", "/portal/settings")).json()
    assert portal["order_lookup"] == "zip" and "email" in portal["instructions"]


async def test_order_missing_in_shopify(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"order-missing-in-shopify"}})
    tiktok_ids = {o["id"] for o in sbx.record(merchant)["tiktok_shop"]["orders"]}
    nodes = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 10})).json()["data"]["orders"]["nodes"]
    assert len(tiktok_ids - {n["name"] for n in nodes}) == 1


async def test_duplicate_order(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"duplicate-order"}})
    nodes = (await sbx.shopify(merchant, ORDERS_QUERY, {"first": 10})).json()["data"]["orders"]["nodes"]
    names = [n["name"] for n in nodes]
    [twice] = {n for n in names if names.count(n) == 2}
    assert sorted(n["app"]["name"] for n in nodes if n["name"] == twice) == ["Pipe17", "TikTok"]


async def test_loop_email_lookup_locked(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"loop-email-lookup-locked"}})
    await sbx.loop(merchant, "PATCH", "/portal/settings", json={"order_lookup": "zip"})
    assert (await sbx.loop(merchant, "GET", "/portal/settings")).json()["order_lookup"] == "zip"
    order = sbx.record(merchant)["tiktok_shop"]["orders"][0]
    link = {"name": order["id"], "zip": order["recipient_address"]["postal_code"]}
    assert (await sbx.loop(merchant, "POST", "/order/link", json=link)).status_code == 400


async def test_refunds_reach_tiktok_only_when_configured(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant])
    refunded = sbx.record(merchant)["loop"]["returns"][0]["order_name"]
    search = {"params": {"page_size": "10"}, "body": {"order_ids": [refunded]}}
    assert (await sbx.tiktok(merchant, "POST", RETURNS, **search)).json()["data"]["return_orders"] == []
    await configure_refunds(sbx, merchant)
    [entry] = (await sbx.tiktok(merchant, "POST", RETURNS, **search)).json()["data"]["return_orders"]
    assert entry["order_id"] == refunded
    assert entry["return_status"] == "RETURN_OR_REFUND_REQUEST_COMPLETE"


async def test_refunds_not_pushed(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"refunds-not-pushed"}})
    await configure_refunds(sbx, merchant)
    [refund] = (await sbx.pipe17(merchant, "GET", "/refunds")).json()["refunds"]
    assert refund["status"] == "new"
    search = await sbx.tiktok(merchant, "POST", RETURNS, params={"page_size": "10"}, body={})
    assert search.json()["data"]["return_orders"] == []


async def test_tiktok_connector_on(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"tiktok-connector-on"}})
    body = (await sbx.shopify(merchant, PUBLICATIONS)).json()
    assert "TikTok" in [n["catalog"]["title"] for n in body["data"]["publications"]["nodes"]]


async def test_shopify_publications_scope_missing(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"shopify-publications-scope-missing"}})
    body = (await sbx.shopify(merchant, PUBLICATIONS)).json()
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert "read_publications" in body["errors"][0]["message"]
    assert body["data"] is None  # `publications` is non-null: the whole answer is null


async def test_shopify_version_unsupported(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"shopify-version-unsupported"}})
    response = await sbx.shopify(merchant, PUBLICATIONS)
    assert response.json()["data"]["publications"]
    assert response.headers["x-shopify-api-version"] > SHOPIFY_API_VERSION
    assert "versioning" in response.headers["x-shopify-api-deprecated-reason"]


async def test_the_sandbox_calendar_decides_when_a_version_falls_forward(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant])
    sbx.emulator.clock = clock_from_env({CLOCK_ENV: months_after(SHOPIFY_API_VERSION, 11)})
    inside = await sbx.shopify(merchant, PUBLICATIONS)
    assert inside.headers["x-shopify-api-version"] == SHOPIFY_API_VERSION
    assert "x-shopify-api-deprecated-reason" not in inside.headers
    sbx.emulator.clock = clock_from_env({CLOCK_ENV: months_after(SHOPIFY_API_VERSION, 12)})
    past = await sbx.shopify(merchant, PUBLICATIONS)
    assert past.headers["x-shopify-api-version"] == months_after(SHOPIFY_API_VERSION, 3)[:7]
    assert "versioning" in past.headers["x-shopify-api-deprecated-reason"]


def test_every_scenario_is_tested() -> None:
    source = Path(__file__).read_text()
    for name in SCENARIOS:
        assert f'"{name}"' in source, name


async def test_set_up_by_hand_leaves_the_standard_recipe(make_sandbox, merchant) -> None:
    sbx = make_sandbox([merchant], {merchant.slug: {"set-up-by-hand"}})
    proxy = (await sbx.tiktok(merchant, "GET", PROXY)).json()["data"]
    assert proxy["partner"] == "LOOP_PIPE17"
    assert proxy["return_url_template"].endswith("/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]")
    tiktok = await sbx.integration(merchant, "TikTok Shop")
    assert tiktok["settings"]["entities"]["refunds"]["direction"] == "out"
    assert tiktok["settings"]["options"]["pushRefundsToTikTok"] is True
    shopify = await sbx.integration(merchant, "Shopify")
    assert shopify["settings"]["options"]["orderSyncMode"] == "fulfillment"
    portal = (await sbx.loop(merchant, "GET", "/portal/settings")).json()
    assert portal["order_lookup"] == "zip" and "zip code" in portal["instructions"]
