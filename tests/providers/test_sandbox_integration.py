"""Providers against the sandbox emulator, in process (ASGI) and served on loopback (uvicorn).

Every test runs twice: `asgi` mounts the emulator app in the client's
transport; `served` runs it under uvicorn on 127.0.0.1 with an ephemeral
port and talks to it over real sockets.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import AuthError, ServiceError
from reconciler.http.retry import RetryPolicy
from reconciler.model import Action, Change, DesiredState
from reconciler.targets import Target

sandbox_app = pytest.importorskip("reconciler.sandbox.app", reason="sandbox emulator not built yet")
from reconciler.sandbox.state import Emulator  # noqa: E402

QUICK = RetryPolicy(attempts=4, total_seconds=2.0, base_delay=0.02, max_delay=0.1, timeout=1.0)
PATIENT = RetryPolicy(attempts=12, total_seconds=30.0, base_delay=0.05, max_delay=1.5, timeout=3.0)
SCENARIOS = {"m-two": {"pipe17-loop-missing"}, "m-three": {"return-proxy-not-installed"}}


class Recording(httpx.AsyncBaseTransport):
    """Passes requests through and keeps them, to look for secrets in what was sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Served:
    """The emulator app under uvicorn in a background thread, on an ephemeral loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Sandbox:
    target: Target
    transport: Recording
    merchants: list[DesiredState]
    control: httpx.AsyncClient

    def pool(self, *, read_only: bool, retry: RetryPolicy = PATIENT) -> ClientPool:
        return ClientPool(self.target, read_only=read_only, transport=self.transport, retry=retry)

    async def stats(self) -> dict[str, Any]:
        return (await self.control.get("/_sandbox/stats")).raise_for_status().json()

    async def faults(self, **faults: Any) -> None:
        (await self.control.post("/_sandbox/faults", json=faults)).raise_for_status()

    def merchant(self, slug: str) -> DesiredState:
        return next(m for m in self.merchants if m.slug == slug)


@pytest.fixture(params=["asgi", "served"])
async def sandbox(request, make_merchant, make_target, tmp_path) -> AsyncIterator[Sandbox]:
    merchants = [make_merchant(slug) for slug in ("m-one", "m-two", "m-three")]
    emulator = Emulator()
    emulator.seed(merchants, SCENARIOS)
    app = sandbox_app.build_app(emulator)
    served = None
    if request.param == "asgi":
        target = make_target("http://sandbox.local", embedded=True, state_dir=tmp_path)
        inner: httpx.AsyncBaseTransport = httpx.ASGITransport(app=app)
    else:
        served = Served(app)
        root = served.start()
        target = make_target(root, embedded=False, state_dir=tmp_path)
        inner = httpx.AsyncHTTPTransport()
    transport = Recording(inner)
    root_url = target.endpoints["loop"].split("/loop/")[0]
    async with httpx.AsyncClient(transport=inner, base_url=root_url) as control:
        try:
            yield Sandbox(target, transport, merchants, control)
        finally:
            if served is not None:
                served.stop()


async def read_all(pool: ClientPool, merchant: DesiredState) -> dict[str, Any]:
    providers = pool.providers(merchant)
    snapshots = await asyncio.gather(*(p.read() for p in providers.values()))
    return {s.service: s for s in snapshots}


async def test_wrong_tiktok_secret_is_rejected_without_leaking(sandbox, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("T_TIKTOK_APP_SECRET", "CANARY-secret-123")
    m = sandbox.merchants[0]
    async with sandbox.pool(read_only=True, retry=QUICK) as pool:
        with pytest.raises(AuthError) as caught:
            await pool.providers(m)["tiktok_shop"].read()
    sent = sandbox.transport.seen[-1]
    secrets = ["CANARY-secret-123", sent.url.params["sign"], sent.url.params["app_key"],
               sent.headers["x-tts-access-token"]]
    text = str(caught.value) + "\n" + caplog.text
    assert "tiktok_shop (merchant m-one)" in str(caught.value) and "106001" in str(caught.value)
    for secret in secrets:
        assert secret not in text


async def test_plan_reads_every_merchant_with_six_requests_and_no_writes(sandbox):
    async with sandbox.pool(read_only=True) as pool:
        snapshots = {m.slug: await read_all(pool, m) for m in sandbox.merchants}
    stats = await sandbox.stats()
    assert stats["writes"] == 0
    # per merchant: TikTok shops + Return Proxy (m-three's proxy is still read), Shopify's shop,
    # Loop's portal settings (which name the key's shop), and two for Pipe17 (integrations,
    # and who the key is for)
    assert stats["requests"] == 6 * len(sandbox.merchants)
    one = snapshots["m-one"]
    assert one["tiktok_shop"].facts == {"tiktok_shop.authorized": True,
                                        "tiktok_shop.return_proxy.installed": True}
    assert one["pipe17"].settings["pipe17.integration.tiktok_shop.flows.orders"] == "off"
    assert one["pipe17"].facts["pipe17.integration.loop.status"] == "connected"
    assert one["shopify"].facts["shopify.shop_found"] is True
    assert "read_orders" in one["shopify"].facts["shopify.access_scopes"]
    assert one["shopify"].facts["shopify.tiktok_channel"] is False  # read in the same one request
    assert one["loop"].settings["loop.portal.order_lookup"] == "email"
    assert one["loop"].facts["loop.portal_domain"] == sandbox.merchant("m-one").loop_portal_domain
    assert "pipe17.integration.loop" not in snapshots["m-two"]["pipe17"].settings
    assert snapshots["m-three"]["tiktok_shop"].facts["tiktok_shop.return_proxy.installed"] is False


async def test_verify_reads_through_read_only_pool_write_nothing(sandbox):
    m = sandbox.merchant("m-one")
    async with sandbox.pool(read_only=True) as pool:
        tiktok, pipe17, shopify, loop = (pool.tiktok_shop(m), pool.pipe17(m), pool.shopify(m), pool.loop(m))
        orders = await tiktok.search_orders(since=0)
        await tiktok.search_returns([o.id for o in orders])
        shop_orders = await shopify.orders(None, first=10)
        await pipe17.refunds()
        await loop.order_link(orders[0].id, orders[0].postal_code or "")
        await loop.returns()
    assert len(orders) == 3 and {o.name for o in shop_orders} >= {o.id for o in orders}
    assert (await sandbox.stats())["writes"] == 0


async def test_reads_survive_errors_and_throttling(sandbox):
    await sandbox.faults(error_rate=0.3, throttle=True, seed=11)
    async with sandbox.pool(read_only=True) as pool:
        results = await asyncio.gather(*(read_all(pool, m) for m in sandbox.merchants))
    assert len(results) == len(sandbox.merchants)
    assert all(set(r) == {"tiktok_shop", "pipe17", "shopify", "loop"} for r in results)


@pytest.mark.parametrize("service", ["tiktok_shop", "pipe17", "shopify", "loop"])
async def test_total_outage_fails_typed_and_bounded(sandbox, service):
    await sandbox.faults(error_rate=1.0)
    started = time.monotonic()
    async with sandbox.pool(read_only=True, retry=QUICK) as pool:
        with pytest.raises(ServiceError) as caught:
            await pool.providers(sandbox.merchants[0])[service].read()
    assert time.monotonic() - started < 5
    assert caught.value.service == service
    assert str(caught.value).startswith(f"{service} (merchant m-one)")


def change(address: str, action: Action = Action.UPDATE) -> Change:
    return Change(address, action, None, None)


APPLIED = {
    "tiktok_shop.return_proxy.partner": "loop_pipe17",
    "pipe17.integration.tiktok_shop.flows.orders": "pull",
    "pipe17.integration.tiktok_shop.options.push_refunds_to_tiktok": True,
    "pipe17.integration.shopify.options.order_sync_mode": "fulfillment",
    "loop.portal.order_lookup": "zip",
}


async def test_apply_each_kind_then_read_shows_it(sandbox):
    m = sandbox.merchant("m-two")  # Loop integration missing in Pipe17
    changes = [
        change("tiktok_shop.return_proxy.partner", Action.CREATE),
        change("tiktok_shop.return_proxy.return_url", Action.CREATE),
        change("pipe17.integration.loop", Action.CREATE),
        change("pipe17.integration.loop.flows.refunds"),
        *(change(a) for a in APPLIED if a.startswith("pipe17")),
        change("loop.portal.order_lookup"),
        change("loop.portal.instructions"),
    ]
    async with sandbox.pool(read_only=False) as pool:
        providers = pool.providers(m)
        for _ in range(2):  # the second round proves each apply is idempotent
            for c in changes:
                await providers[c.service].apply(c, m)
        live = await read_all(pool, m)
    settings = {k: v for s in live.values() for k, v in s.settings.items()}
    for address in [*APPLIED, "pipe17.integration.loop", "pipe17.integration.loop.flows.refunds",
                    "tiktok_shop.return_proxy.return_url"]:
        assert settings[address] == m.settings[address], address
    assert settings["loop.portal.instructions"] == m.settings["loop.portal.instructions"].strip()
    assert live["pipe17"].facts["pipe17.integration.loop.status"] == "disconnected"


async def test_deep_link_finds_order_by_zip_after_apply(sandbox):
    m = sandbox.merchant("m-one")
    async with sandbox.pool(read_only=False) as pool:
        tiktok, loop = pool.tiktok_shop(m), pool.loop(m)
        order = (await tiktok.search_orders(since=0))[0]
        assert await loop.order_link(order.id, order.postal_code or "") is None  # lookup is email
        await loop.apply(change("loop.portal.order_lookup"), m)
        url = await loop.order_link(order.id, order.postal_code or "")
    assert url is not None and url.startswith(f"https://{m.slug}.loopreturns.com/#/link/")


@pytest.mark.parametrize("faults", [{"drop_rate": 0.2, "seed": 5}, {"latency_ms": 5, "error_rate": 0.2, "seed": 9}])
async def test_reads_survive_dropped_connections_and_latency(sandbox, faults):
    await sandbox.faults(**faults)
    async with sandbox.pool(read_only=True) as pool:
        results = await asyncio.gather(*(read_all(pool, m) for m in sandbox.merchants))
    assert all(len(r) == 4 for r in results)


async def test_embedded_transport_persists_applied_changes(make_merchant, make_target, tmp_path):
    from reconciler.sandbox import embedded_transport

    m = make_merchant("m-embedded")
    target = make_target(state_dir=tmp_path)
    async with ClientPool(target, read_only=False, transport=embedded_transport(tmp_path, [m])) as pool:
        await pool.loop(m).apply(change("loop.portal.order_lookup"), m)
    async with ClientPool(target, read_only=True, transport=embedded_transport(tmp_path, [m])) as pool:
        snapshot = await pool.loop(m).read()
    assert snapshot.settings["loop.portal.order_lookup"] == "zip"


async def test_shopify_cost_throttle_is_waited_out_by_the_provider(sandbox):
    # The plan's ReconcilerShop requests 55 points by Shopify's rules (2 + 25 * 2 for the
    # publications, 3 for shop, installation and scopes) and uses 7: with a 60-point bucket
    # restoring 30 per second the second read right after the first is THROTTLED, and the
    # client waits (requested - available) / restoreRate and succeeds.
    (await sandbox.control.post("/_sandbox/limits", json={
        "shopify_bucket_size": 60, "shopify_restore_rate": 30})).raise_for_status()
    m = sandbox.merchants[0]
    async with sandbox.pool(read_only=True) as pool:
        shopify = pool.providers(m)["shopify"]
        first = await shopify.read()
        second = await shopify.read()
    assert first.facts == second.facts and first.facts["shopify.shop_found"] is True
    shopify_requests = [r for r in sandbox.transport.seen if "/shopify/" in r.url.path]
    assert len(shopify_requests) == 3  # one read, one throttled answer, its retry
