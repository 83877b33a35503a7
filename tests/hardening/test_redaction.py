"""Redaction cannot corrupt: plans are redacted by value, short credentials are refused.

A credential that is also an ordinary word used to be replaced by `***`
wherever it occurred in the serialized plan: the file no longer matched its
checksum (or was not JSON), and where the `***` landed told a reader the
secret. Now every string value holding a secret is replaced whole before the
plan is serialized and sealed, and a credential too short to hide is refused
before anything is sent.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import clean_env, env_copy
from tests.sopsfiles import age_key, sopsify

# Each run is its own process: the credentials a run registers for redaction stay in it.


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    env_copy(tmp_path / "merchants")  # the shipped merchants, their secrets as env: variables
    return tmp_path


def reconciler(fleet: Path, *args: str, **env: str) -> tuple[int, str, str]:
    result = subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True,
                            text=True, cwd=fleet, timeout=120,
                            env=clean_env(RECONCILER_STATE_DIR=str(fleet / ".reconciler"), **env))
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result.returncode, result.stdout, result.stderr


def test_a_credential_that_is_also_a_plan_value_is_hidden_without_breaking_the_plan(fleet: Path) -> None:
    # "fulfillment" is acme-apparel's Pipe17 key, and also a value and part of addresses in its plan.
    key = {"ACME_PIPE17_API_KEY": "fulfillment"}
    code, stdout, stderr = reconciler(fleet, "plan", "--format", "json", "--out", "plan.json", **key)
    assert code == 0, stderr
    printed, saved = json.loads(stdout), json.loads((fleet / "plan.json").read_text())
    assert printed["checksum"] == saved["checksum"]
    assert "fulfillment" not in stdout and "fulfillment" not in (fleet / "plan.json").read_text()
    acme = next(m for m in saved["merchants"] if m["merchant"] == "acme-apparel")
    assert acme["status"] == "ok"  # the key was accepted: the plan really read Pipe17 with it
    assert any(c["after"] == "***" for c in acme["changes"])  # the value, replaced whole
    assert all(set(c) == {"address", "action", "before", "after", "destructive", "blocked_by"}
               for c in acme["changes"])  # field names are never redacted

    code, stdout, stderr = reconciler(fleet, "apply", "--plan", "plan.json", "--auto-approve", **key)
    assert code == 0, stderr
    assert "fulfillment" not in stdout + stderr
    code, _, stderr = reconciler(fleet, "plan", "--detailed-exitcode", "--merchant", "acme-apparel", **key)
    assert code == 0, stderr  # the reviewed plan was applied in full
    journal = "".join(p.read_text() for p in (fleet / ".reconciler" / "journal").glob("*.jsonl"))
    entries = [json.loads(line) for line in journal.splitlines()]
    assert {e["after"] for e in entries if e["address"].endswith("order_sync_mode")} == {"***"}
    assert not [e for e in entries if "fulfillment" in json.dumps([e["before"], e["after"]])]
    audit = fleet / ".reconciler" / "audit.jsonl"
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600
    logged = [json.loads(line) for line in audit.read_text().splitlines()]
    assert {e["after"] for e in logged if e["address"].endswith("order_sync_mode")} == {"***"}
    assert "fulfillment" not in json.dumps([[e["before"], e["after"]] for e in logged])


@pytest.mark.parametrize("value", ["true", "pull", "abc"])
def test_a_credential_too_short_to_hide_is_refused_before_anything_is_sent(
        fleet: Path, value: str) -> None:
    for args in (("plan", "--format", "json"), ("apply", "--auto-approve")):
        code, stdout, stderr = reconciler(fleet, *args, ACME_LOOP_API_KEY=value)
        assert code == 1
        assert "env:ACME_LOOP_API_KEY" in stderr and "acme-apparel" in stderr
        assert "***" not in stdout + stderr  # the value is named by its reference only
        assert not (fleet / ".reconciler" / "sandbox-state.json").exists()  # nothing was sent


def test_the_sandbox_credentials_are_long_enough(fleet: Path) -> None:
    code, stdout, stderr = reconciler(fleet, "plan", "--detailed-exitcode")
    assert code == 2, stderr
    assert "0 errored" in stdout


def test_a_credential_too_short_to_hide_is_refused_from_a_sops_file_too(fleet: Path) -> None:
    key = age_key()
    sopsify(fleet / "merchants", key.public,
            lambda var: "pull" if var == "ACME_LOOP_API_KEY" else f"long-enough-{var.lower()}")
    reference = "sops:secrets/acme-apparel.sops.yaml#loop.api_key"
    assert reference in (fleet / "merchants" / "acme-apparel.yaml").read_text()
    for args in (("plan", "--format", "json"), ("apply", "--auto-approve"), ("verify",)):
        code, stdout, stderr = reconciler(fleet, *args, **key.env)
        assert code == 1, stderr
        assert "shorter than 8 characters" in stderr
        assert reference in stderr and "acme-apparel" in stderr
        assert "***" not in stdout + stderr and "pull" not in stdout + stderr  # named, never shown
        assert not (fleet / ".reconciler" / "sandbox-state.json").exists()  # nothing was sent
