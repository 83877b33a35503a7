from __future__ import annotations

from tests.sandbox.sandbox_helpers import configure_refunds


async def test_integrations_connected_at_vendor_defaults(sbx, merchant) -> None:
    response = await sbx.pipe17(merchant, "GET", "/integrations", params={"skip": 0, "count": 100})
    body = response.json()
    assert body["success"] is True
    assert body["pagination"] == {"skip": 0, "count": 100, "total": 3}
    by_name = {i["connectorName"]: i for i in body["integrations"]}
    assert set(by_name) == {"TikTok Shop", "Shopify", "Loop Returns"}
    for item in by_name.values():
        assert item["status"] == "connected" and item["version"] == 1
        assert all(e["direction"] == "none" for e in item["settings"]["entities"].values())
    assert by_name["TikTok Shop"]["settings"]["options"] == {"pushRefundsToTikTok": False}
    assert by_name["Shopify"]["settings"]["options"] == {"orderSyncMode": "order"}


async def test_skip_count_pagination(sbx, merchant) -> None:
    page = (await sbx.pipe17(merchant, "GET", "/integrations", params={"skip": 2, "count": 2})).json()
    assert len(page["integrations"]) == 1 and page["pagination"]["total"] == 3
    bad = await sbx.pipe17(merchant, "GET", "/integrations", params={"count": 0})
    assert bad.status_code == 400 and bad.json()["success"] is False


async def test_update_deep_merges_and_bumps_version(sbx, merchant) -> None:
    item = await sbx.integration(merchant, "TikTok Shop")
    response = await sbx.pipe17(merchant, "PUT", f"/integrations/{item['integrationId']}", json={
        "version": 1, "settings": {"entities": {"orders": {"direction": "in"}},
                                   "options": {"pushRefundsToTikTok": True}}})
    assert response.status_code == 200
    updated = response.json()["integration"]
    assert updated["version"] == 2
    entities = updated["settings"]["entities"]
    assert entities["orders"] == {"direction": "in"} and entities["refunds"] == {"direction": "none"}
    assert updated["settings"]["options"]["pushRefundsToTikTok"] is True


async def test_stale_version_conflicts(sbx, merchant) -> None:
    item = await sbx.integration(merchant, "Shopify")
    url = f"/integrations/{item['integrationId']}"
    change = {"settings": {"options": {"orderSyncMode": "fulfillment"}}}
    assert (await sbx.pipe17(merchant, "PUT", url, json={"version": 1, **change})).status_code == 200
    stale = await sbx.pipe17(merchant, "PUT", url, json={"version": 1, **change})
    assert stale.status_code == 409
    assert stale.json()["success"] is False and stale.json()["code"] == 409
    assert (await sbx.integration(merchant, "Shopify"))["version"] == 2


async def test_invalid_settings_rejected(sbx, merchant) -> None:
    item = await sbx.integration(merchant, "Shopify")
    url = f"/integrations/{item['integrationId']}"
    for settings in ({"entities": {"orders": {"direction": "push"}}},
                     {"options": {"pushRefundsToTikTok": True}},
                     {"options": {"orderSyncMode": "sometimes"}},
                     {"flows": {}}):
        response = await sbx.pipe17(merchant, "PUT", url, json={"version": 1, "settings": settings})
        assert response.status_code == 400, settings
    assert (await sbx.pipe17(merchant, "PUT", url, json={"settings": {}})).status_code == 400


async def test_create_get_and_delete(sbx, merchant) -> None:
    created = await sbx.pipe17(merchant, "POST", "/integrations", json={"connectorName": "Loop Returns"})
    assert created.status_code == 201
    item = created.json()["integration"]
    assert item["status"] == "disconnected" and item["version"] == 1
    url = f"/integrations/{item['integrationId']}"
    assert (await sbx.pipe17(merchant, "GET", url)).json()["integration"] == item
    assert (await sbx.pipe17(merchant, "DELETE", url)).status_code == 200
    assert (await sbx.pipe17(merchant, "GET", url)).status_code == 404
    bad = await sbx.pipe17(merchant, "POST", "/integrations", json={"connectorName": "Amazon"})
    assert bad.status_code == 400


async def test_key_checked_and_scoped_to_its_org(sbx, merchant, other) -> None:
    response = await sbx.pipe17(merchant, "GET", "/integrations", key="wrong")
    assert response.status_code == 401
    assert response.json() == {"success": False, "code": 401, "message": "Unauthorized"}
    mine = await sbx.integration(merchant, "Shopify")
    theirs = await sbx.pipe17(other, "GET", f"/integrations/{mine['integrationId']}")
    assert theirs.status_code == 404


async def test_orders_with_filters(sbx, merchant) -> None:
    ext = sbx.record(merchant)["tiktok_shop"]["orders"][0]["id"]
    everything = (await sbx.pipe17(merchant, "GET", "/orders", params={"count": 100})).json()
    assert len(everything["orders"]) == 3
    one = (await sbx.pipe17(merchant, "GET", "/orders",
                            params={"filters": f"string~extOrderId~equals~{ext}"})).json()
    assert [o["extOrderId"] for o in one["orders"]] == [ext]
    bad = await sbx.pipe17(merchant, "GET", "/orders", params={"filters": "nonsense"})
    assert bad.status_code == 400


async def test_refunds_flow_derived_from_configuration(sbx, merchant) -> None:
    assert (await sbx.pipe17(merchant, "GET", "/refunds")).json()["refunds"] == []
    await configure_refunds(sbx, merchant)
    [refund] = (await sbx.pipe17(merchant, "GET", "/refunds")).json()["refunds"]
    assert refund["status"] == "pushed" and refund["source"] == "Loop Returns"
    assert refund["extOrderId"] == sbx.record(merchant)["loop"]["returns"][0]["order_name"]


