from __future__ import annotations

import time

import httpx
import pytest

from tests.sandbox.sandbox_helpers import SHOP_QUERY

PROXY = "/return_refund/202309/return_proxy"


async def test_stats_count_requests_and_writes_per_service(sbx, merchant) -> None:
    await sbx.tiktok(merchant, "GET", PROXY)
    await sbx.tiktok(merchant, "POST", "/order/202309/orders/search", params={"page_size": "5"}, body={})
    await sbx.tiktok(merchant, "PUT", PROXY, body={"partner": "LOOP_PIPE17"})
    await sbx.shopify(merchant, SHOP_QUERY)
    await sbx.loop(merchant, "POST", "/order/link", json={"name": "1", "zip": "2"})
    await sbx.loop(merchant, "PATCH", "/portal/settings", json={"order_lookup": "zip"})
    await sbx.pipe17(merchant, "GET", "/integrations", key="wrong")
    await sbx.client.get("/_sandbox/faults")
    stats = (await sbx.client.get("/_sandbox/stats")).json()
    assert stats["requests"] == 7 and stats["writes"] == 2
    assert stats["services"] == {
        "tiktok_shop": {"requests": 3, "writes": 1},
        "pipe17": {"requests": 1, "writes": 0},
        "shopify": {"requests": 1, "writes": 0},
        "loop": {"requests": 2, "writes": 1},
    }


async def test_error_rate_answers_in_each_services_shape(sbx, merchant) -> None:
    active = (await sbx.client.post("/_sandbox/faults", json={"error_rate": 1.0})).json()
    assert active["error_rate"] == 1.0 and active["throttle"] is False
    tiktok = await sbx.tiktok(merchant, "GET", PROXY)
    assert tiktok.status_code in (500, 502, 503) and tiktok.json()["code"] != 0
    pipe17 = await sbx.pipe17(merchant, "GET", "/integrations")
    assert pipe17.status_code >= 500 and pipe17.json()["success"] is False
    shopify = await sbx.shopify(merchant, SHOP_QUERY)
    assert shopify.status_code >= 500 and "errors" in shopify.json()
    loop = await sbx.loop(merchant, "GET", "/portal/settings")
    assert loop.status_code >= 500 and loop.json()["error"]["code"] == str(loop.status_code)


async def test_faults_scoped_per_service_and_reset_by_omission(sbx, merchant) -> None:
    await sbx.client.post("/_sandbox/faults", json={"services": {"pipe17": {"error_rate": 1.0}}})
    assert (await sbx.pipe17(merchant, "GET", "/integrations")).status_code >= 500
    assert (await sbx.loop(merchant, "GET", "/portal/settings")).status_code == 200
    active = (await sbx.client.post("/_sandbox/faults", json={})).json()
    assert active["services"] == {} and active["error_rate"] == 0.0
    assert (await sbx.pipe17(merchant, "GET", "/integrations")).status_code == 200


async def test_a_service_can_be_spared_from_the_base_faults(sbx, merchant) -> None:
    await sbx.client.post("/_sandbox/faults",
                          json={"error_rate": 1.0, "services": {"loop": {"error_rate": 0}}})
    assert (await sbx.loop(merchant, "GET", "/portal/settings")).status_code == 200
    assert (await sbx.pipe17(merchant, "GET", "/integrations")).status_code >= 500


async def test_services_without_faults_take_no_draws(sbx, merchant) -> None:
    # The seeded sequence of one service's fates does not depend on requests
    # to services that have no fault.
    async def run(interleave: bool) -> list[int]:
        await sbx.client.post("/_sandbox/faults",
                              json={"services": {"loop": {"error_rate": 0.5}}, "seed": 3})
        codes = []
        for _ in range(12):
            if interleave:
                assert (await sbx.pipe17(merchant, "GET", "/integrations")).status_code == 200
            codes.append((await sbx.loop(merchant, "GET", "/portal/settings")).status_code)
        return codes

    alone = await run(False)
    assert alone == await run(True)
    assert 200 in alone and any(code >= 500 for code in alone)


async def test_write_error_rate_spares_reads(sbx, merchant) -> None:
    await sbx.client.post("/_sandbox/faults", json={"write_error_rate": 1.0})
    assert (await sbx.loop(merchant, "GET", "/portal/settings")).status_code == 200
    write = await sbx.loop(merchant, "PATCH", "/portal/settings", json={"order_lookup": "zip"})
    assert write.status_code >= 500
    assert sbx.record(merchant)["loop"]["portal"]["order_lookup"] == "email"


