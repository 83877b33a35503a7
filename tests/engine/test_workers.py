"""Splitting a read-only fleet run across processes: who goes where, and how many."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.engine.workers import (
    MERCHANTS_PER_WORKER,
    affinity_groups,
    partition,
    shares,
    worker_count,
)


@dataclass(frozen=True)
class FakeTarget:
    embedded: bool = False


@dataclass(frozen=True)
class M:
    slug: str
    keys: frozenset[str]


def test_merchants_sharing_any_key_stay_together_transitively() -> None:
    merchants = [M("a", frozenset({"loop:1"})), M("b", frozenset({"loop:2", "pipe17:x"})),
                 M("c", frozenset({"pipe17:x", "loop:1"})), M("d", frozenset({"loop:9"}))]
    groups = affinity_groups(merchants, lambda m: set(m.keys))
    assert sorted(sorted(g) for g in groups) == [[0, 1, 2], [3]]


def test_parts_are_balanced_ordered_and_never_split_a_group() -> None:
    groups = [[0, 5, 6], [1], [2], [3], [4], [7]]
    parts = partition(groups, 2)
    assert sorted(i for p in parts for i in p) == list(range(8))
    assert all(p == sorted(p) for p in parts)
    assert any({0, 5, 6} <= set(p) for p in parts)
    assert sorted(len(p) for p in parts) == [4, 4]
    assert partition([[0], [1]], 5) == [[0], [1]]  # no empty worker


def test_parallelism_is_shared_not_multiplied() -> None:
    assert shares(64, 2) == [32, 32]
    assert shares(10, 3) == [4, 3, 3]
    assert sum(shares(7, 4)) == 7
    assert shares(1, 2) == [1, 1]  # every worker can make progress


def test_one_process_unless_asked_and_auto_means_cpus_for_large_fleets(monkeypatch) -> None:
    monkeypatch.setattr("reconciler.engine.workers.available_cpus", lambda: 4)
    network, embedded = FakeTarget(), FakeTarget(embedded=True)
    assert worker_count(None, 100 * MERCHANTS_PER_WORKER, network) == 1
    assert worker_count("auto", MERCHANTS_PER_WORKER - 1, network) == 1
    assert worker_count("auto", 2 * MERCHANTS_PER_WORKER, network) == 2
    assert worker_count("auto", 100 * MERCHANTS_PER_WORKER, network) == 4
    assert worker_count(3, 10, network) == 3
    assert worker_count(8, 2, network) == 2
    assert worker_count(4, 1000, embedded) == 1  # one in-process emulator owns its state
