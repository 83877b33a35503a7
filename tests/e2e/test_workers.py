"""Fleet reads split across worker processes give exactly the single-process answer."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Sandbox, serving, start_sandbox, write_fleet

FLEET = 24


def without_times(document: dict) -> dict:
    return {k: v for k, v in document.items() if not k.endswith("_at")}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("workers")
    source = root / "source"
    write_fleet(source, FLEET)
    with serving(start_sandbox(root / "served", merchants_src=source)) as sandbox:
        yield sandbox


def test_plan_from_three_workers_equals_the_single_process_plan(fleet: Sandbox) -> None:
    one = fleet.cli("plan", "--format", "json", "--detailed-exitcode", "--workers", "1",
                    "--parallelism", "6")
    three = fleet.cli("plan", "--format", "json", "--detailed-exitcode", "--workers", "3",
                      "--parallelism", "6")
    assert one.returncode == three.returncode == 2, one.stderr + three.stderr
    document, single = json.loads(three.stdout), json.loads(one.stdout)
    assert document["checksum"] == single["checksum"]
    assert without_times(document) == without_times(single)  # same merchants, order, changes
    assert [m["merchant"] for m in document["merchants"]] == sorted(
        m["merchant"] for m in document["merchants"])
    assert document["summary"]["errored"] == 0 and document["summary"]["merchants"] == FLEET
    assert fleet.stats()["writes"] == 0


def test_verify_from_workers_equals_the_single_process_report(fleet: Sandbox) -> None:
    one = fleet.cli("verify", "--format", "json", "--workers", "1")
    two = fleet.cli("verify", "--format", "json", "--workers", "2")
    assert one.returncode == two.returncode, one.stderr + two.stderr
    assert without_times(json.loads(two.stdout)) == without_times(json.loads(one.stdout))


def test_an_unreachable_service_fails_each_merchant_not_the_run(fleet: Sandbox) -> None:
    fleet.faults(error_rate=1.0, services={"loop": {"error_rate": 1.0}})
    try:
        result = fleet.cli("plan", "--format", "json", "--workers", "2",
                           env={"RECONCILER_HTTP_RETRY_ATTEMPTS": "1"})
    finally:
        fleet.faults()
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["errored"] == FLEET
    assert all("HTTP 5" in m["error"] for m in document["merchants"])


def test_shopifys_deprecation_warning_crosses_worker_processes_once(tmp_path) -> None:
    source = tmp_path / "source"
    slugs = write_fleet(source, 4, prefix="old")
    scenarios = tuple(f"{slug}=shopify-version-unsupported" for slug in slugs)
    with serving(start_sandbox(tmp_path / "served", merchants_src=source, scenarios=scenarios)) as box:
        result = box.cli("plan", "--format", "json", "--workers", "2")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: shopify:")]
    assert len(warnings) == 1 and "past its support window" in warnings[0], result.stderr
