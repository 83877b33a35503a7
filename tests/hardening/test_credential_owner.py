"""Credentials belong to their merchant, through the CLI on the embedded sandbox.

The reported defect: two merchants whose *different* variables hold the
*same* Loop and Pipe17 key values; applying one, then the other, wrote
bright-basics' portal instructions into acme-apparel's Loop portal, after
which bright-basics planned "no changes".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from reconciler.model import SecretRef
from reconciler.secrets import sandbox_credential
from tests.e2e.conftest import env_copy

SHARED = {"ACME_LOOP_API_KEY": "same-loop-key-1234", "BRIGHT_LOOP_API_KEY": "same-loop-key-1234",
          "ACME_PIPE17_API_KEY": "same-pipe17-key-5678",
          "BRIGHT_PIPE17_API_KEY": "same-pipe17-key-5678"}


@pytest.fixture
def merchants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RECONCILER_TARGET", raising=False)
    for var in SHARED:
        monkeypatch.delenv(var, raising=False)
    return env_copy(tmp_path / "merchants")  # env: variables, not sops: files


def run(merchants: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--merchants", str(merchants), *args], env=env)
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def acme_plan(merchants: Path) -> dict:
    code, output = run(merchants, "plan", "--merchant", "acme-apparel", "--format", "json")
    assert code == 0, output
    return json.loads(output[output.index("{"):])["merchants"][0]


def test_merchants_sharing_key_values_are_refused_naming_both(merchants: Path) -> None:
    before = acme_plan(merchants)
    for slug in ("acme-apparel", "bright-basics"):
        code, output = run(merchants, "apply", "--merchant", slug, "--auto-approve", env=SHARED)
        assert code == 1, output
        assert "acme-apparel and bright-basics have the same Loop API key" in output
        assert "the same Pipe17 API key" in output
        assert "same-loop-key" not in output and "same-pipe17-key" not in output
    code, output = run(merchants, "plan", "--detailed-exitcode", env=SHARED)
    assert code == 1 and "the same Loop API key" in output, output
    assert acme_plan(merchants) == before  # nothing was written to acme-apparel


def test_unrelated_merchants_are_not_held_up_by_a_shared_pair(merchants: Path) -> None:
    code, output = run(merchants, "plan", "--merchant", "cosmo-kids", env=SHARED)
    assert code == 0, output


def test_the_shared_tiktok_app_credentials_are_not_a_clash(merchants: Path) -> None:
    code, output = run(merchants, "plan", env={"TTS_APP_KEY": "app-key-0001",
                                                "TTS_APP_SECRET": "app-secret-0001"})
    assert "the same" not in output, output


@pytest.mark.parametrize("service,var", [("loop", "LOOP_API_KEY"), ("pipe17", "PIPE17_API_KEY")])
def test_a_key_of_another_merchant_is_refused_before_any_write(merchants: Path, tmp_path: Path,
                                                               service: str, var: str) -> None:
    """bright-basics alone in its directory, holding acme-apparel's key."""
    before = acme_plan(merchants)  # seeds acme-apparel in the sandbox
    alone = tmp_path / "alone"
    shutil.copytree(merchants / "profiles", alone / "profiles")
    shutil.copy(merchants / "bright-basics.yaml", alone)
    borrowed = {f"BRIGHT_{var}": sandbox_credential(SecretRef(f"ACME_{var}"))}
    code, output = run(alone, "apply", "--merchant", "bright-basics", "--auto-approve", env=borrowed)
    assert code == 1, output
    assert (f"{service} (merchant bright-basics): the API key belongs to shop "
            "acme-apparel.myshopify.com, not bright-basics.myshopify.com") in output
    assert borrowed[f"BRIGHT_{var}"] not in output
    code, output = run(alone, "plan", "--detailed-exitcode", env=borrowed)
    assert code == 1, output
    assert acme_plan(merchants) == before  # acme-apparel's accounts were not touched
