from __future__ import annotations

import re

from reconciler import declarations
from reconciler.sandbox.seed import DEFAULT_INSTRUCTIONS


async def test_portal_settings_default_to_email_lookup(sbx, merchant) -> None:
    body = (await sbx.loop(merchant, "GET", "/portal/settings")).json()
    assert body == {"portal_domain": merchant.loop_portal_domain, "order_lookup": "email",
                    "instructions": DEFAULT_INSTRUCTIONS, "shop_domain": merchant.shopify_shop}


async def test_patch_validates(sbx, merchant) -> None:
    bad = await sbx.loop(merchant, "PATCH", "/portal/settings", json={"order_lookup": "postcode"})
    assert bad.status_code == 422 and "order_lookup" in bad.json()["errors"]
    bad = await sbx.loop(merchant, "PATCH", "/portal/settings", json={"portal_domain": "x.example"})
    assert bad.status_code == 422 and "portal_domain" in bad.json()["errors"]
    bad = await sbx.loop(merchant, "PATCH", "/portal/settings", json={"instructions": "  "})
    assert bad.status_code == 422


async def test_deep_link_needs_zip_lookup(sbx, merchant) -> None:
    order = sbx.record(merchant)["tiktok_shop"]["orders"][0]
    zip_code = order["recipient_address"]["postal_code"]
    link = {"name": order["id"], "zip": zip_code}
    by_email = await sbx.loop(merchant, "POST", "/order/link", json=link)
    assert by_email.status_code == 400 and by_email.json() == {"errors": ["Order not found."]}
    text = "Enter your TikTok order number and shipping zip code."
    patched = await sbx.loop(merchant, "PATCH", "/portal/settings",
                             json={"order_lookup": "zip", "instructions": text})
    assert patched.json()["order_lookup"] == "zip" and patched.json()["instructions"] == text
    found = await sbx.loop(merchant, "POST", "/order/link", json=link)
    assert found.status_code == 200
    assert re.fullmatch(rf"https://{merchant.slug}\.loopreturns\.com/#/link/[0-9a-f-]+", found.json()["url"])
    assert set(found.json()) == {"url"}
    wrong_zip = await sbx.loop(merchant, "POST", "/order/link", json={"name": order["id"], "zip": "00000"})
    assert wrong_zip.status_code == 400
    missing = await sbx.loop(merchant, "POST", "/order/link", json={"name": order["id"]})
    assert missing.status_code == 422


async def test_returns_list(sbx, merchant) -> None:
    returns = (await sbx.loop(merchant, "GET", "/warehouse/return/list")).json()
    [closed] = returns
    assert closed["state"] == "closed" and closed["refund"]
    assert closed["order_name"] in {o["id"] for o in sbx.record(merchant)["tiktok_shop"]["orders"]}
    assert (await sbx.loop(merchant, "GET", "/warehouse/return/list", params={"state": "open"})).json() == []
    later = await sbx.loop(merchant, "GET", "/warehouse/return/list", params={"from": "2999-01-01 00:00:00"})
    assert later.json() == []
    earlier = await sbx.loop(merchant, "GET", "/warehouse/return/list",
                             params={"from": "2000-01-01 00:00:00", "to": "2999-12-31 23:59:59"})
    assert len(earlier.json()) == 1


async def test_returns_list_refuses_a_bare_date_with_field_details(sbx, merchant) -> None:
    bare = await sbx.loop(merchant, "GET", "/warehouse/return/list", params={"from": "2022-01-01"})
    assert bare.status_code == 422
    assert set(bare.json()) == {"message", "errors"} and list(bare.json()["errors"]) == ["from"]
    paged = (await sbx.loop(merchant, "GET", "/warehouse/return/list",
                            params={"paginate": "true", "pageSize": "1"})).json()
    assert len(paged["returns"]) == 1 and paged["nextPageUrl"] is None


async def test_key_and_rate_limit(sbx, merchant, other) -> None:
    bad = await sbx.loop(merchant, "GET", "/portal/settings", key="wrong")
    assert bad.status_code == 401
    assert bad.json() == {"error": {"code": "401", "http_code": "GEN-UNAUTHORIZED", "message": "Unauthorized."}}
    sbx.emulator.limits.loop_per_minute = 3
    codes = [(await sbx.loop(merchant, "GET", "/portal/settings")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = await sbx.loop(merchant, "GET", "/portal/settings")
    assert "retry-after" not in limited.headers
    assert (await sbx.loop(other, "GET", "/portal/settings")).status_code == 200


async def test_the_shop_a_key_serves_cannot_be_changed(sbx, merchant) -> None:
    bad = await sbx.loop(merchant, "PATCH", "/portal/settings", json={"shop_domain": "x.myshopify.com"})
    assert bad.status_code == 422 and "shop_domain" in bad.json()["errors"]


async def test_pipe17_reports_the_org_of_a_key(sbx, merchant) -> None:
    body = (await sbx.pipe17(merchant, "GET", "/organization")).json()
    assert body["success"] is True
    assert body["organization"]["shopifyDomain"] == merchant.shopify_shop


async def test_a_file_at_the_declared_limit_applies_in_the_sandbox(make_sandbox, merchant) -> None:
    """The schema used to allow 4,000 characters where the sandbox took 2,000: valid files failed apply."""
    sbx = make_sandbox([merchant])
    limit = declarations.LOOP_INSTRUCTIONS_MAX
    fits = await sbx.loop(merchant, "PATCH", "/portal/settings", json={"instructions": "z" * limit})
    assert fits.status_code == 200
    over = await sbx.loop(merchant, "PATCH", "/portal/settings", json={"instructions": "z" * (limit + 1)})
    assert over.status_code == 422
