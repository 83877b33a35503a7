from __future__ import annotations

import time

import httpx

from reconciler.sandbox.seed import credentials_of
from reconciler.sandbox.tiktok_sign import sign, signed_query

SHOPS = "/authorization/202309/shops"
ORDERS = "/order/202309/orders/search"
PROXY = "/return_refund/202309/return_proxy"


def test_signing_test_vector() -> None:
    assert sign("app_secret", "/test-api", {"foo": "bar"}) == (
        "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
    )


def test_signing_ignores_sign_and_access_token_and_covers_body() -> None:
    plain = sign("s", "/p", {"a": "1"})
    assert sign("s", "/p", {"a": "1", "sign": "x", "access_token": "t"}) == plain
    assert sign("s", "/p", {"a": "1"}, b'{"x":1}') != plain
    assert sign("s", "/p", {"a": "1"}, b'{"x":1}', content_type="multipart/form-data; b=1") == plain


async def test_authorized_shops_with_right_secret(sbx, merchant) -> None:
    response = await sbx.tiktok(merchant, "GET", SHOPS, shop=False)
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 0 and body["message"] == "Success" and body["request_id"]
    [shop] = body["data"]["shops"]
    assert shop["id"] == merchant.tiktok_shop_id
    assert shop["cipher"].startswith("ROW_") and shop["seller_type"] == "LOCAL"
    assert set(shop) == {"id", "name", "region", "seller_type", "cipher", "code"}


def test_tiktok_documented_signing_example() -> None:
    # TikTok's own example (partner.tiktokshop.com docv2 "Sign your API request").
    assert sign("e59af819cc", "/authorization/202309/shops",
                {"app_key": "29a39d", "timestamp": "1623812664"}) == (
        "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
    )


