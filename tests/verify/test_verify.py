"""`reconciler verify`, end to end through the CLI against the embedded sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.export.harness import SLUGS, Workspace

CHECK_IDS = ["tiktok.authorized", "shopify.orders_present", "shopify.no_duplicates",
             "loop.lookup_by_zip", "tiktok.return_url_matches", "refunds.reach_tiktok"]


def applied(root: Path, scenarios: str | None = None) -> Workspace:
    ws = Workspace(root, scenarios=scenarios)
    result = ws.cli("apply", "--auto-approve")
    assert result.exit_code == 0, result.output
    return ws


def verify_json(ws: Workspace, *args: str) -> tuple[int, dict]:
    result = ws.cli("verify", "--format", "json", *args)
    assert result.stderr.splitlines()[0] == "Target: sandbox"
    return result.exit_code, json.loads(result.stdout)


def checks_of(document: dict, slug: str) -> dict[str, dict]:
    entry = next(m for m in document["merchants"] if m["merchant"] == slug)
    return {c["id"]: c for c in entry["checks"]}


def test_after_apply_every_check_passes_except_what_waits_for_h5(tmp_path: Path) -> None:
    ws = applied(tmp_path)
    code, document = verify_json(ws)
    assert code == 1
    assert document["target"] == "sandbox"
    assert [m["merchant"] for m in document["merchants"]] == list(SLUGS)
    for slug in ("acme-apparel", "bright-basics"):
        checks = checks_of(document, slug)
        assert list(checks) == CHECK_IDS
        assert {c["status"] for c in checks.values()} == {"pass"}, checks
    cosmo = checks_of(document, "cosmo-kids")
    failing = {i: c for i, c in cosmo.items() if c["status"] != "pass"}
    assert list(failing) == ["tiktok.return_url_matches"]
    assert failing["tiktok.return_url_matches"]["status"] == "fail"
    assert "H5 Redirect" in failing["tiktok.return_url_matches"]["reason"]
    assert "tiktok_shop.h5_redirect" in failing["tiktok.return_url_matches"]["hint"]
    assert document["summary"] == {"merchants": 3, "merchants_failed": 1, "checks": 18,
                                   "passed": 17, "failed": 1, "skipped": 0}


def test_text_output_one_line_per_check_and_exit_zero_when_all_pass(tmp_path: Path) -> None:
    ws = applied(tmp_path)
    result = ws.cli("verify", "--merchant", "acme-apparel", "--merchant", "bright-basics")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Target: sandbox"
    assert len([line for line in lines if line.startswith("PASS ")]) == 12
    assert "PASS acme-apparel loop.lookup_by_zip: Loop finds TikTok order" in result.stdout
    assert lines[-1].startswith("Verified 2 merchant(s): 12 passed, 0 failed, 0 skipped")


def test_fresh_merchant_fails_with_fix_hints(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    result = ws.cli("verify", "--merchant", "bright-basics")
    assert result.exit_code == 1
    assert "FAIL bright-basics loop.lookup_by_zip:" in result.stdout
    assert "the portal looks orders up by email" in result.stdout
    assert "     fix: set loop.order_lookup: zip" in result.stdout


# scenario -> (failing check, words of the problem, words of the fix)
BROKEN = {
    "order-missing-in-shopify": ("shopify.orders_present", "missing from Shopify", "Pipe17"),
    "duplicate-order": ("shopify.no_duplicates", "more than once in Shopify",
                        "turn TikTok's own Shopify connector off"),
    "tiktok-connector-on": ("shopify.no_duplicates", "its own Shopify connector is on",
                            "turn TikTok's own Shopify connector off"),
    "loop-email-lookup-locked": ("loop.lookup_by_zip", "matches orders by email",
                                 "order number + zip code"),
    "refunds-not-pushed": ("refunds.reach_tiktok", "has not pushed them to TikTok",
                           "Push refunds to TikTok"),
    "tiktok-unauthorized": ("tiktok.authorized", "not among the shops that authorized the app",
                            "must authorize the app"),
}


@pytest.mark.parametrize("scenario", sorted(BROKEN))
def test_broken_scenario_fails_naming_problem_and_fix(tmp_path: Path, scenario: str) -> None:
    ws = applied(tmp_path, scenarios=f"bright-basics={scenario}")
    check_id, problem, fix = BROKEN[scenario]
    code, document = verify_json(ws, "--merchant", "bright-basics")
    assert code == 1
    checks = checks_of(document, "bright-basics")
    failing = [i for i, c in checks.items() if c["status"] == "fail"]
    assert failing == [check_id], checks
    assert problem in checks[check_id]["reason"]
    assert fix in checks[check_id]["hint"]
    text = ws.cli("verify", "--merchant", "bright-basics")
    assert f"FAIL bright-basics {check_id}: " in text.stdout
    assert "     fix: " in text.stdout


def test_no_refunded_return_is_a_skip_not_a_failure(tmp_path: Path) -> None:
    from reconciler.verify.checks import refunds_reach_tiktok
    from reconciler.verify.evidence import Evidence, Read
    from tests.engine.conftest import make_desired

    empty = Read(value=[])
    evidence = Evidence(Read(error="x"), Read(error="x"), empty, empty, None, None, empty, empty, empty)
    result = refunds_reach_tiktok(make_desired(), evidence)
    assert result.status == "skip"
    assert "no Loop return with a refund" in result.reason


