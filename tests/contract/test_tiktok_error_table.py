"""(d) TikTok's published error table drives the error mapping: type and retry, code by code."""

from __future__ import annotations

import httpx
import pytest

from reconciler.http.auth import TikTokAuth
from reconciler.http.channel import Channel
from reconciler.http.client import ServiceClient
from reconciler.http.envelopes import decode
from reconciler.http.errors import (
    AuthError,
    MissingScopeError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ServiceError,
    TokenExpiredError,
    ValidationError,
)
from reconciler.http.tiktok_codes import COMMON_ERRORS
from tests.contract.conftest import FAST
from tests.contract.records import RB_API, load

PAIRS = load(RB_API / "error_list.json")["pairs"]
# What each documented code must mean to the product: (error type, retried).
EXPECTED: dict[int, tuple[type[ServiceError], bool]] = {
    36009002: (RateLimitedError, True),  # too many requests
    36009003: (ServerError, True),  # internal error, "please try again"
    36009004: (AuthError, False),  # app_key, timestamp, sign, token header, version, shop_cipher
    36009007: (ServerError, True),  # request timeout
    36009009: (NotFoundError, False),  # invalid path
    36009010: (ValidationError, False),  # invalid method
    36009014: (ValidationError, False),  # invalid API version
    36009022: (ValidationError, False),  # invalid request format
    36009023: (ValidationError, False),
    36009033: (AuthError, False),  # IP allow list
    36004004: (AuthError, False),  # invalid auth code
    101000: (AuthError, False),  # invalid token header
    105002: (TokenExpiredError, False),  # expired access token (the TikTok session refreshes it)
    105005: (MissingScopeError, False),  # missing access scope
    106001: (AuthError, False),  # invalid sign
    106013: (ValidationError, False),  # missing shop_cipher
}
# A documented code the product does not classify: a request error, never retried.
FALLBACK = (ValidationError, False)
OK = {"code": 0, "message": "Success", "data": {"shops": []}, "request_id": "r"}


def expected(code: int) -> tuple[type[ServiceError], bool]:
    return EXPECTED.get(code, FALLBACK)


def answer(status: int, code: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"code": code, "message": message, "data": None, "request_id": "r"})


def client(replies: list[httpx.Response], seen: list[httpx.Request]) -> ServiceClient:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return replies.pop(0) if replies else httpx.Response(200, json=OK)

    channel = Channel("tiktok_shop", httpx.MockTransport(handle), read_only=False)
    return ServiceClient("tiktok_shop", channel, "https://open-api.test", TikTokAuth("k", "s", "t"),
                         retry=FAST, merchant="acme")


def test_the_table_is_the_record() -> None:
    documented = {int(p["code"]) for p in PAIRS}
    assert set(COMMON_ERRORS) <= documented, "the product classifies a code TikTok does not publish"
    assert set(EXPECTED) <= documented


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p['code']}:{p['message'][:30]}")
def test_each_documented_code_maps_to_its_type_in_an_http_200(pair: dict[str, str]) -> None:
    code = int(pair["code"])
    kind, _ = expected(code)
    with pytest.raises(ServiceError) as caught:
        decode("tiktok_shop", answer(200, code, pair["message"]), what="GET /x", merchant="acme")
    assert type(caught.value) is kind
    assert caught.value.code == pair["code"] and pair["message"] in str(caught.value)
    assert str(caught.value).startswith("tiktok_shop (merchant acme): GET /x failed")


@pytest.mark.parametrize("code", sorted({int(p["code"]) for p in PAIRS}))
async def test_each_documented_code_is_retried_or_not_as_the_table_says(code: int) -> None:
    kind, retried = expected(code)
    seen: list[httpx.Request] = []
    service = client([answer(200, code, "documented")], seen)
    if retried:
        assert await service.request("GET", "/authorization/202309/shops") == OK
        assert len(seen) == 2
    else:
        with pytest.raises(kind):
            await service.request("GET", "/authorization/202309/shops")
        assert len(seen) == 1


@pytest.mark.parametrize(("status", "code", "kind"), [
    (429, 36009002, RateLimitedError), (401, 36009004, AuthError), (429, 36009004, AuthError),
    (404, 36009009, NotFoundError), (500, 36009003, ServerError), (401, 106001, AuthError),
    (403, 105005, MissingScopeError), (503, 12345678, ServerError), (429, 12345678, RateLimitedError),
])
def test_the_code_decides_before_the_status_and_the_status_backs_up_an_unknown_code(
        status: int, code: int, kind: type[ServiceError]) -> None:
    with pytest.raises(ServiceError) as caught:
        decode("tiktok_shop", answer(status, code, "m"), what="GET /x")
    assert type(caught.value) is kind
