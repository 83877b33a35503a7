"""ServiceClient: envelopes to typed errors, retries inside the budget, timeouts, logging."""

import asyncio
import logging
import time

import httpx
import pytest

from reconciler.http.auth import TikTokAuth
from reconciler.http.errors import (
    AuthError,
    ConflictError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    ValidationError,
)
from reconciler.http.retry import RetryPolicy, parse_retry_after
from reconciler.targets import SHOPIFY_API_VERSION

OK_TIKTOK = {"code": 0, "message": "Success", "data": {"shops": []}}


def throttled(requested=50, available=10, restore=1000):
    return {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {"cost": {"requestedQueryCost": requested, "actualQueryCost": None,
                                "throttleStatus": {"maximumAvailable": 1000, "currentlyAvailable": available,
                                                   "restoreRate": restore}}},
    }


@pytest.mark.parametrize("first", [
    httpx.Response(500, json={}),
    httpx.Response(503, json={}),
    httpx.Response(429, json={}),
    httpx.Response(429, json={}, headers={"Retry-After": "0.02"}),
    httpx.ConnectError("refused"),
    httpx.ReadTimeout("slow"),
])
async def test_retries_transient_failures_then_succeeds(recorder, make_client, first):
    recorder.replies = [first, httpx.Response(200, json={"ok": True})]
    client = make_client("loop")
    assert await client.request("GET", "/portal/settings") == {"ok": True}
    assert len(recorder.seen) == 2


async def test_retry_after_is_a_floor(recorder, make_client):
    recorder.replies = [httpx.Response(429, headers={"Retry-After": "0.2"}), httpx.Response(200, json={})]
    client = make_client("loop", retry=RetryPolicy(attempts=3, total_seconds=2, base_delay=0.001, timeout=1))
    started = time.monotonic()
    await client.request("GET", "/x")
    assert time.monotonic() - started >= 0.2


async def test_shopify_throttled_in_a_200_waits_by_throttle_status(recorder, make_client):
    # (50 - 10) / 1000 = 0.04 s
    recorder.replies = [httpx.Response(200, json=throttled()), httpx.Response(200, json={"data": {"shop": {"id": 1}}})]
    client = make_client("shopify", f"https://s.test/admin/api/{SHOPIFY_API_VERSION}/graphql.json")
    started = time.monotonic()
    assert await client.graphql("query { shop { id } }") == {"shop": {"id": 1}}
    assert time.monotonic() - started >= 0.04
    assert len(recorder.seen) == 2


async def test_tiktok_nonzero_code_in_200_is_an_error(recorder, make_client):
    recorder.replies = [httpx.Response(200, json={"code": 12345, "message": "bad param", "data": None})]
    with pytest.raises(ValidationError, match="code 12345 bad param"):
        await make_client("tiktok_shop").request("GET", "/authorization/202309/shops")


@pytest.mark.parametrize("status", [429, 200])
async def test_tiktok_rate_limit_code_is_retried(recorder, make_client, status):
    recorder.replies = [httpx.Response(status, json={"code": 36009002, "message": "Too many requests."}),
                        httpx.Response(200, json=OK_TIKTOK)]
    assert await make_client("tiktok_shop").request("GET", "/authorization/202309/shops") == OK_TIKTOK
    assert len(recorder.seen) == 2


async def test_tiktok_invalid_credentials_code_is_not_retried(recorder, make_client):
    recorder.default = lambda request: httpx.Response(
        401, json={"code": 36009004, "message": "Invalid credentials. Invalid `app_key` query parameter."})
    with pytest.raises(AuthError, match="code 36009004 .*TikTok Shop refused"):
        await make_client("tiktok_shop").request("GET", "/authorization/202309/shops")
    assert len(recorder.seen) == 1


async def test_pipe17_success_false_is_an_error(recorder, make_client):
    recorder.replies = [httpx.Response(200, json={"success": False, "code": 404, "message": "no such integration"})]
    with pytest.raises(NotFoundError, match="no such integration"):
        await make_client("pipe17").request("GET", "/integrations/x")


@pytest.mark.parametrize("status,error", [(401, AuthError), (403, AuthError), (404, NotFoundError),
                                          (409, ConflictError), (422, ValidationError)])
async def test_status_codes_map_to_typed_errors_without_retry(recorder, make_client, status, error):
    recorder.replies = [httpx.Response(status, json={"message": "nope"})]
    with pytest.raises(error):
        await make_client("loop").request("GET", "/x")
    assert len(recorder.seen) == 1


