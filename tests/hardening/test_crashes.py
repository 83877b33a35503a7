"""SIGKILL at random points of a multi-merchant apply (issue 8, item 2).

After every kill: the next plan shows exactly what remains, no lock blocks
the next run, the journal names the writes that were in flight, the next
apply converges without manual steps, and no write was sent twice beyond
the ones in flight.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.journal import in_flight
from reconciler.engine.lock import wait_until_free
from tests.e2e.conftest import Sandbox, start_logged_sandbox, stop, write_fleet
from tests.hardening.conftest import change_set, plan_document, run_checked

MERCHANTS = 10
ITERATIONS = 5


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("crash")
    slugs = write_fleet(root / "merchants", MERCHANTS, prefix="crash")
    assert len(slugs) == MERCHANTS
    sandbox = start_logged_sandbox(root, merchants_src=root / "merchants")
    try:
        yield sandbox
    finally:
        stop(sandbox)


def journal_entries(state_dir: Path, before: set[Path]) -> list[dict[str, Any]]:
    """Entries of the journals written since `before` was listed (lines cut short are skipped)."""
    entries = []
    for path in sorted((state_dir / "journal").glob("*.jsonl")):
        if path in before:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
    return entries


def journals(state_dir: Path) -> set[Path]:
    directory = state_dir / "journal"
    return set(directory.glob("*.jsonl")) if directory.is_dir() else set()


def key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return entry["merchant"], entry["address"], json.dumps(entry["after"], sort_keys=True)


def kill_apply_mid_write(sandbox: Sandbox, seen: set[Path], delay: float) -> int:
    """Start an apply; once it has started writing (its journal exists), SIGKILL it after
    `delay` more seconds. Returns its exit status."""
    process = sandbox.spawn("apply", "--auto-approve", "--allow-mass-change", "--parallelism", "10")
    deadline = time.monotonic() + 30
    while not journals(sandbox.state_dir) - seen and process.poll() is None:
        assert time.monotonic() < deadline, "apply never started writing"
        time.sleep(0.01)
    time.sleep(delay)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    return process.returncode


@pytest.mark.parametrize("seed", range(ITERATIONS))
def test_killed_apply_leaves_exactly_the_rest_and_converges(fleet: Sandbox, seed: int) -> None:
    fleet.control("POST", "/_sandbox/reset")
    fleet.faults(latency_ms=120)  # writes spread over two seconds or more: the kill lands mid-apply
    code, first = plan_document(fleet)
    assert code == 2
    planned = change_set(first)
    seen = journals(fleet.state_dir)

    status = kill_apply_mid_write(fleet, seen, random.Random(seed).uniform(0.0, 0.8))
    assert status == -signal.SIGKILL

    # The journal of the killed run: what was done, and what was in flight.
    entries = journal_entries(fleet.state_dir, seen)
    applied = {key(e) for e in entries if e["phase"] == "applied"}
    intents = {key(e) for e in entries if e["phase"] == "intent"}
    outcomes = {key(e) for e in entries if e["phase"] in ("applied", "failed")}
    flying = intents - outcomes
    assert applied <= planned and intents <= planned
    pending = {key(e) for e in in_flight(fleet.state_dir) if e["run"] == (entries or [{}])[0].get("run")}
    assert pending == flying
    writes_after_kill = fleet.stats()["writes"]
    assert len(applied) <= writes_after_kill <= len(intents)  # a received write had its intent first
    if writes_after_kill > len(outcomes):
        assert flying, "writes reached the service but the journal shows nothing in flight"

    # No lock left behind blocks anyone.
    for slug in {m for m, _, _ in planned}:
        assert wait_until_free(fleet.state_dir, slug, timeout=0.5), slug

    # The next plan shows exactly what remains: the in-flight writes may or may not have landed.
    code, second = plan_document(fleet)
    remaining = change_set(second)
    assert remaining <= planned - applied
    assert planned - applied - flying <= remaining
    assert code == (2 if remaining else 0)

    # The next apply converges by itself, and nothing was written twice beyond what was in flight.
    resumed = run_checked(fleet, "apply", "--auto-approve", "--allow-mass-change", "--parallelism", "10")
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    if flying:
        assert "in flight" in resumed.stderr
    code, third = plan_document(fleet)
    assert code == 0 and not change_set(third), third["summary"]
    assert fleet.stats()["writes"] <= len(planned) + len(flying)
