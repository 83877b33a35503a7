"""ClientPool: construction rules, secrets, read-only by construction."""

import pytest

from reconciler.engine.pool import ClientPool
from reconciler.http.errors import ReadOnlyViolation
from reconciler.model import Action, Change
from reconciler.secrets import MissingSecretError, redactor
from reconciler.targets import resolve_target


async def test_providers_are_keyed_by_service(fake, make_merchant, make_target):
    async with ClientPool(make_target(), read_only=True, transport=fake.transport) as pool:
        providers = pool.providers(make_merchant())
    assert sorted(providers) == ["loop", "pipe17", "shopify", "tiktok_shop"]
    assert all(p.service == name for name, p in providers.items())


def test_embedded_target_needs_a_transport(make_target):
    with pytest.raises(ValueError, match="embedded sandbox"):
        ClientPool(make_target(), read_only=True)


async def test_live_target_with_unset_variable_names_it(make_merchant, tmp_path):
    async with ClientPool(resolve_target("live", state_dir=tmp_path), read_only=True) as pool:
        with pytest.raises(MissingSecretError, match="T_ACME_APPAREL_PIPE17_KEY|T_TIKTOK_APP_KEY"):
            pool.providers(make_merchant())


async def test_env_values_are_used_and_registered_for_redaction(fake, make_merchant, make_target, monkeypatch):
    monkeypatch.setenv("T_ACME_APPAREL_LOOP_KEY", "CANARY-loop-key-55")
    fake.on("GET", "/portal/settings", {"portal_domain": "p", "shop_domain": "acme-apparel.myshopify.com", "order_lookup": "zip", "instructions": "i"})
    async with ClientPool(make_target(), read_only=True, transport=fake.transport) as pool:
        await pool.loop(make_merchant()).read()
    assert fake.seen[0].headers["X-Authorization"] == "CANARY-loop-key-55"
    assert "CANARY-loop-key-55" not in redactor.redact("key=CANARY-loop-key-55")


async def test_read_only_pool_providers_cannot_write(fake, make_merchant, make_target):
    m = make_merchant()
    fake.on("GET", "/authorization/202309/shops",
            {"code": 0, "data": {"shops": [{"id": m.tiktok_shop_id, "cipher": "C"}]}})
    changes = {
        "tiktok_shop": Change("tiktok_shop.return_proxy.partner", Action.UPDATE, None, "loop_pipe17"),
        "loop": Change("loop.portal.order_lookup", Action.UPDATE, "email", "zip"),
    }
    async with ClientPool(make_target(), read_only=True, transport=fake.transport) as pool:
        providers = pool.providers(m)
        for service, change in changes.items():
            with pytest.raises(ReadOnlyViolation):
                await providers[service].apply(change, m)
    assert all(r.method == "GET" for r in fake.seen)


async def test_pool_must_be_open(make_merchant, make_target, fake):
    pool = ClientPool(make_target(), read_only=True, transport=fake.transport)
    with pytest.raises(RuntimeError, match="not open"):
        pool.providers(make_merchant())
