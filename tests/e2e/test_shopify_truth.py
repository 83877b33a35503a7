"""Shopify as published, through the CLI: the deprecation header, TikTok's own sales channel."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.sandbox.clock import CLOCK_ENV
from reconciler.sandbox.seed import credentials_of
from reconciler.targets import SHOPIFY_API_VERSION
from tests.clock import months_after
from tests.export.harness import SLUGS, Workspace

EVERYONE = ",".join(f"{slug}=shopify-version-unsupported" for slug in SLUGS)


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("warning: shopify:")]


def plan_json(ws: Workspace) -> dict:
    result = ws.cli("plan", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def entry(document: dict, slug: str) -> dict:
    return next(m for m in document["merchants"] if m["merchant"] == slug)


def test_plan_shows_shopifys_deprecation_warning_once_per_run(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, scenarios=EVERYONE)
    result = ws.cli("plan", "--format", "json", "--detailed-exitcode")
    assert result.exit_code == 2, result.output  # the plan itself is unchanged: changes to make
    [line] = warnings_of(result.stderr)  # three merchants, one line
    assert f"Admin API {SHOPIFY_API_VERSION}" in line
    assert "X-Shopify-API-Deprecated-Reason" in line and "past its support window" in line
    assert all(m["status"] == "ok" for m in json.loads(result.stdout)["merchants"])


def test_verify_shows_it_too_and_a_supported_version_shows_nothing(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, scenarios="acme-apparel=shopify-version-unsupported")
    verified = ws.cli("verify", "--merchant", "acme-apparel", "--merchant", "bright-basics")
    assert len(warnings_of(verified.stderr)) == 1, verified.stderr
    quiet = Workspace(tmp_path / "quiet").cli("plan")
    assert warnings_of(quiet.stderr) == []


def test_on_real_dates_the_pinned_version_ages_out_after_12_months_and_plan_warns(
        tmp_path: Path) -> None:
    """No scenario: only the sandbox's day moves, past the pinned version's support window."""
    in_window = Workspace(tmp_path / "in", env={CLOCK_ENV: months_after(SHOPIFY_API_VERSION, 11)})
    assert warnings_of(in_window.cli("plan").stderr) == []
    late = Workspace(tmp_path / "past", env={CLOCK_ENV: months_after(SHOPIFY_API_VERSION, 12)})
    result = late.cli("plan")
    [line] = warnings_of(result.stderr)
    assert f"Admin API {SHOPIFY_API_VERSION}" in line and "past its support window" in line
    bad = Workspace(tmp_path / "bad", env={CLOCK_ENV: "next tuesday"}).cli("plan")
    assert bad.exit_code == 1 and f"{CLOCK_ENV}='next tuesday' is not an ISO 8601 date" in bad.output


def test_the_warning_is_redacted(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, scenarios=EVERYONE)
    result = ws.cli("plan", "--merchant", "acme-apparel")
    [line] = warnings_of(result.stderr)
    from reconciler.config import load_merchants

    merchant = next(m for m in load_merchants(ws.merchants).merchants if m.slug == "acme-apparel")
    assert credentials_of(merchant)["shopify_access_token"] not in result.output


def test_tiktoks_own_sales_channel_is_read_from_shopify(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, scenarios="acme-apparel=tiktok-connector-on")
    document = plan_json(ws)
    acme = entry(document, "acme-apparel")
    assert [a["id"] for a in acme["manual_actions"]] == ["tiktok_shop.shopify_connector"]
    assert "Sales channels > TikTok" in acme["manual_actions"][0]["instructions"]
    held = [c for c in acme["changes"] if c["blocked_by"] == "tiktok_shop.shopify_connector"]
    assert [c["address"] for c in held] == ["pipe17.integration.shopify.flows.orders"]
    bright = entry(document, "bright-basics")
    assert "tiktok_shop.shopify_connector" not in [a["id"] for a in bright["manual_actions"]]


def test_without_read_publications_the_plan_asks_for_it_and_carries_on(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, scenarios="acme-apparel=shopify-publications-scope-missing")
    acme = entry(plan_json(ws), "acme-apparel")
    assert acme["status"] == "ok" and acme["error"] is None
    assert [a["id"] for a in acme["manual_actions"]] == ["shopify.read_publications"]
    assert all(c["blocked_by"] is None for c in acme["changes"])
    assert acme["changes"]  # the rest of the merchant still plans
