"""The warnings services send beside their answers, as a run collects and words them."""

from __future__ import annotations

import httpx

from reconciler.http.notices import Notice, Notices, deprecation_notice

PATH = "/admin/api/2026-10/graphql.json"


def test_a_fall_forward_names_both_versions() -> None:
    headers = httpx.Headers({"X-Shopify-API-Deprecated-Reason": "https://shopify.dev/api/usage/versioning",
                             "X-Shopify-API-Version": "2027-01"})
    notice = deprecation_notice("shopify", headers, PATH)
    assert notice is not None
    assert notice.line().startswith("warning: shopify: Admin API 2026-10 is past its support window "
                                    "and was answered by 2027-01")


def test_deprecated_fields_are_quoted_and_no_header_is_no_notice() -> None:
    headers = httpx.Headers({"X-Shopify-API-Deprecated-Reason": "Shop.products,\n Shop.productVariants",
                             "X-Shopify-API-Version": "2026-10"})
    notice = deprecation_notice("shopify", headers, PATH)
    assert notice is not None and "Shop.products, Shop.productVariants" in notice.text
    assert deprecation_notice("shopify", httpx.Headers({}), PATH) is None


def test_notices_keep_one_of_each_in_the_order_first_seen() -> None:
    notices = Notices()
    for text in ("b", "a", "b", "a"):
        notices.add(Notice("shopify", text))
    notices.add(None)
    notices.extend([Notice("loop", "a")])
    assert notices.lines() == ["warning: shopify: b", "warning: shopify: a", "warning: loop: a"]
    assert len(notices) == 3
