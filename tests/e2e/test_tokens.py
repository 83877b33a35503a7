"""Issue 16 acceptance: TikTok access tokens from refresh tokens, against the served sandbox's auth host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.config import load_merchants
from reconciler.secrets import sandbox_credential
from tests.e2e.conftest import Sandbox, serving, start_sandbox, write_fleet
from tests.sopsfiles import AgeKey, age_key, decrypt, sopsify


def refresh_fleet(directory: Path, count: int, prefix: str) -> list[str]:
    """`write_fleet`, each merchant holding a TikTok refresh token instead of an access token."""
    slugs = write_fleet(directory, count, prefix=prefix)
    for slug in slugs:
        path = directory / f"{slug}.yaml"
        path.write_text(re.sub(r"access_token: env:(\w+)_TTS_ACCESS_TOKEN",
                               r"refresh_token: env:\1_TTS_REFRESH_TOKEN", path.read_text()))
    return slugs


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Sandbox]:
    source = tmp_path / "source"
    refresh_fleet(source, 3, "fresh")
    with serving(start_sandbox(tmp_path, source)) as sandbox:
        yield sandbox


def merchant(sandbox: Sandbox, slug: str):
    return next(m for m in load_merchants(sandbox.merchants).merchants if m.slug == slug)


def exchange(sandbox: Sandbox, slug: str, refresh_token: str | None = None) -> httpx.Response:
    creds = merchant(sandbox, slug).credentials
    params = {"app_key": sandbox_credential(creds.tiktok_app_key),
              "app_secret": sandbox_credential(creds.tiktok_app_secret),
              "refresh_token": refresh_token or sandbox_credential(creds.tiktok_refresh_token),
              "grant_type": "refresh_token"}
    return httpx.get(f"{sandbox.url}/tiktok-auth/api/v2/token/refresh", params=params, timeout=10)


def test_the_shipped_example_merchants_use_refresh_tokens() -> None:
    from tests.e2e.conftest import SHIPPED

    loaded = load_merchants(SHIPPED).merchants
    assert loaded and all(m.credentials.tiktok_refresh_token is not None for m in loaded)
    assert all(m.credentials.tiktok_access_token is None for m in loaded)


def test_a_fleet_with_refresh_tokens_only_plans_applies_and_verifies(fleet: Sandbox) -> None:
    planned = fleet.cli("plan", "--detailed-exitcode", env={"RECONCILER_LOG": "info"})
    assert planned.returncode == 2, planned.stdout + planned.stderr
    # One exchange per merchant at the start of the run, then the shop API.
    assert planned.stderr.count("/api/v2/token/refresh -> HTTP 200") == 3
    assert fleet.cli("apply", "--auto-approve").returncode == 0
    verified = fleet.cli("verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_expired_access_tokens_are_refreshed_once_and_the_call_retried(fleet: Sandbox) -> None:
    """An access token from the merchant's secrets that expired: 105002, one refresh, success."""
    issued = exchange(fleet, "fresh-000").json()["data"]["access_token"]
    path = fleet.merchants / "fresh-000.yaml"
    path.write_text(path.read_text().replace(
        "  refresh_token:", "  access_token: env:FRESH_000_TTS_ACCESS_TOKEN\n  refresh_token:"))
    env = {"FRESH_000_TTS_ACCESS_TOKEN": issued, "RECONCILER_LOG": "info"}
    first = fleet.cli("plan", "--merchant", "fresh-000", env=env)
    assert first.returncode == 0, first.stderr
    assert "token/refresh" not in first.stderr  # the stored token was still good
    assert fleet.cli("apply", "--auto-approve", "--merchant", "fresh-000", env=env).returncode == 0

    fleet.control("POST", "/_sandbox/tiktok-auth/expire")
    for command in ("plan", "verify"):
        result = fleet.cli(command, "--merchant", "fresh-000", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "105002" in result.stderr  # the expired token was answered as TikTok does
        assert result.stderr.count("/api/v2/token/refresh -> HTTP 200") == 1
        assert issued not in result.stdout + result.stderr


def test_a_revoked_refresh_token_is_a_clear_error_naming_the_merchant(fleet: Sandbox) -> None:
    fleet.control("POST", "/_sandbox/tiktok-auth/revoke", {"merchant": "fresh-001"})
    result = fleet.cli("plan", "--detailed-exitcode")
    assert result.returncode == 1
    text = result.stdout + result.stderr
    assert "fresh-001" in text
    assert "refused the refresh token env:FRESH_001_TTS_REFRESH_TOKEN" in text
    assert "reconciler connect tiktok fresh-001" in text
    assert "Traceback" not in text
    assert sandbox_credential(merchant(fleet, "fresh-001").credentials.tiktok_refresh_token) not in text


def test_plan_warns_when_a_refresh_token_expires_within_30_days(fleet: Sandbox) -> None:
    fleet.control("POST", "/_sandbox/tiktok-auth/expire", {"refresh_tokens_in": 12 * 86_400 + 60})
    result = fleet.cli("plan")
    assert result.returncode == 0, result.stderr
    for slug in ("fresh-000", "fresh-001", "fresh-002"):
        assert f"{slug}: the TikTok refresh token expires in 12 day(s)" in result.stderr


def test_a_rotated_refresh_token_in_env_names_the_variable_not_the_value(fleet: Sandbox) -> None:
    fleet.control("POST", "/_sandbox/tiktok-auth", {"rotate_refresh_tokens": True})
    result = fleet.cli("plan", "--merchant", "fresh-002")
    assert result.returncode == 0, result.stderr
    assert "update the variable FRESH_002_TTS_REFRESH_TOKEN" in result.stderr
    assert "TTR_" not in result.stdout + result.stderr


@pytest.fixture
def sealed(tmp_path: Path) -> Iterator[tuple[Sandbox, AgeKey]]:
    key = age_key()
    source = tmp_path / "source"
    refresh_fleet(source, 2, "sealed")
    sopsify(source, key.public)
    with serving(start_sandbox(tmp_path, source, **key.env)) as sandbox:
        yield sandbox, key


def test_a_rotated_refresh_token_is_stored_back_in_the_encrypted_file(
        sealed: tuple[Sandbox, AgeKey]) -> None:
    sandbox, key = sealed
    secret = sandbox.merchants / "secrets" / "sealed-000.sops.yaml"
    before = decrypt(secret, key)["tiktok_shop"]["refresh_token"]
    sandbox.control("POST", "/_sandbox/tiktok-auth", {"rotate_refresh_tokens": True})
    result = sandbox.cli("plan", "--merchant", "sealed-000")
    assert result.returncode == 0, result.stderr
    after = decrypt(secret, key)["tiktok_shop"]["refresh_token"]
    assert after != before and after.startswith("TTR_")
    assert "ENC[AES256_GCM" in secret.read_text() and after not in secret.read_text()
    assert "stored it in sops:secrets/sealed-000.sops.yaml#tiktok_shop.refresh_token" in result.stderr
    assert after not in result.stdout + result.stderr
    # The stored token is the one the auth host now honours, and the next run uses it.
    sandbox.control("POST", "/_sandbox/tiktok-auth", {"rotate_refresh_tokens": False})
    again = sandbox.cli("plan", "--merchant", "sealed-000", env={"RECONCILER_LOG": "info"})
    assert again.returncode == 0, again.stderr


def test_doctor_reports_expiring_and_refused_refresh_tokens(fleet: Sandbox) -> None:
    fleet.control("POST", "/_sandbox/tiktok-auth/expire", {"refresh_tokens_in": 5 * 86_400 + 60})
    fleet.control("POST", "/_sandbox/tiktok-auth/revoke", {"merchant": "fresh-002"})
    text = fleet.cli("doctor")
    assert text.returncode == 1, text.stdout + text.stderr  # fresh-002's TikTok credential is refused
    for slug in ("fresh-000", "fresh-001"):
        block = text.stdout.split(f"{slug}:", 1)[1].split("\nfresh-", 1)[0]
        assert "refresh token" in block and "expires in 5 day(s)" in block, block
    assert "2 merchant(s) with a TikTok token to act on" in text.stdout
    result = fleet.cli("doctor", "--format", "json")
    import json

    reports = {m["merchant"]: m for m in json.loads(result.stdout)["merchants"]}
    assert [t["kind"] for t in reports["fresh-000"]["tokens"]] == ["expires-soon"]
    assert reports["fresh-002"]["unusable"] and reports["fresh-002"]["tokens"] == []
    refused = [e for e in reports["fresh-002"]["endpoints"] if e["service"] == "tiktok_shop"]
    assert refused and all(e["result"] != "available" for e in refused)
    secret = sandbox_credential(merchant(fleet, "fresh-000").credentials.tiktok_refresh_token)
    assert secret not in text.stdout + text.stderr + result.stdout + result.stderr
