"""`reconciler export`, end to end through the CLI against the embedded sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.export.harness import SLUGS, Workspace, exported


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def plan_changes(ws: Workspace, merchants: Path, slug: str) -> tuple[int, dict]:
    result = ws.cli("plan", "--format", "json", "--detailed-exitcode", "--merchant", slug,
                    merchants=merchants)
    return result.exit_code, json.loads(result.stdout)["merchants"][0]


def test_every_seeded_merchant_exports_validates_and_plans_like_its_file(ws: Workspace) -> None:
    assert ws.cli("apply", "--auto-approve").exit_code == 0
    texts = {}
    for slug in SLUGS:
        result = ws.cli("export", slug)
        document = exported(result)
        assert document["extends"] == "tiktok-loop"
        texts[slug] = result.stdout
    adopted = ws.directory_with("adopted", texts)
    validated = ws.cli("validate", merchants=adopted)
    assert validated.exit_code == 0, validated.output
    for slug in ("acme-apparel", "bright-basics"):
        code, plan = plan_changes(ws, adopted, slug)
        assert code == 0, plan
    # cosmo-kids waits for H5 approval: its exported file plans exactly as its own file does.
    code, plan = plan_changes(ws, adopted, "cosmo-kids")
    original_code, original = plan_changes(ws, ws.merchants, "cosmo-kids")
    assert (code, plan["changes"]) == (original_code, original["changes"])
    assert plan["changes"] and all(c["blocked_by"] == "tiktok_shop.h5_redirect" for c in plan["changes"])


def test_export_lists_only_what_differs_from_the_profile(ws: Workspace) -> None:
    assert ws.cli("apply", "--auto-approve").exit_code == 0
    document = exported(ws.cli("export", "acme-apparel"))
    assert set(document) == {"extends", "name", "shopify", "tiktok_shop", "pipe17", "loop"}
    sealed = "sops:secrets/acme-apparel.sops.yaml"
    assert document["pipe17"] == {"api_key": f"{sealed}#pipe17.api_key"}
    assert document["loop"] == {"api_key": f"{sealed}#loop.api_key",
                                "portal_domain": "returns.acme-apparel.com"}
    assert document["tiktok_shop"]["refresh_token"] == f"{sealed}#tiktok_shop.refresh_token"
    assert "access_token" not in document["tiktok_shop"]
    assert "return_proxy" not in document["tiktok_shop"]
    assert document["tiktok_shop"]["h5_redirect"] == {
        "approved": True, "evidence": "AM Jane Doe approved, ticket TTS-4821, 2026-10-02"}


HAND_CONFIGURED = """\
extends: tiktok-loop
name: Acme Apparel
shopify: {shop: acme-apparel.myshopify.com, access_token: env:ACME_SHOPIFY_TOKEN}
tiktok_shop:
  shop_id: "7495012345678901234"
  region: US
  access_token: env:ACME_TTS_ACCESS_TOKEN
  h5_redirect: {approved: true, evidence: "AM Jane Doe approved, ticket TTS-4821, 2026-10-02"}
  return_proxy:
    return_url: "https://returns.acme-apparel.com/?zip=[TTS_ZIP_CODE]&order=[TT_ORDER_NUM]"
pipe17: {api_key: env:ACME_PIPE17_KEY}
loop:
  api_key: env:ACME_LOOP_KEY
  portal_domain: returns.acme-apparel.com
  instructions: |
    TikTok Shop buyers: type your TikTok order number
    and the zip code of the shipping address {{ '{{' }}not your email{{ '}}' }}.
