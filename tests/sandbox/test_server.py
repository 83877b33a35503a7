"""The same app over real sockets on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox import (
    Emulator,
    NotLoopbackError,
    StateStore,
    build_app,
    serve,
    serve_in_thread,
)
from reconciler.sandbox.seed import credentials_of
from reconciler.sandbox.server import server_config
from reconciler.sandbox.tiktok_sign import signed_query
from tests.sandbox.sandbox_helpers import make_merchant, tiktok_channel_published

ROOT = Path(__file__).parents[2]
SHOPS = "/authorization/202309/shops"


@pytest.fixture
def served(merchant):
    emulator = Emulator()
    emulator.seed([merchant], {})
    with serve_in_thread(build_app(emulator)) as url:
        yield url, emulator


async def test_signed_requests_over_loopback(served, merchant) -> None:
    url, _ = served
    assert url.startswith("http://127.0.0.1:")
    creds = credentials_of(merchant)
    headers = {"x-tts-access-token": creds["tiktok_access_token"]}
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        good = await client.get("/tiktok" + SHOPS, headers=headers,
                                params=signed_query(creds["tiktok_app_key"], creds["tiktok_app_secret"], SHOPS))
        assert good.status_code == 200 and good.json()["data"]["shops"][0]["id"] == merchant.tiktok_shop_id
        bad = await client.get("/tiktok" + SHOPS, headers=headers,
                               params=signed_query(creds["tiktok_app_key"], "wrong", SHOPS))
        assert (bad.status_code, bad.json()["code"]) == (401, 106001)
        stats = (await client.get("/_sandbox/stats")).json()
        assert stats["requests"] == 2 and stats["services"]["tiktok_shop"]["requests"] == 2


async def test_drops_and_timeouts_over_loopback(served, merchant) -> None:
    url, _ = served
    headers = {"X-Authorization": credentials_of(merchant)["loop_api_key"]}
    async with httpx.AsyncClient(base_url=url, timeout=0.3) as client:
        await client.post("/_sandbox/faults", json={"services": {"loop": {"drop_rate": 1.0}}})
        with pytest.raises(httpx.TransportError):
            await client.get("/loop/api/v1/portal/settings", headers=headers)
        await client.post("/_sandbox/faults", json={"timeout_rate": 1.0, "timeout_seconds": 1})
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/loop/api/v1/portal/settings", headers=headers)
        await client.post("/_sandbox/faults", json={})
        assert (await client.get("/loop/api/v1/portal/settings", headers=headers)).status_code == 200


def test_serve_refuses_non_loopback_hosts(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.com"):
        with pytest.raises(NotLoopbackError):
            serve(host, 8787, tmp_path / "state.json", [make_merchant()])


SERVE = """
import sys
from tests.sandbox.sandbox_helpers import make_merchant
from reconciler.sandbox import serve
serve("127.0.0.1", {port}, __import__("pathlib").Path({state!r}), [make_merchant()],
      {{"acme-apparel": {{"tiktok-connector-on"}}}})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_persists_state_file(tmp_path: Path) -> None:
    port, state = free_port(), tmp_path / "state.json"
    script = SERVE.format(port=port, state=str(state))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(base + "/_sandbox/health", timeout=1).json()["merchants"] == 1
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "served sandbox did not start"
                time.sleep(0.1)
        key = credentials_of(make_merchant())["loop_api_key"]
        patched = httpx.patch(base + "/loop/api/v1/portal/settings", json={"order_lookup": "zip"},
                              headers={"X-Authorization": key}, timeout=5)
        assert patched.status_code == 200
        saved = StateStore(state).read()["merchants"]["acme-apparel"]
        assert saved["loop"]["portal"]["order_lookup"] == "zip"
        assert tiktok_channel_published(saved)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_runs_on_httptools_and_uvloop() -> None:
    config = server_config(build_app(Emulator()), "127.0.0.1", 0)
    config.load()
    assert config.http_protocol_class.__name__ == "HttpToolsProtocol"
    assert config.loop == "auto" and importlib.util.find_spec("uvloop")  # "auto" takes uvloop
    assert config.access_log is False
