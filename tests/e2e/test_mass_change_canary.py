"""Mass-change refusal and the staged (canary) rollout, through the CLI against a served sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox, serving, start_logged_sandbox, write_fleet

FLEET = 12  # over the default minimum of 10 merchants
# A write that keeps failing gives up fast: the canary stop is what is under test.
BUDGET = {"RECONCILER_HTTP_TIMEOUT": "2", "RECONCILER_RETRY_ATTEMPTS": "2",
          "RECONCILER_RETRY_SECONDS": "3"}


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Sandbox]:
    write_fleet(tmp_path / "merchants", FLEET)
    with serving(start_logged_sandbox(tmp_path, tmp_path / "merchants", **BUDGET)) as sandbox:
        yield sandbox


def changing(sandbox: Sandbox) -> set[str]:
    result = sandbox.cli("plan", "--format", "json")
    assert result.returncode == 0, result.stderr
    return {m["merchant"] for m in json.loads(result.stdout)["merchants"] if m["changes"]}


def test_apply_refuses_a_mass_change_and_writes_nothing(fleet: Sandbox) -> None:
    result = fleet.cli("apply", "--auto-approve")
    assert result.returncode == 3, result.stderr
    assert "would change 12 of 12 merchants" in result.stderr
    assert "--allow-mass-change" in result.stderr
    assert fleet.stats()["writes"] == 0
    assert len(changing(fleet)) == FLEET


def test_the_plan_states_the_verdict_at_the_top_in_every_format(fleet: Sandbox) -> None:
    text = fleet.cli("plan").stdout.splitlines()
    assert text[0].startswith("Target: ")
    assert text[1].startswith("Mass change: 12 of 12 merchants (100%) would change, over the limit")
    markdown = fleet.cli("plan", "--format", "markdown").stdout.split("\n\n")
    assert markdown[1].startswith("Mass change: 12 of 12 merchants")
    document = json.loads(fleet.cli("plan", "--format", "json").stdout)
    assert document["mass_change"] == {"changing": 12, "fleet": 12, "max_fraction": 0.3,
                                       "min_merchants": 10, "refused": True}


def test_a_narrow_apply_is_within_the_limit(fleet: Sandbox) -> None:
    result = fleet.cli("apply", "--auto-approve", "--merchant", "fleet-000", "--merchant",
                       "fleet-001")
    assert result.returncode == 0, result.stderr
    assert "Mass change: 2 of 12 merchants (17%) would change; within the limit" in result.stdout


def test_the_threshold_comes_from_reconciler_toml(fleet: Sandbox) -> None:
    config = fleet.merchants.parent / "reconciler.toml"
    config.write_text("[apply.mass_change]\nmax_fraction = 1.0\nmin_merchants = 10\n")
    result = fleet.cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stderr
    assert changing(fleet) == set()


@pytest.mark.parametrize(("content", "message"), [
    ("[apply.mass_change]\nmax_fraction = 30\n", "reconciler.toml:2: apply.mass_change.max_fraction "
                                                 "must be a number from 0 to 1"),
    ("[apply.mass_change]\nmin_merchants = 0\n", "reconciler.toml:2: apply.mass_change.min_merchants"),
    ("[apply.mass_change]\nmax_fractoin = 0.5\n", "reconciler.toml:2: unknown key "
                                                  "apply.mass_change.max_fractoin"),
    ("[apply\nx = 1\n", "reconciler.toml: "),
])
def test_a_bad_config_file_is_a_clear_error_before_anything_is_written(
        fleet: Sandbox, content: str, message: str) -> None:
    (fleet.merchants.parent / "reconciler.toml").write_text(content)
    result = fleet.cli("apply", "--auto-approve", "--allow-mass-change")
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert fleet.stats()["writes"] == 0


def test_the_canary_stops_the_rollout_when_a_canary_write_fails(fleet: Sandbox) -> None:
    fleet.faults(merchants={"fleet-001": {"write_error_rate": 1.0}})
    report = fleet.merchants.parent / "apply-report.json"
    result = fleet.cli("apply", "--auto-approve", "--allow-mass-change", "--report", str(report),
                       "--canary", "fleet-000", "--canary", "fleet-001")
    assert result.returncode == 4, result.stderr  # writes landed (fleet-000), then one failed
    assert "Stage 1 of 2 (canary) stopped: writes failed for fleet-001" in result.stderr
    assert "Stage 2 did not run: 10 merchant(s) not applied" in result.stderr
    document = json.loads(report.read_text())
    assert document["exit_code"] == 4 and document["stopped"].startswith("Stage 1 of 2 (canary)")
    assert [g["merchants"] for g in document["groups"]] == [["fleet-000"], ["fleet-001"]]
    assert document["groups"][0]["applied"] == 13 and document["groups"][1]["failed"] == 1
    comment = report.with_suffix(".md").read_text()
    assert comment.startswith("### reconciler apply: partial (exit 4)")
    assert "**Stage 1 of 2 (canary) stopped: writes failed for fleet-001" in comment
    fleet.faults()
    rest = {f"fleet-{i:03d}" for i in range(2, FLEET)}
    assert changing(fleet) == rest | {"fleet-001"}  # the canary that passed is the only one done


def test_the_canary_stops_the_rollout_when_verify_fails(tmp_path: Path) -> None:
    write_fleet(tmp_path / "merchants", FLEET)
    sandbox = start_logged_sandbox(tmp_path, tmp_path / "merchants",
                                   ("fleet-000=order-missing-in-shopify",), **BUDGET)
    with serving(sandbox):
        result = sandbox.cli("apply", "--auto-approve", "--allow-mass-change", "--canary", "2")
        assert result.returncode == 4, result.stderr
        assert "FAIL fleet-000 shopify.orders_present" in result.stdout
        assert "Stage 1 of 2 (canary) stopped: verify failed for fleet-000" in result.stderr
        assert changing(sandbox) == {f"fleet-{i:03d}" for i in range(2, FLEET)}


def test_a_passing_canary_rolls_out_to_the_rest(fleet: Sandbox) -> None:
    report = fleet.merchants.parent / "apply-report.json"
    result = fleet.cli("apply", "--auto-approve", "--allow-mass-change", "--canary", "3",
                       "--report", str(report))
    assert result.returncode == 0, result.stderr
    # Twelve merchants with the same change set: one group in the comment posted to the PR.
    assert "- **12 merchant(s)**: 13 applied, 0 failed, 0 skipped" in report.with_suffix(".md").read_text()
    assert "Stage 1 of 2 (canary): 3 merchant(s): fleet-000, fleet-001, fleet-002" in result.stderr
    assert "Stage 1 of 2 (canary) passed" in result.stderr
    assert "Stage 2 of 2 (rest): 9 merchant(s)." in result.stderr
    assert changing(fleet) == set()


def test_an_unknown_canary_slug_is_refused_before_anything_is_read(fleet: Sandbox) -> None:
    result = fleet.cli("apply", "--auto-approve", "--canary", "nobody")
    assert result.returncode == 1
    assert "--canary: nobody not among the merchants" in result.stderr
    assert fleet.stats()["requests"] == 0
