"""Proxies from the environment: HTTP_PROXY, HTTPS_PROXY and NO_PROXY, in process and through the CLI.

Every request goes through a forwarding proxy on 127.0.0.1 (tests/http/forwarding_proxy.py)
that counts what it carried. The proxy is named for 127.0.0.1 on purpose: the environment's
rules apply to loopback like to any host (urllib's rules, which this transport follows, bypass
nothing by default), so a served sandbox is reached through the proxy unless NO_PROXY names it.
"""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator

import httpx
import pytest
import trustme

from reconciler.http.aiotransport import AiohttpTransport
from reconciler.http.channel import Channel
from reconciler.http.client import ServiceClient
from reconciler.http.errors import NetworkError
from tests.e2e.conftest import Sandbox, serving, start_logged_sandbox
from tests.http.forwarding_proxy import ForwardingProxy
from tests.http.test_http_transport import FAST, Server, _tls_listener, _trusting, server  # noqa: F401

SECRET = "s3cret-proxy-pass"


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    with ForwardingProxy() as running:
        yield running


def channel(environ: dict[str, str], verify: object = False) -> Channel:
    transport = AiohttpTransport(verify=verify, max_connections=4, environ=environ)  # type: ignore[arg-type]
    return Channel("loop", transport, read_only=False)


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_http_goes_through_the_proxy_with_the_signed_target_as_it_was(
    server: Server, proxy: ForwardingProxy,  # noqa: F811
) -> None:
    http = channel({"HTTP_PROXY": proxy.url(f"ops:{SECRET}")})
    url = httpx.URL(server.url + "/api/orders?sign=ab%2Fcd&q=a%20b")
    response = await http.send(http.build("GET", url, b"", 2.0), httpx.Auth())
    await http.aclose()
    assert response.json() == {"ok": True}
    assert proxy.requests == [f"GET {server.url}/api/orders?sign=ab%2Fcd&q=a%20b HTTP/1.1"]
    assert proxy.credentials == ["Basic " + base64.b64encode(f"ops:{SECRET}".encode()).decode()]
    assert server.heads[0].split(b"\r\n")[0] == b"GET /api/orders?sign=ab%2Fcd&q=a%20b HTTP/1.1"
    assert b"proxy-authorization" not in server.heads[0].lower()  # for the proxy only


async def test_no_proxy_sends_directly(server: Server, proxy: ForwardingProxy) -> None:  # noqa: F811
    http = channel({"HTTP_PROXY": proxy.url(), "NO_PROXY": "localhost,127.0.0.1"})
    response = await http.send(http.build("GET", httpx.URL(server.url + "/x"), b"", 2.0), httpx.Auth())
    await http.aclose()
    assert response.json() == {"ok": True}
    assert proxy.requests == [] and len(server.heads) == 1


async def test_https_is_tunnelled_and_the_certificate_still_checked(proxy: ForwardingProxy) -> None:
    ca = trustme.CA()
    srv = Server()
    async with await _tls_listener(srv, ca, "127.0.0.1"):
        http = channel({"HTTPS_PROXY": proxy.url()}, verify=_trusting(ca))
        response = await http.send(http.build("GET", httpx.URL(srv.url + "/x"), b"", 2.0),
                                   httpx.Auth())
        await http.aclose()
        untrusting = channel({"HTTPS_PROXY": proxy.url()}, verify=True)
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.send(untrusting.build("GET", httpx.URL(srv.url + "/y"), b"", 2.0),
                                  httpx.Auth())
        await untrusting.aclose()
    port = srv.url.rsplit(":", 1)[1]
    assert response.json() == {"ok": True}
    assert proxy.requests == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"] * 2
    assert len(srv.heads) == 1  # the refused certificate got no request


async def test_a_proxy_that_hangs_up_before_the_request_left_lets_a_create_be_retried(
    proxy: ForwardingProxy,
) -> None:
    ca = trustme.CA()
    srv = Server()
    proxy.hang_up_connects = 1
    async with await _tls_listener(srv, ca, "127.0.0.1"):
        http = channel({"HTTPS_PROXY": proxy.url()}, verify=_trusting(ca))
        client = ServiceClient("pipe17", http, srv.url, httpx.Auth(), retry=FAST)
        assert await client.request("POST", "/integrations", json={"name": "x"}) == {"ok": True}
        await http.aclose()
    assert len(proxy.requests) == 2  # the first CONNECT was hung up on, the second tunnelled
    assert len(srv.heads) == 1 and srv.heads[0].startswith(b"POST /integrations")


async def test_proxy_credentials_are_not_in_the_error(server: Server) -> None:  # noqa: F811
    http = channel({"HTTP_PROXY": f"http://ops:{SECRET}@127.0.0.1:{dead_port()}"})
    client = ServiceClient("loop", http, server.url, httpx.Auth(), retry=FAST)
    with pytest.raises(NetworkError) as caught:
        await client.request("POST", "/x", json={})
    await http.aclose()
    assert caught.value.code == "not-connected"
    assert SECRET not in str(caught.value) and server.heads == []


# -- through the CLI ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with serving(start_logged_sandbox(tmp_path_factory.mktemp("proxied"))) as served:
        yield served


def test_the_cli_goes_through_http_proxy(sandbox: Sandbox, proxy: ForwardingProxy) -> None:
    result = sandbox.cli("plan", "--detailed-exitcode", env={"HTTP_PROXY": proxy.url()})
    assert result.returncode == 2, result.stderr[-2000:]
    assert proxy.requests, "the plan did not go through the proxy"
    assert all(line.split(" ")[1].startswith(sandbox.url + "/") for line in proxy.requests)


def test_the_cli_bypasses_the_proxy_for_no_proxy(sandbox: Sandbox, proxy: ForwardingProxy) -> None:
    result = sandbox.cli("plan", "--detailed-exitcode",
                         env={"HTTP_PROXY": proxy.url(), "NO_PROXY": "127.0.0.1"})
    assert result.returncode == 2, result.stderr[-2000:]
    assert proxy.requests == []


def test_the_cli_never_prints_proxy_credentials(sandbox: Sandbox) -> None:
    env = {"HTTP_PROXY": f"http://ops:{SECRET}@127.0.0.1:{dead_port()}",
           "RECONCILER_RETRY_ATTEMPTS": "1"}
    result = sandbox.cli("plan", "--detailed-exitcode", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
