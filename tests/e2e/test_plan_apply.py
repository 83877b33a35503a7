"""Issue acceptance for plan and apply, each end to end through the CLI against the served sandbox."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import jsonschema

from reconciler.config import load_merchants
from reconciler.secrets import sandbox_credential
from tests.e2e.conftest import ROOT, Sandbox

READY = ["--merchant", "acme-apparel", "--merchant", "bright-basics"]  # no pending manual action


def plan_json(sandbox: Sandbox, *args: str) -> tuple[int, dict]:
    result = sandbox.cli("plan", "--format", "json", "--detailed-exitcode", *args)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def loop_drift(sandbox: Sandbox, slug: str, lookup: str = "email") -> None:
    merchant = next(m for m in load_merchants(sandbox.merchants).merchants if m.slug == slug)
    key = sandbox_credential(merchant.credentials.loop_api_key)
    response = httpx.patch(f"{sandbox.url}/loop/api/v1/portal/settings", json={"order_lookup": lookup},
                           headers={"X-Authorization": key}, timeout=10)
    response.raise_for_status()


def test_fresh_sandbox_plans_changes_applies_and_converges(served: Sandbox) -> None:
    first = served.cli("plan", "--detailed-exitcode")
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.stdout.splitlines()[0] == f"Target: {served.url}"
    assert "~ loop.portal.order_lookup: \"email\" -> \"zip\"" in first.stdout

    applied = served.cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert " 0 failed" in applied.stdout

    again = served.cli("plan", "--detailed-exitcode", *READY)
    assert again.returncode == 0, again.stdout
    held = served.cli("plan", "--format", "json", "--merchant", "cosmo-kids")
    document = json.loads(held.stdout)
    changes = document["merchants"][0]["changes"]
    assert changes and all(c["blocked_by"] == "tiktok_shop.h5_redirect" for c in changes)


def test_no_plan_in_any_format_writes(served: Sandbox) -> None:
    before = served.stats()["writes"]
    for fmt in ("text", "json", "markdown"):
        result = served.cli("plan", "--format", fmt, "--detailed-exitcode")
        assert result.returncode == 2, result.stderr
    stats = served.stats()
    assert stats["writes"] == before == 0
    assert stats["requests"] > 0


def test_reviewed_plan_is_refused_after_drift_and_applies_without_it(served: Sandbox,
                                                                     tmp_path: Path) -> None:
    assert served.cli("apply", "--auto-approve", *READY).returncode == 0
    loop_drift(served, "acme-apparel")
    saved = tmp_path / "plan.json"
    assert served.cli("plan", "--out", str(saved), *READY).returncode == 0
    loop_drift(served, "bright-basics")  # drift after review
    writes = served.stats()["writes"]
    stale = served.cli("apply", "--plan", str(saved), "--auto-approve")
    assert stale.returncode == 5, stale.stdout + stale.stderr
    assert "stale" in stale.stderr
    assert served.stats()["writes"] == writes

    assert served.cli("plan", "--out", str(saved), *READY).returncode == 0
    fresh = served.cli("apply", "--plan", str(saved), "--auto-approve")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert served.stats()["writes"] == writes + 2
    assert served.cli("plan", "--detailed-exitcode", *READY).returncode == 0


def test_two_concurrent_applies_on_one_merchant_never_both_write(served: Sandbox) -> None:
    served.faults(latency_ms=150)
    first = served.spawn("apply", "--auto-approve", "--merchant", "acme-apparel", "--lock-wait", "0")
    time.sleep(1.5)  # let the first take the lock and start reading
    second = served.spawn("apply", "--auto-approve", "--merchant", "acme-apparel", "--lock-wait", "0")
    out2, err2 = second.communicate(timeout=120)
    out1, err1 = first.communicate(timeout=120)
    served.faults()
    codes = sorted([first.returncode, second.returncode])
    assert codes in ([0, 5], [0, 0]), (out1, err1, out2, err2)
    if second.returncode == 5:
        assert "locked by" in err2 and "pid" in err2
    plan = served.cli("plan", "--detailed-exitcode", "--merchant", "acme-apparel")
    assert plan.returncode == 0, plan.stdout
    # every setting written exactly once: the second apply found nothing to do or was refused
    assert served.stats()["writes"] == sum(1 for line in out1.splitlines() if "applied " in line)


def test_failing_writes_on_one_service_give_a_partial_apply_that_converges(served: Sandbox) -> None:
    served.faults(services={"loop": {"write_error_rate": 1.0}})
    partial = served.cli("apply", "--auto-approve", "--merchant", "acme-apparel")
    assert partial.returncode == 4, partial.stdout + partial.stderr
    assert "failed   loop.portal.order_lookup" in partial.stdout
    assert "skipped  tiktok_shop.return_proxy.partner" in partial.stdout
    journal_line = partial.stderr.split("Journal: ")[-1].strip().splitlines()[0]
    entries = [json.loads(line) for line in Path(journal_line).read_text().splitlines()]
    assert [e["phase"] for e in entries if e["address"] == "loop.portal.order_lookup"] == ["intent", "failed"]

    served.faults()
    retry = served.cli("apply", "--auto-approve", "--merchant", "acme-apparel")
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert served.cli("plan", "--detailed-exitcode", "--merchant", "acme-apparel").returncode == 0


def test_a_write_sent_and_failed_gives_exit_4_never_1(served: Sandbox) -> None:
    """Exit 1 promises nothing was written; a write answered 500 may have landed before the
    answer (the sandbox counts it as a write), so the run is partial (tests/edges has exit 1)."""
    assert served.cli("apply", "--auto-approve", "--merchant", "acme-apparel").returncode == 0
    loop_drift(served, "acme-apparel")
    served.faults(services={"loop": {"write_error_rate": 1.0}})
    before = served.stats()["writes"]
    failed = served.cli("apply", "--auto-approve", "--merchant", "acme-apparel")
    served.faults()
    assert served.stats()["writes"] > before
    assert failed.returncode == 4, failed.stdout + failed.stderr


def test_destructive_change_is_blocked_until_allowed(served: Sandbox) -> None:
    assert served.cli("apply", "--auto-approve", *READY).returncode == 0
    path = served.merchants / "acme-apparel.yaml"
    text = path.read_text()
    moved = text.replace("returns.acme-apparel.com", "help.acme-apparel.com")
    assert moved != text
    path.write_text(moved)  # the return URL moves to another host: buyers go elsewhere

    plan = served.cli("plan", "--detailed-exitcode", "--merchant", "acme-apparel")
    assert plan.returncode == 3, plan.stdout + plan.stderr
    assert "tiktok_shop.return_proxy.return_url" in plan.stdout
    assert "destructive: blocked" in plan.stdout

    writes = served.stats()["writes"]
    refused = served.cli("apply", "--auto-approve", "--merchant", "acme-apparel")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert served.stats()["writes"] == writes

    allowed = served.cli("apply", "--auto-approve", "--allow-destructive", "--merchant", "acme-apparel")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert served.cli("plan", "--detailed-exitcode", "--merchant", "acme-apparel").returncode == 0


def test_json_plan_matches_its_schema_and_is_deterministic(served: Sandbox) -> None:
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    code, first = plan_json(served)
    assert code == 2
    jsonschema.Draft202012Validator(schema).validate(first)
    _, second = plan_json(served)
    assert first["checksum"] == second["checksum"]
    assert first["summary"]["merchants"] == len(first["merchants"]) >= 3


def test_apply_without_terminal_or_auto_approve_writes_nothing(served: Sandbox) -> None:
    result = served.cli("apply", "--merchant", "acme-apparel", input="")
    assert result.returncode == 1
    assert "--auto-approve" in result.stderr
    assert served.stats()["writes"] == 0


def test_phase_timings_can_be_logged_alone(served: Sandbox) -> None:
    """`RECONCILER_LOG=warning,reconciler.timing=info`: how long each phase took, nothing else."""
    result = served.cli("plan", "--format", "json", "--parallelism", "7",
                        env={"RECONCILER_LOG": "warning,reconciler.timing=info"})
    json.loads(result.stdout)  # stdout stays the plan
    lines = [line for line in result.stderr.splitlines() if line.startswith("INFO")]
    assert [line.split(":")[0] for line in lines] == ["INFO reconciler.timing"] * 4, result.stderr
    assert "load files=3 seconds=" in lines[0]
    assert "secrets references=" in lines[1]  # decrypting the secret files, before any request
    assert "read merchants=3 parallelism=7 seconds=" in lines[2]
    assert "output seconds=" in lines[3]

    chatty = served.cli("plan", "--format", "json", env={"RECONCILER_LOG": "info"})
    assert any(line.startswith("INFO reconciler.http") for line in chatty.stderr.splitlines())
