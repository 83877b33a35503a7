"""Requests a Channel builds and responses the wire transport hands back.

Both take a cheaper route than httpx's general constructors (a header
template per host; a body stored as read when nothing is compressed). These
tests hold the cheap route to the same request and response the ordinary
constructors give, on the httpx this package installs, so an httpx upgrade
that changes either is caught here rather than on a service.
"""

from __future__ import annotations

import gzip

import httpx
import pytest

from reconciler.http import aiotransport
from reconciler.http import channel as channel_module
from reconciler.http.channel import Channel

CASES = [
    ("GET", "https://shop.example.com/admin/api/2025-01/shop.json", b""),
    ("GET", "http://127.0.0.1:8787/tiktok/return_refund/202309/x?shop_cipher=a%2Fb&sign=00", b""),
    ("POST", "http://127.0.0.1:8787/shopify/admin/api/graphql.json", b'{"query":"{ shop { id } }"}'),
    ("PUT", "https://api.loopreturns.com/api/v1/portal/settings", b'{"order_lookup":"email"}'),
    ("POST", "https://api-v3.pipe17.com/api/v3/integrations", b""),  # empty: Content-Length: 0
    ("DELETE", "http://[::1]:9000/x", b""),
]


def test_the_fast_route_is_taken_on_the_installed_httpx() -> None:
    assert channel_module.FAST_BUILD
    assert aiotransport._PLAIN_CONTENT


@pytest.mark.parametrize(("method", "url", "body"), CASES)
def test_built_requests_are_what_httpx_itself_builds(method: str, url: str, body: bytes) -> None:
    channel = Channel("loop", httpx.AsyncBaseTransport(), read_only=False)
    for _ in range(2):  # the second build comes from the cached template
        request = channel.build(method, httpx.URL(url), body, 7.5)
        ordinary = httpx.Request(
            method, url, content=body or None,
            headers={**channel_module.DEFAULT_HEADERS,
                     **({"content-type": "application/json"} if body else {})},
            extensions={"timeout": httpx.Timeout(7.5).as_dict()},
        )
        assert request.method == ordinary.method
        assert request.url == ordinary.url
        assert request.headers.raw == ordinary.headers.raw
        assert request.content == ordinary.content
        assert request.extensions == ordinary.extensions


def test_auth_headers_added_to_one_request_do_not_leak_into_the_next() -> None:
    channel = Channel("shopify", httpx.AsyncBaseTransport(), read_only=False)
    first = channel.build("GET", httpx.URL("https://a.example/x"), b"", 5.0)
    first.headers["X-Shopify-Access-Token"] = "shpat_first"
    second = channel.build("GET", httpx.URL("https://a.example/x"), b"", 5.0)
    assert "x-shopify-access-token" not in second.headers


def test_a_plain_answer_is_kept_as_it_came() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/x")
    body = b'{"ok": true}'
    response = aiotransport.whole_response(200, [(b"content-type", b"application/json")], body, request, {})
    assert response.content is body and response.json() == {"ok": True}


def test_a_compressed_answer_is_decoded() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/x")
    raw = gzip.compress(b'{"ok": true}')
    headers = [(b"Content-Encoding", b"gzip"), (b"content-type", b"application/json")]
    response = aiotransport.whole_response(200, headers, raw, request, {})
    assert response.json() == {"ok": True}
