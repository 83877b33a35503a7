"""Issue 16 acceptance: a fleet whose secrets are all `sops:` references, end to end.

The served sandbox and the CLI get one age key in the environment (made
here, never a network KMS); the sandbox seeds itself from the same
encrypted files, so the values it checks are the decrypted ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox, serving, start_sandbox, write_fleet
from tests.sopsfiles import AgeKey, age_key, sopsify

MARK = "c4e1d"


@pytest.fixture(scope="module")
def key() -> AgeKey:
    return age_key()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, key: AgeKey) -> Iterator[Sandbox]:
    tmp = tmp_path_factory.mktemp("sops-fleet")
    source = tmp / "source"
    write_fleet(source, 4, prefix="sealed")
    sopsify(source, key.public, lambda var: f"CANARY-{var}-{MARK}")
    with serving(start_sandbox(tmp, source, **key.env)) as sandbox:
        yield sandbox


def test_every_secret_is_a_sops_reference(fleet: Sandbox) -> None:
    texts = [p.read_text() for p in [*fleet.merchants.glob("*.yaml"),
                                     *fleet.merchants.glob("profiles/*.yaml")]]
    assert all("env:" not in text for text in texts)
    assert sum(text.count("sops:secrets/") for text in texts) == 4 * 4 + 2


def test_plans_applies_and_verifies_with_one_age_key(fleet: Sandbox) -> None:
    planned = fleet.cli("plan", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    applied = fleet.cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    verified = fleet.cli("verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    again = fleet.cli("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    for result in (planned, applied, verified, again):
        assert MARK not in result.stdout + result.stderr
    written = [p for p in fleet.state_dir.rglob("*") if p.is_file() and "sandbox" not in p.name]
    assert written, "the apply keeps a journal"
    assert not [p for p in written if MARK in p.read_text(errors="replace")]


def test_wrong_key_exits_1_naming_the_file_and_sends_nothing(fleet: Sandbox) -> None:
    fleet.control("POST", "/_sandbox/reset")
    wrong = age_key()
    for command in (("plan",), ("apply", "--auto-approve"), ("verify",)):
        result = fleet.cli(*command, env=wrong.env)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert "secrets/sealed-000.sops.yaml (key path shopify.access_token)" in result.stderr
        assert "secrets/profile-tiktok-loop.sops.yaml (key path tiktok_shop.app_key)" in result.stderr
        assert "no available key can decrypt it" in result.stderr
        assert "nothing was sent" in result.stderr
    assert fleet.stats()["requests"] == 0


def test_tampered_file_is_refused_before_any_request(fleet: Sandbox, tmp_path: Path) -> None:
    fleet.control("POST", "/_sandbox/reset")
    secret = fleet.merchants / "secrets" / "sealed-001.sops.yaml"
    original = secret.read_text()
    try:
        # Swap two encrypted values: each still decrypts, but the file's MAC no longer holds.
        lines = original.splitlines()
        values = [i for i, line in enumerate(lines) if "ENC[AES256_GCM" in line and "mac:" not in line]
        first, second = values[0], values[1]
        a, b = lines[first].split(": ", 1), lines[second].split(": ", 1)
        lines[first], lines[second] = f"{a[0]}: {b[1]}", f"{b[0]}: {a[1]}"
        secret.write_text("\n".join(lines) + "\n")
        result = fleet.cli("plan")
        assert result.returncode == 1
        assert "secrets/sealed-001.sops.yaml" in result.stderr
        assert "modified after encryption" in result.stderr or "could not decrypt" in result.stderr
        assert MARK not in result.stderr
    finally:
        secret.write_text(original)
    assert fleet.stats()["requests"] == 0
