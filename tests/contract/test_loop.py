"""Loop's documented bodies: the sandbox answers in them (a), the provider reads them (b),
and its requests are as documented (c)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import AuthError, ValidationError
from reconciler.providers.loop import LoopReturn
from reconciler.sandbox.seed import credentials_of
from tests.contract.conftest import FAST, Wired
from tests.contract.records import LOOP, body, shape_errors

LINK = re.compile(r"^https://[a-z0-9-]+\.loopreturns\.com/#/link/[A-Za-z0-9-]+$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def assert_documented(answer: object, fixture: str) -> None:
    documented = body(LOOP / fixture)
    assert shape_errors(answer, documented) == [], fixture
    if isinstance(answer, dict):
        assert set(answer) == set(documented), fixture


def test_the_documented_link_is_opaque_on_loops_own_host() -> None:
    assert LINK.match(body(LOOP / "order_link_200.json")["url"])


async def test_sandbox_answers_in_loops_documented_bodies(wired: Wired) -> None:
    wired.record()["loop"]["portal"]["order_lookup"] = "zip"
    order = wired.record()["tiktok_shop"]["orders"][0]
    async with wired.pool() as pool:
        loop = pool.loop(wired.merchant)
        url = await loop.order_link(order["id"], order["recipient_address"]["postal_code"])
        assert url is not None and LINK.match(url)
        assert await loop.order_link(order["id"], "00000") is None
        assert await loop.returns(since=datetime(2000, 1, 1, tzinfo=UTC))
    found, not_found = wired.transport.answers("POST", "/order/link")
    assert found.status == 200 and not_found.status == 400
    assert_documented(found.body, "order_link_200.json")
    assert_documented(not_found.body, "order_link_400_not_found.json")
    [listed] = wired.transport.answers("GET", "/warehouse/return/list")
    assert_documented(listed.body, "returns_list_200.json")
    wire = httpx.AsyncClient(transport=wired.transport, base_url="http://sandbox.local/loop/api/v1")
    key = credentials_of(wired.merchant)["loop_api_key"]
    async with wire:
        bare = await wire.get("/warehouse/return/list", params={"from": "2022-01-01"},
                              headers={"X-Authorization": key})
        refused = await wire.post("/order/link", json={"name": "1", "zip": "1"},
                                  headers={"X-Authorization": "wrong"})
    assert bare.status_code == 422 and refused.status_code == 401
    assert_documented(bare.json(), "returns_list_422.json")
    assert_documented(refused.json(), "unauthorized_401.json")


@pytest.fixture
def scripted(fake):
    def link(request: httpx.Request, sent: dict) -> httpx.Response:
        fixture = "order_link_200.json" if sent["zip"] == "43215" else "order_link_400_not_found.json"
        return httpx.Response(400 if "400" in fixture else 200, json=body(LOOP / fixture))

    fake.on("POST", "/order/link", link)
    fake.on("GET", "/warehouse/return/list", body(LOOP / "returns_list_200.json"))
    return fake


async def test_provider_reads_the_documented_bodies(scripted, make_merchant, make_target) -> None:
    async with ClientPool(make_target(), read_only=True, transport=scripted.transport, retry=FAST) as pool:
        loop = pool.loop(make_merchant())
        assert await loop.order_link("Shopify Order Name", "43215") == body(LOOP / "order_link_200.json")["url"]
        assert await loop.order_link("Shopify Order Name", "99999") is None
        returns = await loop.returns(since=datetime(2022, 1, 1, tzinfo=UTC),
                                     until=datetime(2022, 3, 31, 23, 59, 59, tzinfo=UTC))
    assert returns == [LoopReturn("<string>", "<string>", "<string>", "<string>")]


@pytest.mark.parametrize(("fixture", "error", "text"), [
    ("unauthorized_401.json", AuthError, "HTTP 401, Unauthorized."),
    ("returns_list_422.json", ValidationError,
     "HTTP 422, The given data was invalid. from: The from must be a date and time"),
])
async def test_provider_errors_keep_loops_words(fake, make_merchant, make_target, fixture, error, text) -> None:
    documented = json.loads((LOOP / fixture).read_text())
    fake.on("GET", "/warehouse/return/list",
            lambda request, sent: httpx.Response(documented["status"], json=documented["body"]))
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        with pytest.raises(error, match=re.escape(text)):
            await pool.loop(make_merchant()).returns(since=datetime(2022, 1, 1, tzinfo=UTC))


async def test_provider_requests_are_as_documented(scripted, make_merchant, make_target) -> None:
    merchant = make_merchant()
    async with ClientPool(make_target(), read_only=True, transport=scripted.transport, retry=FAST) as pool:
        loop = pool.loop(merchant)
        await loop.order_link("Shopify Order Name", "43215")
        await loop.returns(since=datetime(2022, 1, 1, tzinfo=UTC), until=datetime(2022, 3, 31, tzinfo=UTC))
    link, listed = scripted.seen
    assert link.url.path == "/loop/api/v1/order/link" and link.method == "POST"
    assert link.headers["content-type"] == "application/json"
    assert link.headers["x-authorization"] == credentials_of(merchant)["loop_api_key"]
    documented = body(LOOP / "order_link_request.json")
    sent = json.loads(link.content)
    assert shape_errors(sent, documented) == [] and {"name", "zip"} <= set(sent)
    assert listed.url.path == "/loop/api/v1/warehouse/return/list" and listed.method == "GET"
    assert listed.url.params["from"] == "2022-01-01 00:00:00"
    assert listed.url.params["to"] == "2022-03-31 00:00:00"
    assert all(DATETIME.match(listed.url.params[k]) for k in ("from", "to"))
