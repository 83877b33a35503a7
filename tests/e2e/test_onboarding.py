"""Issue 16 acceptance: `secrets set` and `connect tiktok` onboard a new merchant end to end.

The repository layout is real: `.sops.yaml` beside `merchants/` holds the
creation rule (an age recipient made here), and every value goes through
sops on standard input.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Sandbox, free_port, serving, start_sandbox, write_fleet
from tests.sopsfiles import AgeKey, age_key, decrypt, sopsify

MARK = "9d2e7"
NEW = """extends: tiktok-loop
name: New Shop
shopify:
  shop: new-shop.myshopify.com
  access_token: sops:secrets/new-shop.sops.yaml#shopify.access_token
tiktok_shop:
  shop_id: "7499999999999999999"
  region: US
  refresh_token: sops:secrets/new-shop.sops.yaml#tiktok_shop.refresh_token
  h5_redirect:
    approved: true
    evidence: "AM approved by email, ticket 777"
pipe17:
  api_key: sops:secrets/new-shop.sops.yaml#pipe17.api_key
loop:
  api_key: sops:secrets/new-shop.sops.yaml#loop.api_key
  portal_domain: returns.new-shop.example.com
"""


def creation_rules(directory: Path, key: AgeKey) -> None:
    (directory / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: merchants/secrets/.*\\.sops\\.(yaml|json)$\n"
        f"    age: {key.public}\n")


def secrets_set(sandbox: Sandbox, slug: str, key: str, value: str) -> subprocess.CompletedProcess:
    return sandbox.cli("secrets", "set", slug, key, input=value, target=False)


@pytest.fixture
def onboarding(tmp_path: Path) -> Iterator[tuple[Sandbox, AgeKey]]:
    key = age_key()
    creation_rules(tmp_path, key)
    source = tmp_path / "source"
    write_fleet(source, 1, prefix="known")
    sopsify(source, key.public)
    (source / "new-shop.yaml").write_text(NEW)
    # The new merchant's first secrets, before the sandbox seeds from the files.
    staging = tmp_path / "merchants"
    import shutil

    shutil.copytree(source, staging)
    for field in ("shopify.access_token", "pipe17.api_key", "loop.api_key"):
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "--merchants", str(staging), "secrets", "set",
             "new-shop", field], input=f"CANARY-{field}-{MARK}", capture_output=True, text=True,
            env={**_env(), **key.env}, cwd=tmp_path, timeout=60)
        assert done.returncode == 0, done.stderr
    with serving(start_sandbox(tmp_path, source, **key.env)) as sandbox:
        yield sandbox, key


def _env() -> dict[str, str]:
    from tests.e2e.conftest import clean_env

    return clean_env()


def test_secrets_set_creates_the_file_from_the_creation_rules(
        onboarding: tuple[Sandbox, AgeKey]) -> None:
    sandbox, key = onboarding
    secret = sandbox.merchants / "secrets" / "new-shop.sops.yaml"
    assert decrypt(secret, key)["loop"]["api_key"] == f"CANARY-loop.api_key-{MARK}"
    assert MARK not in secret.read_text() and key.public in secret.read_text()
    validated = sandbox.cli("validate", target=False)
    assert validated.returncode == 1  # the refresh token is not stored yet
    assert "C005 tiktok_shop.refresh_token" in validated.stdout


def test_connect_tiktok_with_a_listened_redirect_onboards_the_merchant(
        onboarding: tuple[Sandbox, AgeKey]) -> None:
    sandbox, key = onboarding
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--merchants", str(sandbox.merchants), "--target",
         sandbox.url, "connect", "tiktok", "new-shop", "--listen", f"127.0.0.1:{port}",
         "--timeout", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=sandbox.env,
        cwd=sandbox.state_dir.parent)
    assert process.stdout is not None
    lines = [process.stdout.readline(), process.stdout.readline(), process.stdout.readline()]
    link = lines[2].strip()
    assert link.startswith(f"{sandbox.url}/tiktok-auth/oauth/authorize?app_key=")
    assert "state=" in link
    # Someone else's redirect (a wrong state) is turned away; the real one is accepted.
    stray = httpx.get(f"http://127.0.0.1:{port}/callback?code=x&state=forged", timeout=10)
    assert stray.status_code == 400
    answer = httpx.get(link, follow_redirects=True, timeout=30)  # the seller approves
    assert answer.status_code == 200 and "connected" in answer.text
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, out + err
    assert "Connected new-shop" in out
    stored = decrypt(sandbox.merchants / "secrets" / "new-shop.sops.yaml", key)
    token = stored["tiktok_shop"]["refresh_token"]
    assert token.startswith("TTR_") and token not in out + err
    assert sandbox.cli("validate", target=False).returncode == 0
    planned = sandbox.cli("plan", "--merchant", "new-shop", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    assert MARK not in planned.stdout + planned.stderr


def test_connect_tiktok_with_a_pasted_code(onboarding: tuple[Sandbox, AgeKey]) -> None:
    sandbox, key = onboarding
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--merchants", str(sandbox.merchants), "--target",
         sandbox.url, "connect", "tiktok", "new-shop"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=sandbox.env, cwd=sandbox.state_dir.parent)
    assert process.stdout is not None and process.stdin is not None
    link = [process.stdout.readline() for _ in range(3)][2].strip()
    consent = httpx.get(link, timeout=30).json()["data"]  # no redirect: the page shows the code
    out, err = process.communicate(f"{consent['code']}\n", timeout=60)
    assert process.returncode == 0, out + err
    assert decrypt(sandbox.merchants / "secrets" / "new-shop.sops.yaml",
                   key)["tiktok_shop"]["refresh_token"].startswith("TTR_")


def test_connect_refuses_a_shop_the_app_was_not_authorized_for(
        onboarding: tuple[Sandbox, AgeKey]) -> None:
    sandbox, key = onboarding
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--merchants", str(sandbox.merchants), "--target",
         sandbox.url, "connect", "tiktok", "new-shop"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=sandbox.env, cwd=sandbox.state_dir.parent)
    assert process.stdout is not None
    link = [process.stdout.readline() for _ in range(3)][2].strip()
    other = link.replace("shop_id=7499999999999999999", "shop_id=7400000000000000000")
    consent = httpx.get(other, timeout=30).json()["data"]  # the seller approved another shop
    out, err = process.communicate(f"{consent['code']}\n", timeout=60)
    assert process.returncode == 1
    assert "shop 7499999999999999999 of new-shop is not among the shops" in err
    assert "tiktok_shop" not in decrypt(sandbox.merchants / "secrets" / "new-shop.sops.yaml", key)


def test_secrets_set_without_a_creation_rule_is_a_clear_error(tmp_path: Path) -> None:
    merchants = tmp_path / "merchants"
    write_fleet(merchants, 1, prefix="lone")
    (merchants / "new-shop.yaml").write_text(NEW)
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "--merchants", str(merchants), "secrets", "set",
         "new-shop", "loop.api_key"], input=f"CANARY-{MARK}", capture_output=True, text=True,
        env=_env(), cwd=tmp_path, timeout=60)
    assert done.returncode == 1
    assert "no .sops.yaml creation rule matches it" in done.stderr
    assert not (merchants / "secrets").exists()
    assert MARK not in done.stdout + done.stderr
