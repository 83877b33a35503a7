"""TikTok's auth host (`/api/v2/token/get`, `/api/v2/token/refresh`) against the public record.

(a) The sandbox answers both token calls with the shape of the official response
samples (tiktok_shop_rb_api, from partner.tiktokshop.com's authorization overview;
skit_bytedance, an SDK's model samples), expiries as Unix timestamps.
(b) Our client reads those samples as published.
(c) An expired access token is `105002` and an invalid one `36009004`, with the
messages of TikTok's common-errors table (error_list.json), and the client
refreshes on the first only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import AuthError, TokenExpiredError
from reconciler.model import DesiredState, SecretRef
from reconciler.sandbox import Emulator, build_app
from reconciler.secrets import sandbox_credential
from tests.contract.conftest import FAST, Keeping
from tests.contract.records import RB_API, SKIT, body, load, missing, shape_errors
from tests.providers.conftest import FakeServices, merchant, sandbox_target

GET = (RB_API / "api_v2_token_get.json", SKIT / "AuthGetTokenResponse.json")
REFRESH = (RB_API / "api_v2_token_refresh.json", SKIT / "AuthRefreshTokenResponse.json")
READ = ["data.access_token", "data.access_token_expire_in", "data.refresh_token",
        "data.refresh_token_expire_in", "data.seller_name"]


def with_refresh_token(one: DesiredState) -> DesiredState:
    """`one` holding a TikTok refresh token instead of an access token (the shipped recipe)."""
    variable = "T_" + one.slug.upper().replace("-", "_") + "_TIKTOK_REFRESH"
    credentials = dataclasses.replace(one.credentials, tiktok_access_token=None,
                                      tiktok_refresh_token=SecretRef(variable))
    return dataclasses.replace(one, credentials=credentials)


def published_messages(code: int) -> set[str]:
    return {p["message"] for p in load(RB_API / "error_list.json")["pairs"] if int(p["code"]) == code}


def assert_published(answer: Any, records: tuple[Any, ...]) -> None:
    """The official sample's envelope and `data` keys exactly; the SDK sample's keys and types."""
    official, sdk = (body(path) for path in records)
    assert shape_errors(answer, official) == [] and set(answer) == set(official)
    assert set(answer["data"]) == set(official["data"])
    assert missing(answer, [f"data.{key}" for key in sdk["data"]]) == []
    shared = {k: v for k, v in answer["data"].items() if k in sdk["data"]}
    assert shape_errors({**answer, "data": shared}, sdk) == []
    assert missing(answer, READ) == []


def issued_at(sample: dict[str, Any]) -> int:
    """When a sample was answered: its request_id starts with the time (YYYYmmddHHMMSS, UTC)."""
    stamp = datetime.strptime(sample["request_id"][:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    return int(stamp.timestamp())


@pytest.fixture
async def auth() -> AsyncIterator[tuple[Emulator, Keeping, DesiredState]]:
    one = with_refresh_token(merchant("acme-apparel"))
    emulator = Emulator()
    emulator.seed([one, merchant("bolt-outdoor")], {})
    transport = Keeping(httpx.ASGITransport(app=build_app(emulator)))
    yield emulator, transport, one
    await transport.aclose()


def pool_of(transport: httpx.AsyncBaseTransport) -> ClientPool:
    return ClientPool(sandbox_target(), read_only=True, transport=transport, retry=FAST)


def test_the_samples_give_expiries_as_timestamps_not_durations() -> None:
    for path in (*GET, *REFRESH):
        data = body(path)["data"]
        assert data["access_token_expire_in"] > datetime(2020, 1, 1, tzinfo=UTC).timestamp()
        assert data["refresh_token_expire_in"] > data["access_token_expire_in"], path.name
    for path in (GET[1], REFRESH[1]):  # the SDK's samples kept their request time: 7 days on
        sample = body(path)
        assert sample["data"]["access_token_expire_in"] - issued_at(sample) == 7 * 86_400


async def test_the_sandbox_answers_a_refresh_as_published(auth) -> None:
    emulator, transport, one = auth
    async with pool_of(transport) as pool:
        await pool.token_session(one).ready()
    [answer] = transport.answers("GET", "/api/v2/token/refresh")
    assert answer.status == 200
    assert_published(answer.body, REFRESH)
    data, now = answer.body["data"], time.time()
    # Timestamps, as in the samples; not durations.
    assert abs(data["access_token_expire_in"] - now - emulator.token_policy.access_token_lifetime) < 60
    assert data["refresh_token_expire_in"] > now


async def test_the_sandbox_answers_an_authorization_code_exchange_as_published(auth) -> None:
    emulator, transport, one = auth
    app_key = sandbox_credential(one.credentials.tiktok_app_key)
    app_secret = sandbox_credential(one.credentials.tiktok_app_secret)
    async with pool_of(transport) as pool:
        client = pool.auth_client(one.slug)
        consent = await client.request("GET", "/oauth/authorize", params={
            "app_key": app_key, "state": "s1", "shop_id": one.tiktok_shop_id})
        params = {"app_key": app_key, "app_secret": app_secret,
                  "auth_code": consent["data"]["code"], "grant_type": "authorized_code"}
        await client.request("GET", "/api/v2/token/get", params=params)
        with pytest.raises(AuthError) as used:  # a code is good once
            await client.request("GET", "/api/v2/token/get", params=params)
    answer = transport.answers("GET", "/api/v2/token/get")[0]
    assert_published(answer.body, GET)
    assert answer.body["data"]["access_token_expire_in"] > time.time()
    # TikTok's table: 36004004 "Invalid auth code."
    assert int(used.value.code) == 36004004
    assert transport.answers("GET", "/api/v2/token/get")[1].body["message"] in published_messages(36004004)


@pytest.mark.parametrize("sample", [*REFRESH], ids=lambda p: p.parent.name)
async def test_the_client_reads_a_published_refresh_answer(sample, caplog) -> None:
    fake = FakeServices()
    fake.on("GET", "/api/v2/token/refresh", body(sample))
    one = with_refresh_token(merchant("acme-apparel"))
    published = body(sample)["data"]
    async with pool_of(fake.transport) as pool:
        session = pool.token_session(one)
        await session.ready()
        notes = {n.kind: n.message for n in pool.token_notes}
    assert session.current == published["access_token"]
    assert session.refresh_expires_at == published["refresh_token_expire_in"]
    day = datetime.fromtimestamp(published["refresh_token_expire_in"], UTC).strftime("%Y-%m-%d")
    assert notes["expires-soon"].endswith(f"on {day} (expired); reconnect the shop with "
                                          "`reconciler connect tiktok acme-apparel` before then")
    # The sample's refresh token is not ours: TikTok rotated it; the variable is named, not the value.
    assert "T_ACME_APPAREL_TIKTOK_REFRESH" in notes["rotated-env"]
    assert published["refresh_token"] not in " ".join(notes.values())


async def test_an_expired_access_token_is_105002_and_is_refreshed_once(auth) -> None:
    emulator, transport, one = auth
    async with pool_of(transport) as pool:
        client = pool.tiktok_shop(one)._client
        await client.request("GET", "/authorization/202309/shops")
        book = emulator.merchants[one.slug]["tiktok_auth"]["access_tokens"]
        for token in book:
            book[token] = int(time.time()) - 1
        await client.request("GET", "/authorization/202309/shops")
    shops = transport.answers("GET", "/authorization/202309/shops")
    expired = [e for e in shops if e.status != 200]
    assert [(e.status, e.body["code"]) for e in expired] == [(401, 105002)]
    assert expired[0].body["message"] in published_messages(105002)
    assert shops[-1].status == 200
    assert len(transport.answers("GET", "/api/v2/token/refresh")) == 2  # the start, then once


async def test_an_invalid_access_token_is_36009004_and_no_refresh_is_tried(auth) -> None:
    emulator, transport, one = auth
    app_key = sandbox_credential(one.credentials.tiktok_app_key)
    app_secret = sandbox_credential(one.credentials.tiktok_app_secret)
    async with pool_of(transport) as pool:
        client = pool.tiktok_client(one.slug, app_key, app_secret, "TTP_not-a-token-tiktok-issued")
        with pytest.raises(AuthError) as refused:
            await client.request("GET", "/authorization/202309/shops")
    assert not isinstance(refused.value, TokenExpiredError)
    [answer] = transport.answers("GET", "/authorization/202309/shops")
    assert (answer.status, answer.body["code"]) == (401, 36009004)
    assert answer.body["message"] in published_messages(36009004)
    assert "x-tts-access-token" in answer.body["message"]
    assert transport.answers("GET", "/api/v2/token/refresh") == []


async def test_an_old_access_token_from_the_files_is_refreshed_once(auth, monkeypatch) -> None:
    """A refresh cures a 36009004 for the access token the merchant's files hold, once."""
    emulator, transport, one = auth
    monkeypatch.setenv("T_ACME_APPAREL_OLD_TOKEN", "TTP_an-old-token-long-forgotten")
    both = dataclasses.replace(one, credentials=dataclasses.replace(
        one.credentials, tiktok_access_token=SecretRef("T_ACME_APPAREL_OLD_TOKEN")))
    async with pool_of(transport) as pool:
        await pool.tiktok_shop(both)._client.request("GET", "/authorization/202309/shops")
    shops = transport.answers("GET", "/authorization/202309/shops")
    assert [(e.status, e.body["code"]) for e in shops] == [(401, 36009004), (200, 0)]
    assert len(transport.answers("GET", "/api/v2/token/refresh")) == 1
