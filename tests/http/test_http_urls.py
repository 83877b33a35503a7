"""URLs joined onto a parsed base are the URLs httpx would have parsed from text."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.http import urls
from reconciler.targets import SHOPIFY_API_VERSION

BASES = ["http://127.0.0.1:8787/tiktok", "https://open-api.tiktokglobalshop.com",
         f"https://acme.myshopify.com/admin/api/{SHOPIFY_API_VERSION}/graphql.json", "http://[::1]:9000/loop/api/v1"]


def same(a: httpx.URL, b: httpx.URL) -> None:
    assert str(a) == str(b)
    assert (a.scheme, a.host, a.port, a.path, a.query, a.raw_path) == (
        b.scheme, b.host, b.port, b.path, b.query, b.raw_path)


def test_the_fast_path_is_in_use_on_this_httpx() -> None:
    assert urls.FAST


@settings(max_examples=200, deadline=None)
@given(base=st.sampled_from(BASES),
       path=st.text(alphabet="abc/-_.~ %?#ü:@!$&'()*+,;=", max_size=20).map(lambda p: "/" + p),
       query=st.one_of(st.none(), st.sampled_from(["a=1", "sign=ab%2Fcd&x=%E2%9C%93", "q=a%20b"])))
def test_join_equals_parsing_the_text(base: str, path: str, query: str | None) -> None:
    parsed = httpx.URL(base)
    same(urls.join(parsed, path, query), urls._join_text(parsed, path, query))


@pytest.mark.parametrize("base", BASES)
def test_with_query_replaces_only_the_query(base: str) -> None:
    url = urls.join(httpx.URL(base), "/orders/1", "old=1")
    replaced = urls.with_query(url, "app_key=k&sign=s%2F")
    same(replaced, httpx.URL(str(url).partition("?")[0] + "?app_key=k&sign=s%2F"))


def test_a_path_from_an_answer_cannot_add_a_query_or_leave_the_path() -> None:
    url = urls.join(httpx.URL("https://api.pipe17.io/api/v3"), "/integrations/a?b=1#c d")
    assert url.query == b"" and url.fragment == ""
    assert url.raw_path == b"/api/v3/integrations/a%3Fb=1%23c%20d"


SHOP_TEMPLATES = [f"https://{{shop}}/admin/api/{SHOPIFY_API_VERSION}/graphql.json",
                  f"http://127.0.0.1:8787/shopify/{{shop}}/admin/api/{SHOPIFY_API_VERSION}/graphql.json"]


@settings(max_examples=200, deadline=None)
@given(template=st.sampled_from(SHOP_TEMPLATES),
       shop=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}\.myshopify\.com", fullmatch=True))
def test_a_filled_template_equals_parsing_the_text(template: str, shop: str) -> None:
    same(urls.Template(template, "{shop}").fill(shop), httpx.URL(template.replace("{shop}", shop)))


@pytest.mark.parametrize("template", SHOP_TEMPLATES)
def test_an_unusual_value_is_parsed_in_full(template: str) -> None:
    filled = urls.Template(template, "{shop}")
    same(filled.fill("Acme.MyShopify.com"), httpx.URL(template.replace("{shop}", "Acme.MyShopify.com")))
    with pytest.raises(httpx.InvalidURL):
        filled.fill("acme shop\n.myshopify.com")