async def test_wrong_secret_is_rejected_with_106001(sbx, merchant) -> None:
    response = await sbx.tiktok(merchant, "GET", SHOPS, shop=False, secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["code"] == 106001
    assert response.json()["message"] == "Invalid credentials. The `sign` query parameter is invalid."


async def test_tampered_body_and_unknown_app_key_are_rejected(sbx, merchant) -> None:
    creds = credentials_of(merchant)
    cipher = sbx.record(merchant)["tiktok_shop"]["shop"]["cipher"]
    query = signed_query(creds["tiktok_app_key"], creds["tiktok_app_secret"], ORDERS,
                         {"shop_cipher": cipher, "page_size": "10"}, b"{}")
    headers = {"x-tts-access-token": creds["tiktok_access_token"], "content-type": "application/json"}
    tampered = await sbx.client.post("/tiktok" + ORDERS, params=query, content=b'{"a":1}', headers=headers)
    assert tampered.json()["code"] == 106001
    query = signed_query("unknown-app", creds["tiktok_app_secret"], SHOPS)
    unknown = await sbx.client.get("/tiktok" + SHOPS, params=query, headers=headers)
    assert (unknown.status_code, unknown.json()["code"]) == (401, 36009004)
    assert "app_key" in unknown.json()["message"]
    unsigned = {k: v for k, v in signed_query(creds["tiktok_app_key"], "x", SHOPS).items() if k != "sign"}
    missing = await sbx.client.get("/tiktok" + SHOPS, params=unsigned, headers=headers)
    assert (missing.status_code, missing.json()["code"]) == (401, 36009004)


async def test_timestamp_window_is_five_minutes_back_and_thirty_seconds_ahead(sbx, merchant) -> None:
    creds = credentials_of(merchant)
    headers = {"x-tts-access-token": creds["tiktok_access_token"]}

    async def at(offset: int) -> tuple[int, int]:
        query = signed_query(creds["tiktok_app_key"], creds["tiktok_app_secret"], SHOPS,
                             timestamp=int(time.time()) + offset)
        answer = await sbx.client.get("/tiktok" + SHOPS, params=query, headers=headers)
        return answer.status_code, answer.json()["code"]

    assert await at(-290) == (200, 0) and await at(25) == (200, 0)
    assert await at(-310) == (401, 36009004)
    assert await at(40) == (401, 36009004)


async def test_unknown_token_is_invalid_credentials_as_tiktok_publishes(sbx, merchant) -> None:
    bad = await sbx.tiktok(merchant, "GET", SHOPS, shop=False, token="nope")
    assert (bad.status_code, bad.json()["code"]) == (401, 36009004)
    assert "x-tts-access-token" in bad.json()["message"]


async def test_token_of_one_merchant_cannot_reach_another_shop(sbx, merchant, other) -> None:
    token = credentials_of(other)["tiktok_access_token"]
    response = await sbx.tiktok(merchant, "GET", PROXY, token=token)
    assert (response.status_code, response.json()["code"]) == (400, 106011)


async def test_shop_cipher_required_and_refused_where_unexpected(sbx, merchant) -> None:
    response = await sbx.tiktok(merchant, "GET", ORDERS.removesuffix("/search"), shop=False,
                                params={"ids": "1"})
    assert (response.status_code, response.json()["code"]) == (400, 106013)
    cipher = sbx.record(merchant)["tiktok_shop"]["shop"]["cipher"]
    unexpected = await sbx.tiktok(merchant, "GET", SHOPS, shop=False, params={"shop_cipher": cipher})
    assert (unexpected.status_code, unexpected.json()["code"]) == (401, 36009004)


async def test_a_body_that_is_not_json_is_an_invalid_request_format(sbx, merchant) -> None:
    creds = credentials_of(merchant)
    cipher = sbx.record(merchant)["tiktok_shop"]["shop"]["cipher"]
    body = b"create_time_ge=0"
    query = signed_query(creds["tiktok_app_key"], creds["tiktok_app_secret"], ORDERS,
                         {"shop_cipher": cipher, "page_size": "10"}, body)
    answer = await sbx.client.post("/tiktok" + ORDERS, params=query, content=body, headers={
        "x-tts-access-token": creds["tiktok_access_token"],
        "content-type": "application/x-www-form-urlencoded"})
    assert (answer.status_code, answer.json()["code"]) == (400, 36009022)


async def test_orders_search_paginates(sbx, merchant) -> None:
    first = await sbx.tiktok(merchant, "POST", ORDERS, params={"page_size": "2"}, body={"create_time_ge": 0})
    data = first.json()["data"]
    assert len(data["orders"]) == 2 and data["total_count"] == 3 and data["next_page_token"]
    second = await sbx.tiktok(merchant, "POST", ORDERS, body={"create_time_ge": 0},
                              params={"page_size": "2", "page_token": data["next_page_token"]})
    rest = second.json()["data"]
    assert len(rest["orders"]) == 1 and rest["next_page_token"] == ""
    orders = data["orders"] + rest["orders"]
    assert all(len(o["id"]) == 18 and o["id"].isdigit() for o in orders)
    assert {o["status"] for o in orders} <= {"DELIVERED", "COMPLETED"}
    assert all(len(o["recipient_address"]["postal_code"]) == 5 for o in orders)
    missing = await sbx.tiktok(merchant, "POST", ORDERS, body={})
    assert missing.json()["code"] == 36009001


async def test_return_proxy_read_and_write(sbx, merchant) -> None:
    read = (await sbx.tiktok(merchant, "GET", PROXY)).json()["data"]
    assert read == {"service_id": "7252639977727674154", "installed": True, "partner": None,
                    "return_url_template": None}
    template = f"https://{merchant.loop_portal_domain}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]"
    written = await sbx.tiktok(merchant, "PUT", PROXY,
                               body={"partner": "LOOP_PIPE17", "return_url_template": template})
    assert written.json()["data"]["partner"] == "LOOP_PIPE17"
    again = (await sbx.tiktok(merchant, "GET", PROXY)).json()["data"]
    assert again["return_url_template"] == template
    bad = await sbx.tiktok(merchant, "PUT", PROXY, body={"installed": False})
    assert (bad.status_code, bad.json()["code"]) == (400, 17003002)
    bad = await sbx.tiktok(merchant, "PUT", PROXY, body={"return_url_template": "http://x"})
    assert bad.json()["code"] == 17003002


async def test_rate_limit_per_app_and_shop(sbx, merchant, other) -> None:
    sbx.emulator.limits.tiktok_per_second = 2
    codes = [(await sbx.tiktok(merchant, "GET", PROXY)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = await sbx.tiktok(merchant, "GET", PROXY)
    assert limited.json()["code"] == 36009002 and "retry-after" not in limited.headers
    assert (await sbx.tiktok(other, "GET", PROXY)).status_code == 200


async def test_unknown_path_and_wrong_method_are_enveloped(sbx, merchant) -> None:
    response = await sbx.tiktok(merchant, "GET", "/nothing/202309/here")
    assert (response.status_code, response.json()["code"]) == (404, 36009009)
    assert isinstance(response, httpx.Response)
    wrong = await sbx.tiktok(merchant, "DELETE", SHOPS)
    assert (wrong.status_code, wrong.json()["code"]) == (405, 36009010)
