from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox import STATE_FILE_NAME, StateStore, embedded_transport
from reconciler.sandbox.seed import credentials_of
from tests.sandbox.sandbox_helpers import BASE, make_merchant, tiktok_channel_published

ROOT = Path(__file__).parents[2]


def client_for(transport: httpx.AsyncBaseTransport, **kwargs) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport, base_url=BASE, **kwargs)


def loop_headers(merchant) -> dict[str, str]:
    return {"X-Authorization": credentials_of(merchant)["loop_api_key"]}


async def lookup(client: httpx.AsyncClient, merchant) -> str:
    response = await client.get("/loop/api/v1/portal/settings", headers=loop_headers(merchant))
    assert response.status_code == 200, response.text
    return response.json()["order_lookup"]


async def test_state_persists_between_transports(tmp_path: Path, merchant, other) -> None:
    async with client_for(embedded_transport(tmp_path, [merchant])) as first:
        await first.patch("/loop/api/v1/portal/settings", json={"order_lookup": "zip"},
                          headers=loop_headers(merchant))
        assert (tmp_path / STATE_FILE_NAME).is_file()
        async with client_for(embedded_transport(tmp_path, [merchant, other])) as second:
            assert await lookup(second, merchant) == "zip"  # kept
            assert await lookup(second, other) == "email"  # seeded on next use
            await second.patch("/loop/api/v1/portal/settings", json={"order_lookup": "phone"},
                               headers=loop_headers(other))
        # The first transport notices the file changed and reloads.
        assert await lookup(first, other) == "phone"
    assert not list(tmp_path.glob("*.tmp"))
    saved = StateStore(tmp_path / STATE_FILE_NAME).read()
    assert set(saved["merchants"]) == {merchant.slug, other.slug}


async def test_changed_scenarios_reseed_only_that_merchant(tmp_path: Path, merchant, other) -> None:
    async with client_for(embedded_transport(tmp_path, [merchant, other])) as client:
        for m in (merchant, other):
            await client.patch("/loop/api/v1/portal/settings", json={"order_lookup": "zip"},
                               headers=loop_headers(m))
    chosen = {merchant.slug: {"tiktok-connector-on"}}
    async with client_for(embedded_transport(tmp_path, [merchant, other], chosen)) as client:
        assert await lookup(client, merchant) == "email"
        assert await lookup(client, other) == "zip"
    # Without a selection the stored scenarios are kept, and so is the state.
    transport = embedded_transport(tmp_path, [merchant, other])
    record = transport.emulator.merchants[merchant.slug]
    assert record["spec"]["scenarios"] == ["tiktok-connector-on"]
    assert tiktok_channel_published(record)


async def test_credentials_follow_the_environment(tmp_path: Path, merchant, monkeypatch) -> None:
    embedded_transport(tmp_path, [merchant])
    monkeypatch.setenv(merchant.credentials.loop_api_key.var, "canary-loop-key-123")
    async with client_for(embedded_transport(tmp_path, [merchant])) as client:
        ok = await client.get("/loop/api/v1/portal/settings", headers={"X-Authorization": "canary-loop-key-123"})
        assert ok.status_code == 200
        assert "canary-loop-key-123" not in (await client.get("/_sandbox/state")).text


async def test_embedded_transport_honors_read_timeout(tmp_path: Path, merchant) -> None:
    transport = embedded_transport(tmp_path, [merchant])
    async with client_for(transport, timeout=0.2) as client:
        await client.post("/_sandbox/faults", json={"timeout_rate": 1.0, "timeout_seconds": 5})
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/loop/api/v1/portal/settings", headers=loop_headers(merchant))


WRITER = """
import asyncio, sys
import httpx
from tests.sandbox.sandbox_helpers import BASE, make_merchant
from reconciler.sandbox import embedded_transport
from reconciler.sandbox.seed import credentials_of

async def main(slug):
    merchants = [make_merchant("acme-apparel"), make_merchant("bolt-outdoor")]
    me = next(m for m in merchants if m.slug == slug)
    headers = {{"X-Pipe17-Key": credentials_of(me)["pipe17_api_key"]}}
    transport = embedded_transport({state!r}, merchants)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        for _ in range(15):
            items = (await client.get("/pipe17/api/v3/integrations", headers=headers)).json()["integrations"]
            item = items[0]
            response = await client.put("/pipe17/api/v3/integrations/" + item["integrationId"], headers=headers,
                                        json={{"version": item["version"], "settings": {{}}}})
            assert response.status_code == 200, response.text

asyncio.run(main(sys.argv[1]))
"""


def test_two_processes_do_not_lose_writes(tmp_path: Path) -> None:
    embedded_transport(tmp_path, [make_merchant("acme-apparel"), make_merchant("bolt-outdoor")])
    script = WRITER.format(state=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", script, slug], cwd=ROOT)
             for slug in ("acme-apparel", "bolt-outdoor")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    saved = StateStore(tmp_path / STATE_FILE_NAME).read()
    for slug in ("acme-apparel", "bolt-outdoor"):
        assert saved["merchants"][slug]["pipe17"]["integrations"][0]["version"] == 16
