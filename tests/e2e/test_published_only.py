"""Both sandbox modes end to end, through the CLI against a served sandbox.

Full mode: partner APIs exist, so plan, apply and plan again converge.
Published-only: every assumed endpoint answers as an unknown path, so the
plan degrades to manual actions without erroring anyone, apply sends nothing
to an unavailable endpoint, and once a person has done the manual actions
(the `set-up-by-hand` scenario) verify passes.
"""

from __future__ import annotations

import json
from pathlib import Path

from reconciler import declarations
from tests.e2e.conftest import serving, start_sandbox, write_fleet

FLEET = 4
READS_PER_MERCHANT = 6  # TikTok shops + Return Proxy, Shopify, Pipe17 integrations + org, Loop
ASSUMED_CONTRACTS = {"tiktok_shop.return_proxy", "pipe17.integrations", "loop.portal_settings"}


def _fleet(tmp_path: Path) -> tuple[Path, list[str]]:
    source = tmp_path / "fleet-src"
    return source, write_fleet(source, FLEET)


def _plan(sandbox) -> tuple[int, dict]:
    result = sandbox.cli("plan", "--format", "json", "--detailed-exitcode")
    return result.returncode, json.loads(result.stdout)


def test_full_mode_automates_every_setting(tmp_path: Path) -> None:
    source, slugs = _fleet(tmp_path)
    with serving(start_sandbox(tmp_path, source)) as sandbox:
        code, document = _plan(sandbox)
        assert code == 2, document
        assert all(not m["unavailable"] for m in document["merchants"])
        assert sandbox.stats()["requests"] <= READS_PER_MERCHANT * len(slugs)
        applied = sandbox.cli("apply", "--auto-approve")
        assert applied.returncode == 0, applied.stderr
        assert sandbox.stats()["writes"] > 0
        assert _plan(sandbox)[0] == 0


def test_published_only_plans_applies_and_verifies_through_manual_actions(tmp_path: Path) -> None:
    source, slugs = _fleet(tmp_path)
    mode = {"RECONCILER_SANDBOX_MODE": "published-only"}
    with serving(start_sandbox(tmp_path, source, **mode)) as sandbox:
        code, document = _plan(sandbox)
        assert code == 2, document  # changes, all held back: not 3, not 1
        assert document["summary"]["errored"] == 0 and document["summary"]["blocked"] == 0
        reads = sandbox.stats()["requests"]
        assert reads <= READS_PER_MERCHANT * len(slugs)  # the failed probe replaces the read
        for entry in document["merchants"]:
            assert {u["contract"] for u in entry["unavailable"]} == ASSUMED_CONTRACTS
            manual = {a["id"]: a["instructions"] for a in entry["manual_actions"]}
            assert "Loop admin > Settings > Return portal > Order lookup): zip" in manual[
                "loop.portal_settings.manual"]
            assert "verify proves it" in manual["loop.portal_settings.manual"]
            for change in entry["changes"]:
                contract = declarations.contract_of(change["address"]).id
                assert change["blocked_by"] == declarations.manual_action_id(contract)

        applied = sandbox.cli("apply", "--auto-approve")
        assert applied.returncode == 0, applied.stderr
        stats = sandbox.stats()
        assert stats["writes"] == 0
        written = [e for e in stats["unavailable"] if declarations.BY_ENDPOINT_ID[e].method != "GET"]
        assert written == [], stats["unavailable"]

        failing = sandbox.cli("verify")
        assert failing.returncode == 1  # nobody has done the manual actions yet
        assert "FAIL" in failing.stdout and "loop.lookup_by_zip" in failing.stdout
        assert "fix: manual action loop.portal_settings.manual" in failing.stdout

    done = tuple(f"{slug}=set-up-by-hand" for slug in slugs)
    with serving(start_sandbox(tmp_path, source, done, **mode)) as sandbox:
        verified = sandbox.cli("verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stdout.splitlines()[0] == f"Target: {sandbox.url}"
        assert "PASS" in verified.stdout and "FAIL" not in verified.stdout
        assert f"SKIP {slugs[0]} tiktok.return_url_matches" in verified.stdout
        code, document = _plan(sandbox)
        assert code == 2 and document["summary"]["errored"] == 0