async def test_throttle_answers_429_with_retry_after_only_where_the_vendor_sends_it(sbx, merchant) -> None:
    await sbx.client.post("/_sandbox/faults", json={"throttle": True, "throttle_rate": 1.0})
    tiktok = await sbx.tiktok(merchant, "GET", PROXY)
    assert (tiktok.status_code, tiktok.json()["code"]) == (429, 36009002)
    assert "retry-after" not in tiktok.headers  # TikTok publishes none
    pipe17 = await sbx.pipe17(merchant, "GET", "/integrations")
    assert pipe17.status_code == 429 and pipe17.headers["retry-after"]
    loop = await sbx.loop(merchant, "GET", "/portal/settings")
    assert loop.status_code == 429 and "retry-after" not in loop.headers
    shopify = (await sbx.shopify(merchant, SHOP_QUERY)).json()
    assert shopify["errors"][0]["extensions"]["code"] == "THROTTLED"


async def test_tiktok_rate_limit_envelope_in_http_200_for_a_counted_number_of_requests(sbx, merchant) -> None:
    await sbx.client.post("/_sandbox/faults", json={
        "services": {"tiktok_shop": {"throttle_requests": 2, "throttle_status": 200}}})
    answers = [await sbx.tiktok(merchant, "GET", PROXY) for _ in range(3)]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(200, 36009002), (200, 36009002), (200, 0)]
    assert answers[0].json()["message"].startswith("Too many requests")


async def test_bad_throttle_keys_are_refused(sbx) -> None:
    for bad in ({"throttle_status": 503}, {"throttle_requests": -1}, {"throttle_requests": 1.5}):
        response = await sbx.client.post("/_sandbox/faults", json=bad)
        assert response.status_code == 422 and "throttle_" in response.text, bad


async def test_seeded_draws_are_reproducible(sbx, merchant) -> None:
    async def run() -> list[int]:
        await sbx.client.post("/_sandbox/faults", json={"error_rate": 0.5, "seed": 7})
        return [(await sbx.loop(merchant, "GET", "/portal/settings")).status_code for _ in range(12)]

    first = await run()
    assert first == await run()
    assert 200 in first and any(code >= 500 for code in first)


async def test_latency(sbx, merchant) -> None:
    await sbx.client.post("/_sandbox/faults", json={"latency_ms": 50})
    started = time.monotonic()
    await sbx.loop(merchant, "GET", "/portal/settings")
    assert time.monotonic() - started >= 0.05


async def test_drop_is_a_transport_error(sbx, merchant) -> None:
    await sbx.client.post("/_sandbox/faults", json={"drop_rate": 1.0})
    with pytest.raises(httpx.TransportError):
        await sbx.loop(merchant, "GET", "/portal/settings")


async def test_invalid_faults_rejected(sbx) -> None:
    for payload in ({"error_rate": 2}, {"nope": 1}, {"throttle": "yes"},
                    {"services": {"ebay": {"error_rate": 0.1}}}, [1]):
        response = await sbx.client.post("/_sandbox/faults", json=payload)
        assert response.status_code == 422, payload


async def test_reset_reseeds_and_clears(sbx, merchant) -> None:
    await sbx.loop(merchant, "PATCH", "/portal/settings", json={"order_lookup": "zip"})
    await sbx.client.post("/_sandbox/faults", json={"latency_ms": 5})
    reset = await sbx.client.post("/_sandbox/reset")
    assert reset.json()["merchants"] == ["acme-apparel", "bolt-outdoor"]
    assert (await sbx.client.get("/_sandbox/stats")).json()["requests"] == 0
    assert (await sbx.client.get("/_sandbox/faults")).json()["latency_ms"] == 0
    assert (await sbx.loop(merchant, "GET", "/portal/settings")).json()["order_lookup"] == "email"


async def test_state_dump_redacts_credentials(sbx, merchant) -> None:
    from reconciler.sandbox.seed import credentials_of

    text = (await sbx.client.get("/_sandbox/state")).text
    for value in credentials_of(merchant).values():
        assert value not in text
    assert merchant.shopify_shop in text


async def test_limits_endpoint(sbx) -> None:
    assert (await sbx.client.post("/_sandbox/limits", json={"loop_per_minute": 5})).json()["loop_per_minute"] == 5
    assert (await sbx.client.post("/_sandbox/limits", json={"loop_per_minute": 0})).status_code == 422
    assert (await sbx.client.get("/_sandbox/health")).json() == {"ok": True, "merchants": 2}
