"""Pipe17 provider over a scripted fake: mapping, versions, 409 re-read, idempotent create."""

import copy

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import ConflictError
from reconciler.http.retry import RetryPolicy
from reconciler.model import Action, Change

FAST = RetryPolicy(attempts=3, total_seconds=1, base_delay=0.01, max_delay=0.02, timeout=0.5)


def integration(connector, iid, version=1, status="connected", **directions):
    return {"integrationId": iid, "connectorName": connector, "status": status, "version": version,
            "settings": {"entities": {e: {"direction": d} for e, d in directions.items()},
                         "options": {"pushRefundsToTikTok": False} if connector == "TikTok Shop" else
                         {"orderSyncMode": "ORDER"} if connector == "Shopify" else {}}}


class Pipe17Fake:
    """Just enough of Pipe17 for provider tests: list, create, versioned update."""

    def __init__(self, fake):
        self.items = [integration("TikTok Shop", "int_t", orders="in", refunds="none"),
                      integration("Shopify", "int_s", status="disconnected", orders="out")]
        self.conflicts = 0
        fake.on("GET", "/integrations", self.list)
        fake.on("POST", "/integrations", self.create)
        fake.on("PUT", "/integrations/int_t", self.update)

    def list(self, request, body):
        return httpx.Response(200, json={"success": True, "integrations": copy.deepcopy(self.items),
                                         "pagination": {"skip": 0, "count": 100, "total": len(self.items)}})

    def create(self, request, body):
        item = integration(body["connectorName"], "int_new", status="disconnected")
        self.items.append(item)
        return httpx.Response(200, json={"success": True, "integration": item})

    def update(self, request, body):
        item = self.items[0]
        if self.conflicts:
            self.conflicts -= 1
            item["version"] += 1  # someone else wrote
        if body["version"] != item["version"]:
            return httpx.Response(409, json={"success": False, "code": 409, "message": "version mismatch"})
        for key, value in body["settings"].items():
            for inner, inner_value in value.items():
                item["settings"][key][inner] = inner_value
        item["version"] += 1
        return httpx.Response(200, json={"success": True, "integration": item})


@pytest.fixture
def pipe17(fake):
    return Pipe17Fake(fake)


async def test_read_maps_directions_options_and_status(fake, pipe17, make_merchant, make_target):
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        snapshot = await pool.pipe17(make_merchant()).read()
    assert snapshot.settings == {
        "pipe17.integration.tiktok_shop": "present",
        "pipe17.integration.tiktok_shop.flows.orders": "pull",
        "pipe17.integration.tiktok_shop.flows.refunds": "off",
        "pipe17.integration.tiktok_shop.options.push_refunds_to_tiktok": False,
        "pipe17.integration.shopify": "present",
        "pipe17.integration.shopify.flows.orders": "push",
        "pipe17.integration.shopify.options.order_sync_mode": "order",
    }
    assert snapshot.facts == {"pipe17.integration.tiktok_shop.status": "connected",
                              "pipe17.integration.shopify.status": "disconnected"}
    assert fake.count("GET", "/integrations") == 1 and fake.count("GET", "/organization") == 1
    assert len(fake.seen) == 2
    assert next(r for r in fake.seen if r.url.path.endswith("/integrations")).url.params["count"] == "100"


async def test_update_quotes_version_and_tracks_it(fake, pipe17, make_merchant, make_target):
    m = make_merchant()
    changes = [Change("pipe17.integration.tiktok_shop.flows.refunds", Action.UPDATE, "off", "push"),
               Change("pipe17.integration.tiktok_shop.options.push_refunds_to_tiktok", Action.UPDATE, False, True)]
    async with ClientPool(make_target(), read_only=False, transport=fake.transport, retry=FAST) as pool:
        provider = pool.pipe17(m)
        await provider.read()
        for change in changes:
            await provider.apply(change, m)
        snapshot = await provider.read()
    puts = [r for r in fake.seen if r.method == "PUT"]
    assert [p.content for p in puts] == [
        b'{"version":1,"settings":{"entities":{"refunds":{"direction":"out"}}}}',
        b'{"version":2,"settings":{"options":{"pushRefundsToTikTok":true}}}',
    ]
    assert snapshot.settings["pipe17.integration.tiktok_shop.flows.refunds"] == "push"
    assert snapshot.settings["pipe17.integration.tiktok_shop.options.push_refunds_to_tiktok"] is True


async def test_conflict_rereads_once_and_retries(fake, pipe17, make_merchant, make_target):
    m = make_merchant()
    pipe17.conflicts = 1
    change = Change("pipe17.integration.tiktok_shop.flows.orders", Action.UPDATE, "pull", "pull")
    async with ClientPool(make_target(), read_only=False, transport=fake.transport, retry=FAST) as pool:
        await pool.pipe17(m).apply(change, m)
    assert fake.count("PUT", "/int_t") == 2 and fake.count("GET", "/integrations") == 2


async def test_second_conflict_is_reported(fake, pipe17, make_merchant, make_target):
    m = make_merchant()
    pipe17.conflicts = 2
    change = Change("pipe17.integration.tiktok_shop.flows.orders", Action.UPDATE, "pull", "pull")
    async with ClientPool(make_target(), read_only=False, transport=fake.transport, retry=FAST) as pool:
        with pytest.raises(ConflictError, match="pipe17 \\(merchant acme-apparel\\)"):
            await pool.pipe17(m).apply(change, m)


async def test_create_is_idempotent(fake, pipe17, make_merchant, make_target):
    m = make_merchant()
    create = Change("pipe17.integration.loop", Action.CREATE, None, "present")
    async with ClientPool(make_target(), read_only=False, transport=fake.transport, retry=FAST) as pool:
        provider = pool.pipe17(m)
        for _ in range(2):
            await provider.apply(create, m)
        snapshot = await pool.pipe17(m).read()
    assert fake.count("POST", "/integrations") == 1
    assert "pipe17.integration.loop" in snapshot.settings
    assert "pipe17.integration.shopify" in snapshot.settings


async def test_create_after_ambiguous_failure_looks_before_creating_again(fake, pipe17, make_merchant,
                                                                         make_target):
    m = make_merchant()
    landed_then_failed = pipe17.create

    def flaky(request, body):
        landed_then_failed(request, body)
        return httpx.Response(502, json={"success": False, "message": "bad gateway"})

    fake.on("POST", "/integrations", flaky)
    async with ClientPool(make_target(), read_only=False, transport=fake.transport, retry=FAST) as pool:
        await pool.pipe17(m).apply(Change("pipe17.integration.loop", Action.CREATE, None, "present"), m)
    assert fake.count("POST", "/integrations") == 1
    assert sum(1 for i in pipe17.items if i["connectorName"] == "Loop Returns") == 1


async def test_refunds_page_with_skip_and_count(fake, make_merchant, make_target):
    rows = [{"refundId": f"r{i}", "extOrderId": str(i), "source": "loop", "status": "pushed"} for i in range(130)]

    def refunds(request, body):
        skip, count = int(request.url.params["skip"]), int(request.url.params["count"])
        return httpx.Response(200, json={"success": True, "refunds": rows[skip:skip + count],
                                         "pagination": {"skip": skip, "count": count, "total": len(rows)}})

    fake.on("GET", "/refunds", refunds)
    async with ClientPool(make_target(), read_only=True, transport=fake.transport, retry=FAST) as pool:
        found = await pool.pipe17(make_merchant()).refunds()
    assert len(found) == 130 and found[-1].refund_id == "r129" and fake.count("GET", "/refunds") == 2
