"""verify and export as subprocesses against a sandbox served on loopback: read-only, no
credential in any output (canary values), faults reported without a traceback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.config import load_merchants
from tests.e2e.conftest import Sandbox, start_sandbox, stop
from tests.export.harness import SLUGS
from tests.hardening.test_secrets import FLEET  # the shipped merchants, secrets as variables


def canaries() -> dict[str, str]:
    """A recognisable value for every secret variable the shipped merchants reference."""
    names = {ref.var for m in load_merchants(FLEET).merchants for ref in m.credentials.all().values()}
    return {name: f"CANARY-{name.lower().replace('_', '-')}-9f3b" for name in sorted(names)}


@pytest.fixture
def canary_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path, FLEET, **canaries())
    try:
        yield sandbox
    finally:
        stop(sandbox)
        for pipe in (sandbox.process.stdout, sandbox.process.stderr):
            if pipe is not None:
                pipe.close()


def test_no_credential_in_verify_or_export_output(canary_sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox = canary_sandbox
    assert set(canaries()) <= set(sandbox.env)  # both the sandbox and the CLI hold the canaries
    outputs: list[str] = []

    def run(*args: str):
        result = sandbox.cli(*args)
        assert "Traceback" not in result.stderr, result.stderr
        outputs.extend([result.stdout, result.stderr])
        return result

    before = run("verify", "--format", "json")
    assert before.returncode == 1
    assert run("apply", "--auto-approve").returncode == 0
    writes = sandbox.stats()["writes"]
    text = run("verify")
    assert text.stdout.splitlines()[0] == f"Target: {sandbox.url}"
    document = json.loads(run("verify", "--format", "json").stdout)
    assert document["target"] == sandbox.url
    assert document["summary"]["failed"] == 1  # cosmo-kids waits for H5 approval
    assert sandbox.stats()["writes"] == writes, "verify must not write"
    for slug in SLUGS:
        exported = run("export", slug)
        assert exported.returncode == 0, exported.stderr
        assert "env:" in exported.stdout
    (sandbox.merchants / "acme-apparel.yaml").unlink()
    # A merchant without a file is read through the conventional variables ACME_APPAREL_*.
    for var, conventional in (("ACME_SHOPIFY_ACCESS_TOKEN", "ACME_APPAREL_SHOPIFY_TOKEN"),
                              ("ACME_TIKTOK_SHOP_REFRESH_TOKEN", "ACME_APPAREL_TTS_REFRESH_TOKEN"),
                              ("ACME_PIPE17_API_KEY", "ACME_APPAREL_PIPE17_KEY"),
                              ("ACME_LOOP_API_KEY", "ACME_APPAREL_LOOP_KEY")):
        sandbox.env[conventional] = sandbox.env[var]
    out = tmp_path / "found"
    assert run("export", "--all", "--out-dir", str(out)).returncode == 0
    outputs.extend(p.read_text() for p in out.iterdir())
    assert sandbox.stats()["writes"] == writes, "export must not write"

    everything = "\n".join(outputs)
    assert "CANARY" not in everything
    for value in canaries().values():
        assert value not in everything


def test_unreadable_services_fail_checks_without_a_traceback(canary_sandbox: Sandbox) -> None:
    sandbox = canary_sandbox
    sandbox.faults(error_rate=1.0)
    result = sandbox.cli("verify", "--merchant", "acme-apparel", timeout=300)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert "FAIL acme-apparel tiktok.authorized: could not read TikTok Shop" in result.stdout
    assert "CANARY" not in result.stdout + result.stderr