"""


def test_hand_configured_merchant_is_adopted_with_its_own_values(ws: Workspace) -> None:
    by_hand = ws.directory_with("by-hand", {"acme-apparel": HAND_CONFIGURED})
    assert ws.cli("apply", "--auto-approve", merchants=by_hand).exit_code == 0
    # Before adopting, the shipped file disagrees with what was set by hand.
    assert plan_changes(ws, ws.merchants, "acme-apparel")[0] == 2

    result = ws.cli("export", "acme-apparel")
    document = exported(result)
    assert document["tiktok_shop"]["return_proxy"] == {
        "return_url": "https://returns.acme-apparel.com/?zip=[TTS_ZIP_CODE]&order=[TT_ORDER_NUM]"}
    assert "{{not your email}}" in document["loop"]["instructions"]
    adopted = ws.directory_with("adopted", {"acme-apparel": result.stdout})
    assert ws.cli("validate", merchants=adopted).exit_code == 0
    assert plan_changes(ws, adopted, "acme-apparel")[0] == 0


def test_fresh_merchant_exports_valid_yaml_and_notes_what_live_lacks(ws: Workspace) -> None:
    result = ws.cli("export", "bright-basics")
    exported(result)
    assert "loop.portal.order_lookup: live is 'email'" in result.stdout
    assert "R017" in result.stdout
    assert "tiktok_shop.return_proxy.return_url: not set on TikTok Shop yet" in result.stdout
    adopted = ws.directory_with("adopted", {"bright-basics": result.stdout})
    assert ws.cli("validate", merchants=adopted).exit_code == 0
    assert plan_changes(ws, adopted, "bright-basics")[0] == 2


def test_unattested_h5_is_carried_with_a_comment(ws: Workspace) -> None:
    result = ws.cli("export", "cosmo-kids")
    assert exported(result)["tiktok_shop"]["h5_redirect"] == {"approved": False}
    assert "# H5 Redirect approval has no API" in result.stdout


def test_export_all_writes_merchants_found_live_without_a_file(ws: Workspace, tmp_path: Path) -> None:
    assert ws.cli("apply", "--auto-approve").exit_code == 0
    (ws.merchants / "bright-basics.yaml").unlink()
    out = tmp_path / "found"
    result = ws.cli("export", "--all", "--out-dir", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == "Target: sandbox"
    assert sorted(p.name for p in out.iterdir()) == ["bright-basics.yaml"]
    text = (out / "bright-basics.yaml").read_text()
    document = yaml.safe_load(text)
    assert document["extends"] == "tiktok-loop"
    assert document["shopify"] == {"shop": "bright-basics.myshopify.com",
                                   "access_token": "env:BRIGHT_BASICS_SHOPIFY_TOKEN"}
    assert document["tiktok_shop"]["h5_redirect"] == {"approved": False}
    (ws.merchants / "bright-basics.yaml").write_text(text)
    assert ws.cli("validate").exit_code == 0
    code, plan = plan_changes(ws, ws.merchants, "bright-basics")
    assert code == 0 and plan["changes"] == [], plan


def test_export_all_with_every_merchant_filed_writes_nothing(ws: Workspace, tmp_path: Path) -> None:
    result = ws.cli("export", "--all", "--out-dir", str(tmp_path / "none"))
    assert result.exit_code == 0, result.output
    assert "nothing to export" in result.stderr


def test_export_of_unknown_merchant_is_a_clean_error(ws: Workspace) -> None:
    result = ws.cli("export", "no-such-merchant")
    assert result.exit_code == 1
    assert "no merchant file" in result.stderr
    assert result.stdout == ""


def test_export_all_on_live_explains_why_it_cannot_discover(ws: Workspace, tmp_path: Path) -> None:
    result = ws.cli("--target", "live", "export", "--all", "--out-dir", str(tmp_path / "live"))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "Target: live"
    assert "sandbox only" in result.stderr


def test_tiktoks_sales_channel_seen_in_shopify_is_noted_in_the_export(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, scenarios="bright-basics=tiktok-connector-on")
    result = ws.cli("export", "bright-basics")
    exported(result)  # still a valid merchant file (shopify_connector stays disabled, the default)
    text = " ".join(result.stdout.split())  # the header comment wraps at 96 columns
    assert "TikTok's own Shopify connector is ON for this shop (Shopify lists its sales channel)" in text
    assert "TikTok's own Shopify connector is ON" not in " ".join(
        Workspace(tmp_path / "plain").cli("export", "bright-basics").stdout.split())
