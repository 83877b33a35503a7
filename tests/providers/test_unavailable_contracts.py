"""Graceful on what is not published: an assumed contract the service does not speak.

"No such endpoint" (404, 405, TikTok 36009009) or an answer outside the
contract's declared shape makes the read report the contract unavailable;
credentials refused and server errors stay errors, as for any endpoint.
"""

import httpx
import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import AuthError, ServerError
from reconciler.http.retry import RetryPolicy

FAST = RetryPolicy(attempts=2, total_seconds=1, base_delay=0.01, max_delay=0.02, timeout=0.5)
PORTAL = "/portal/settings"


def tiktok(data, code=0, status=200):
    return httpx.Response(status, json={"code": code, "message": "m", "data": data, "request_id": "r"})


async def _read(fake, target, merchant, service):
    async with ClientPool(target, read_only=True, transport=fake.transport, retry=FAST) as pool:
        return await pool.providers(merchant)[service].read()


@pytest.mark.parametrize("status, body", [
    (404, {"error": {"code": "404", "http_code": "GEN-NOT-FOUND", "message": "Not found."}}),
    (405, {"message": "Method not allowed."}),
])
async def test_loop_without_the_endpoint_reports_the_contract_unavailable(
        fake, make_merchant, make_target, status, body):
    fake.on("GET", PORTAL, lambda request, _: httpx.Response(status, json=body))
    snapshot = await _read(fake, make_target(), make_merchant(), "loop")
    assert snapshot.settings == {} and snapshot.proven == ()
    [gone] = snapshot.unavailable
    assert (gone.contract, gone.endpoint) == ("loop.portal_settings", "GET /portal/settings")
    assert gone.reason.startswith(f"HTTP {status}")


async def test_loop_answer_outside_the_assumed_shape_is_unavailable(fake, make_merchant, make_target):
    fake.on("GET", PORTAL, {"lookup_method": "zip"})
    snapshot = await _read(fake, make_target(), make_merchant(), "loop")
    [gone] = snapshot.unavailable
    assert "shape" in gone.reason and "order_lookup" in gone.reason


async def test_loop_in_shape_is_proven(fake, make_merchant, make_target):
    m = make_merchant()
    fake.on("GET", PORTAL, {"order_lookup": "ZIP", "instructions": "x", "portal_domain": "p",
                            "shop_domain": m.shopify_shop})
    snapshot = await _read(fake, make_target(), m, "loop")
    assert snapshot.unavailable == () and snapshot.proven == ("loop.portal_settings",)
    assert snapshot.settings["loop.portal.order_lookup"] == "zip"


@pytest.mark.parametrize("status, error", [(401, AuthError), (503, ServerError)])
async def test_refused_credentials_and_server_errors_stay_errors(
        fake, make_merchant, make_target, status, error):
    fake.on("GET", PORTAL, lambda request, _: httpx.Response(status, json={"message": "no"}))
    with pytest.raises(error):
        await _read(fake, make_target(), make_merchant(), "loop")


@pytest.mark.parametrize("status", [404, 200])
async def test_tiktok_invalid_path_leaves_installation_unknown(
        fake, make_merchant, make_target, status):
    m = make_merchant()
    fake.on("GET", "/authorization/202309/shops",
            lambda request, _: tiktok({"shops": [{"id": m.tiktok_shop_id, "cipher": "C1"}]}))
    fake.on("GET", "/return_refund/202309/return_proxy",
            lambda request, _: tiktok(None, code=36009009, status=status))
    snapshot = await _read(fake, make_target(), m, "tiktok_shop")
    assert [u.contract for u in snapshot.unavailable] == ["tiktok_shop.return_proxy"]
    assert snapshot.facts["tiktok_shop.authorized"] is True
    assert snapshot.facts["tiktok_shop.return_proxy.installed"] is None  # unknown, not "not installed"
    assert snapshot.proven == ("tiktok_shop.authorization",)


async def test_pipe17_integrations_without_settings_are_unavailable(fake, make_merchant, make_target):
    fake.on("GET", "/integrations", {"success": True, "integrations": [
        {"integrationId": "i1", "connectorName": "Shopify", "status": "connected"}]})
    snapshot = await _read(fake, make_target(), make_merchant(), "pipe17")
    [gone] = snapshot.unavailable
    assert gone.contract == "pipe17.integrations" and "settings" in gone.reason
    assert snapshot.settings == {} and snapshot.facts == {}