async def test_budget_exhaustion_raises_last_error_naming_service(recorder, make_client):
    recorder.default = lambda request: httpx.Response(503, json={"success": False, "message": "down"})
    started = time.monotonic()
    with pytest.raises(ServerError) as caught:
        await make_client("pipe17").request("GET", "/integrations")
    assert time.monotonic() - started < 2.5
    assert caught.value.attempts == 4 and len(recorder.seen) == 4
    assert str(caught.value).startswith("pipe17 (merchant acme): GET /api/integrations failed: HTTP 503")
    assert "gave up after 4 attempts" in str(caught.value)


async def test_total_seconds_bounds_retries(recorder, make_client):
    recorder.default = lambda request: httpx.Response(500)
    policy = RetryPolicy(attempts=1000, total_seconds=0.3, base_delay=0.05, max_delay=0.1, timeout=0.2)
    started = time.monotonic()
    with pytest.raises(ServerError):
        await make_client("loop", retry=policy).request("GET", "/x")
    assert time.monotonic() - started < 0.5


async def test_hung_service_times_out_in_bounded_time(make_client):
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    policy = RetryPolicy(attempts=2, total_seconds=0.5, base_delay=0.01, max_delay=0.01, timeout=0.1)
    from reconciler.http.channel import Channel
    from reconciler.http.client import ServiceClient

    http = Channel("loop", httpx.MockTransport(hang), read_only=False)
    client = ServiceClient("loop", http, "https://l.test", httpx.Auth(), retry=policy)
    started = time.monotonic()
    with pytest.raises(NetworkError, match="timed out"):
        await client.request("GET", "/x")
    assert time.monotonic() - started < 0.5


async def test_create_post_is_not_retried_after_ambiguous_failure(recorder, make_client):
    recorder.replies = [httpx.Response(500), httpx.Response(200, json={"success": True})]
    with pytest.raises(ServerError):
        await make_client("pipe17").request("POST", "/integrations", json={"connectorName": "Shopify"})
    assert len(recorder.seen) == 1


async def test_create_post_is_retried_when_never_sent(recorder, make_client):
    recorder.replies = [httpx.ConnectError("refused"), httpx.Response(429),
                        httpx.Response(200, json={"success": True})]
    await make_client("pipe17").request("POST", "/integrations", json={"connectorName": "Shopify"})
    assert len(recorder.seen) == 3


async def test_retry_logs_are_redacted(recorder, make_client, caplog):
    caplog.set_level(logging.INFO, logger="reconciler.http")
    recorder.replies = [httpx.Response(429, json={"code": 36009002, "message": "too many requests"}),
                        httpx.Response(200, json=OK_TIKTOK)]
    auth = TikTokAuth("CANARY-key-1", "CANARY-secret-123", "CANARY-token-1")
    await make_client("tiktok_shop", auth=auth).request("GET", "/authorization/202309/shops")
    assert {r.name for r in caplog.records} == {"reconciler.http.tiktok_shop"}
    assert [r.getMessage() for r in caplog.records][0].endswith("-> HTTP 429")
    retry = caplog.records[1].getMessage()
    assert "retrying in" in retry and "attempt 2/4" in retry
    assert caplog.records[2].getMessage().endswith("-> HTTP 200")
    assert "CANARY" not in caplog.text and "sign=" not in caplog.text


async def test_auth_error_message_contains_no_secret(recorder, make_client, caplog):
    recorder.default = lambda request: httpx.Response(
        401, json={"code": 106001, "message": f"signature is invalid: {request.url}"}
    )
    auth = TikTokAuth("CANARY-key-2", "CANARY-secret-123", "CANARY-token-2")
    with pytest.raises(AuthError) as caught:
        await make_client("tiktok_shop", auth=auth).request("GET", "/authorization/202309/shops")
    sent = recorder.seen[0].url.params["sign"]
    text = str(caught.value) + caplog.text
    assert "code 106001" in text
    for secret in ("CANARY-key-2", "CANARY-secret-123", "CANARY-token-2", sent):
        assert secret not in text


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("soon") is None


def test_backoff_is_jittered_under_cap_and_honors_hint():
    policy = RetryPolicy(base_delay=1.0, max_delay=4.0)
    assert all(0 <= policy.backoff(3) <= 4.0 for _ in range(50))
    assert policy.backoff(1, retry_after=2.5) >= 2.5
    assert policy.backoff(1, retry_after=99) <= 4.0
    # a hint sets the pace however many attempts came before: no exponential growth
    assert all(1.0 <= policy.backoff(8, retry_after=1.0) <= 2.0 for _ in range(50))


async def test_persistent_rate_limit_raises_rate_limited(recorder, make_client):
    recorder.default = lambda request: httpx.Response(429, json={"message": "Too Many Attempts."})
    with pytest.raises(RateLimitedError, match="loop \\(merchant acme\\).*HTTP 429"):
        await make_client("loop").request("GET", "/portal/settings")
