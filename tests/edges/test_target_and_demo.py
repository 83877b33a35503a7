"""Issue 14 point 2: never touch production by surprise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.edges.harness import ROOT, copy_merchants, invoke

LIVE_ENV = {"RECONCILER_TARGET": "live"}


@pytest.mark.parametrize("args", [
    ("--target", "sandbox", "apply", "--auto-approve"),   # before the subcommand
    ("apply", "--auto-approve", "--target", "sandbox"),   # after it
    ("--target", "live", "apply", "--auto-approve", "--target", "sandbox"),  # the nearer flag wins
], ids=["group-flag", "command-flag", "command-over-group"])
def test_an_explicit_target_beats_the_environment(tmp_path: Path, args: tuple[str, ...]) -> None:
    merchants = copy_merchants(tmp_path)
    result = invoke(tmp_path, "--merchants", str(merchants), *args, env=LIVE_ENV)
    assert result.stdout.splitlines()[0] == "Target: sandbox", result.output
    assert result.exit_code == 0, result.output
    assert "Target: live" not in result.output


def test_the_environment_still_chooses_the_target_when_no_flag_does(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    result = invoke(tmp_path, "--merchants", str(merchants), "plan", env=LIVE_ENV)
    assert result.stdout.splitlines()[0] == "Target: live"
    assert result.exit_code == 1  # no live credentials here: refused before anything is sent
    assert "nothing was sent" in result.stderr


def test_the_subcommand_merchants_flag_beats_the_group_flag(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke(tmp_path, "--merchants", str(empty), "validate", "--merchants", str(merchants))
    assert result.exit_code == 0, result.output


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_the_demo_runs_on_the_embedded_sandbox_whatever_the_environment(tmp_path: Path) -> None:
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    checkout = tmp_path / "checkout"  # the demo writes its state beside the script
    (checkout / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "demo.sh", checkout / "scripts" / "demo.sh")
    shutil.copytree(ROOT / "merchants", checkout / "merchants")
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "reconciler").symlink_to(ROOT / ".venv" / "bin" / "reconciler")
    env = {**os.environ, **LIVE_ENV,
           "RECONCILER_STATE_DIR": str(tmp_path / "elsewhere"),
           "RECONCILER_BACKEND": "postgresql://nobody@db.invalid/reconciler",
           "RECONCILER_SANDBOX_SCENARIOS": "acme-apparel=loop-email-lookup-locked"}
    for prefix in ("ACME", "BRIGHT", "COSMO"):  # credentials that would work against live
        for name in ("SHOPIFY_TOKEN", "TTS_ACCESS_TOKEN", "PIPE17_KEY", "LOOP_KEY"):
            env[f"{prefix}_{name}"] = f"fake-{prefix.lower()}-{name.lower()}-0123456789"
    env.update(TTS_APP_KEY="fake-app-key-0123456789", TTS_APP_SECRET="fake-secret-0123456789")
    # In a network namespace with no network: had anything tried live, it could not succeed.
    result = subprocess.run(["unshare", "-n", str(checkout / "scripts" / "demo.sh")],
                            capture_output=True, text=True, timeout=300, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Target: sandbox")
    targets = {line for line in lines if line.startswith("Target:")}
    assert targets == {lines[0], "Target: sandbox"}, targets
    assert (checkout / ".reconciler" / "demo").is_dir()
    assert not (tmp_path / "elsewhere").exists()
    assert "Demo complete" in result.stdout
