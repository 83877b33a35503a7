"""`sops:PATH#KEY` references through the CLI on the embedded sandbox: decryption, errors, redaction."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import sops
from reconciler.cli import cli
from reconciler.secrets import parse_ref, redactor, resolve
from tests.e2e.conftest import write_fleet
from tests.sopsfiles import AgeKey, age_key, sopsify

MARK = "b81f0"


@pytest.fixture
def key() -> AgeKey:
    return age_key()


@pytest.fixture
def fleet(tmp_path: Path, key: AgeKey, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    merchants = tmp_path / "merchants"
    write_fleet(merchants, 3, prefix="unit")
    sopsify(merchants, key.public, lambda var: f"CANARY-{var}-{MARK}")
    for name in sops.KEY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / ".reconciler"))
    sops.files.clear()
    yield merchants
    sops.files.clear()


def run(merchants: Path, *args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, ["--merchants", str(merchants), *args], env=env,
                              catch_exceptions=False)


def test_each_file_is_decrypted_once_per_run(fleet: Path, key: AgeKey,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()
    real = sops.decrypt

    def counting(path: Path, environ, shown: str):
        calls[path.name] += 1
        return real(path, environ, shown)

    monkeypatch.setattr(sops, "decrypt", counting)
    result = run(fleet, "plan", "--detailed-exitcode", env=key.env)
    assert result.exit_code == 2, result.output
    # Three merchant files and the profile's file (shared by all three), each once.
    assert calls == {"unit-000.sops.yaml": 1, "unit-001.sops.yaml": 1, "unit-002.sops.yaml": 1,
                     "profile-tiktok-loop.sops.yaml": 1}
    assert MARK not in result.output


def test_resolved_values_are_redacted(fleet: Path, key: AgeKey) -> None:
    ref = parse_ref("sops:secrets/unit-000.sops.yaml#loop.api_key", str(fleet))
    value = resolve(ref, sandbox=False, environ={**os.environ, **key.env})
    assert value == f"CANARY-UNIT_000_LOOP_KEY-{MARK}"
    assert redactor.redact(f"sent {value}!") == "sent ***!"


def test_live_target_without_a_key_names_every_file_and_sends_nothing(fleet: Path) -> None:
    result = run(fleet, "plan", "--target", "live")
    assert result.exit_code == 1
    for name in ("unit-000", "unit-001", "unit-002", "profile-tiktok-loop"):
        assert f"secrets/{name}.sops.yaml" in result.output
    assert "(key path loop.api_key" in result.output
    assert "nothing was sent" in result.output
    assert "Traceback" not in result.output


def test_wrong_key_fails_even_on_the_embedded_sandbox(fleet: Path) -> None:
    result = run(fleet, "plan", env=age_key().env)
    assert result.exit_code == 1
    assert "no available key can decrypt it" in result.output


def test_sandbox_without_any_key_uses_sandbox_credentials(fleet: Path) -> None:
    """As for an unset variable: the demo works on a fresh checkout without a key."""
    result = run(fleet, "plan", "--detailed-exitcode")
    assert result.exit_code == 2, result.output


def test_validate_needs_no_key(fleet: Path) -> None:
    result = run(fleet, "validate")
    assert result.exit_code == 0, result.output


def test_missing_key_path_after_decryption_is_named(fleet: Path, key: AgeKey) -> None:
    ref = parse_ref("sops:secrets/unit-000.sops.yaml#loop.nothing", str(fleet))
    with pytest.raises(sops.SecretFileError, match=r"unit-000.sops.yaml \(key path loop.nothing\)"
                       r": has no key loop.nothing"):
        resolve(ref, sandbox=False, environ={**os.environ, **key.env})
