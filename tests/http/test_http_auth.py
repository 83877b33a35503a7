import json

import httpx

from reconciler.http.auth import HeaderKeyAuth, TikTokAuth, tiktok_sign
from reconciler.secrets import redactor

VECTOR = "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"


def test_signing_test_vector():
    assert tiktok_sign("app_secret", "/test-api", [("foo", "bar")]) == VECTOR


def test_tiktok_documented_signing_example():
    # TikTok's own example (partner.tiktokshop.com docv2 "Sign your API request").
    params = [("app_key", "29a39d"), ("timestamp", "1623812664")]
    assert tiktok_sign("e59af819cc", "/authorization/202309/shops", params) == (
        "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8")


async def test_tiktok_auth_signs_the_documented_example_and_sends_json_content_type_on_get():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 0, "data": {}})

    auth = TikTokAuth("29a39d", "e59af819cc", "TOKEN-DOC", clock=lambda: 1623812664)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await http.get("https://open-api.tiktokglobalshop.com/authorization/202309/shops", auth=auth)
    [request] = seen
    assert request.url.params["sign"] == "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
    assert request.headers["content-type"] == "application/json"


def test_sign_and_access_token_params_are_not_signed():
    plain = tiktok_sign("app_secret", "/test-api", [("foo", "bar")])
    assert tiktok_sign("app_secret", "/test-api", [("foo", "bar"), ("sign", "x"), ("access_token", "t")]) == plain


def test_params_are_sorted_by_key():
    a = tiktok_sign("s", "/p", [("b", "2"), ("a", "1")])
    assert a == tiktok_sign("s", "/p", [("a", "1"), ("b", "2")])


async def test_tiktok_auth_signs_relative_path_and_exact_body():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"code": 0, "data": {}})

    auth = TikTokAuth("KEY-1", "SECRET-1", "TOKEN-1", base_path="/tiktok", clock=lambda: 1700000000)
    body = json.dumps({"order_ids": ["1", "2"]}, separators=(",", ":")).encode()
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        await http.post(
            "http://sandbox.local/tiktok/return_refund/202309/returns/search",
            params={"shop_cipher": "C1", "page_size": "50"},
            content=body,
            headers={"content-type": "application/json"},
            auth=auth,
        )
    request = seen[0]
    params = dict(request.url.params)
    assert params["app_key"] == "KEY-1" and params["timestamp"] == "1700000000"
    assert request.headers["x-tts-access-token"] == "TOKEN-1"
    unsigned = [(k, v) for k, v in request.url.params.multi_items() if k != "sign"]
    expected = tiktok_sign("SECRET-1", "/return_refund/202309/returns/search", unsigned, request.content)
    assert params["sign"] == expected
    assert request.content == body


async def test_tiktok_auth_resigns_each_attempt_with_fresh_timestamp():
    clock = iter([100.0, 200.0])
    auth = TikTokAuth("k", "secret-x", "tok-x", clock=lambda: next(clock))
    signs = []
    for _ in range(2):
        flow = auth.auth_flow(httpx.Request("GET", "https://h/authorization/202309/shops"))
        signs.append(next(flow).url.params["timestamp"])
    assert signs == ["100", "200"]


async def test_header_key_auth_sets_header_and_registers_secret():
    request = next(HeaderKeyAuth("X-Pipe17-Key", "CANARY-key-987").auth_flow(httpx.Request("GET", "https://h/")))
    assert request.headers["X-Pipe17-Key"] == "CANARY-key-987"
    assert "CANARY-key-987" not in redactor.redact("key CANARY-key-987")


async def test_tiktok_auth_replaces_a_previous_signature_and_keeps_the_query():
    auth = TikTokAuth("KEY 1", "SECRET-1", "TOKEN-1", clock=lambda: 1700000000)
    stale = "https://h/return_refund/202309/return_proxy?shop_cipher=C%2F1&sign=old&timestamp=1&app_key=x"
    request = next(auth.auth_flow(httpx.Request("GET", stale)))
    items = request.url.params.multi_items()
    assert [k for k, _ in items] == ["shop_cipher", "app_key", "timestamp", "sign"]
    assert request.url.query.startswith(b"shop_cipher=C%2F1&app_key=KEY%201&timestamp=1700000000&sign=")
    unsigned = [(k, v) for k, v in items if k != "sign"]
    assert dict(items)["sign"] == tiktok_sign("SECRET-1", "/return_refund/202309/return_proxy", unsigned)
