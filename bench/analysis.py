"""From raw runs to the numbers the report shows: lower bounds, ratios, speed-ups, targets.

Works on the raw JSON document only (`fleet.py` writes it), so a report can
be rebuilt from a saved run without running anything.

The latency lower bound of a plan is ceil(N / parallelism) x (requests on a
merchant's critical path) x latency: merchants go through in waves of
`parallelism`, and a merchant cannot finish before its longest chain of
dependent requests has paid the latency once per request. Services are read
concurrently and a service's own requests one after another, so the critical
path is the busiest service's requests per merchant.

The bound describes the network phase of a plan, so it is compared with the
time the CLI spends in that phase ("read": from the first request to the last
merchant planned, as the CLI logs it on `reconciler.timing`). Starting Python
and loading the files come before any request and are reported beside it
(the whole process's wall time, and `validate` per 1,000 files); the ratio of
the whole wall time to the bound is shown too. A saved run without phase
timings falls back to the wall time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

DEFAULT_PARALLELISM = 10
WIDE_PARALLELISM = 64
TARGET_REQUESTS = 6
TARGET_BOUND_RATIO = 2.0
TARGET_SPEEDUP = 15.0
TARGET_LATENCY_MS = 50  # the latency the CPU, bound and large-fleet targets are judged at
TARGET_CPU_MS = {WIDE_PARALLELISM: 5.0, DEFAULT_PARALLELISM: 7.0}  # at 1,000 merchants
TARGET_RSS_MB = 500.0  # at 5,000 merchants
LARGE_FLEET = 10_000
TARGET_LARGE_RSS_MB = 800.0


def critical_path(run: dict[str, Any]) -> int:
    """Requests on one merchant's critical path, from a run's per-service request counts."""
    per_service = [n / run["merchants"] for n in run["requests_by_service"].values() if n]
    return max(1, round(max(per_service))) if per_service else 1


def lower_bound_seconds(merchants: int, parallelism: int, path: int, latency_ms: int) -> float:
    return math.ceil(merchants / parallelism) * path * latency_ms / 1000


def read_seconds(run: dict[str, Any]) -> float:
    """The plan's network phase (the process's wall time for runs saved without phases)."""
    value = run.get("read_seconds")
    return run["wall_seconds"] if value is None else value


def read_per_merchant_ms(run: dict[str, Any]) -> float:
    return 1000 * read_seconds(run) / run["merchants"]


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run with the median reading time (the lower middle one of an even count)."""
    if not runs:
        return None
    ordered = sorted(runs, key=read_seconds)
    return ordered[(len(ordered) - 1) // 2]


@dataclass(frozen=True)
class Row:
    """One fleet size at one latency: sequential sample, default and wide parallelism.

    Each configuration may have been run several times; a row shows and
    judges its median run, and `spread` tells the range.
    """

    merchants: int
    latency_ms: int
    sequential_runs: list[dict[str, Any]]
    default_runs: list[dict[str, Any]]
    wide_runs: list[dict[str, Any]]
    path: int

    @property
    def sequential(self) -> dict[str, Any] | None:
        return median_run(self.sequential_runs)

    @property
    def default(self) -> dict[str, Any] | None:
        return median_run(self.default_runs)

    @property
    def wide(self) -> dict[str, Any] | None:
        return median_run(self.wide_runs)

    def spread(self, run: dict[str, Any]) -> list[dict[str, Any]]:
        """All runs of the configuration `run` belongs to."""
        for runs in (self.sequential_runs, self.default_runs, self.wide_runs):
            if any(r is run for r in runs):
                return runs
        return [run]

    def bound(self, run: dict[str, Any] | None) -> float | None:
        if run is None:
            return None
        return lower_bound_seconds(self.merchants, run["parallelism"], self.path, self.latency_ms)

    def ratio(self, run: dict[str, Any] | None) -> float | None:
        """The network phase's time over the lower bound."""
        bound = self.bound(run)
        return read_seconds(run) / bound if run and bound else None

    def wall_ratio(self, run: dict[str, Any] | None) -> float | None:
        """The whole process's wall time (start-up and loading included) over the bound."""
        bound = self.bound(run)
        return run["wall_seconds"] / bound if run and bound else None

    @property
    def speedup(self) -> float | None:
        """Per-merchant network-phase time, parallelism 1 over parallelism 64."""
        if not (self.sequential and self.wide):
            return None
        return read_per_merchant_ms(self.sequential) / read_per_merchant_ms(self.wide)

    @property
    def wall_speedup(self) -> float | None:
        if not (self.sequential and self.wide):
            return None
        return self.sequential["per_merchant_ms"] / self.wide["per_merchant_ms"]

    @property
    def requests_per_merchant(self) -> float | None:
        runs = [r for r in (self.default, self.wide, self.sequential) if r]
        return max(r["requests_per_merchant"] for r in runs) if runs else None


def rows(results: dict[str, Any]) -> list[Row]:
    found = []
    for fleet in results["fleets"]:
        for latency in results["latencies"]:
            runs = [r for r in fleet["runs"] if r["latency_ms"] == latency and not r["throttle"]]
            sequential = _pick(runs, parallelism=1)
            default = _pick(runs, parallelism=DEFAULT_PARALLELISM, merchants=fleet["merchants"])
            wide = _pick(runs, parallelism=WIDE_PARALLELISM, merchants=fleet["merchants"])
            basis = median_run(wide) or median_run(default) or median_run(sequential)
            if basis is None:
                continue  # a fleet planned at fewer latencies than the others (the largest)
            path = critical_path(basis) if basis else 1
            found.append(Row(fleet["merchants"], latency, sequential, default, wide, path))
    return found


def _pick(runs: list[dict[str, Any]], *, parallelism: int, merchants: int | None = None
          ) -> list[dict[str, Any]]:
    return [run for run in runs if run["parallelism"] == parallelism
            and (merchants is None or run["merchants"] == merchants)]


def measured_path(results: dict[str, Any], merchants: int) -> float | None:
    """Critical path measured by latency: slope of sequential per-merchant time vs latency."""
    points = {}
    for row in rows(results):
        if row.merchants == merchants and row.sequential:
            points[row.latency_ms] = row.sequential["per_merchant_ms"]
    if len(points) < 2:
        return None
    low, high = min(points), max(points)
    return (points[high] - points[low]) / (high - low)


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    met: bool | None  # None: not measured in this run


def targets(results: dict[str, Any]) -> list[Target]:
    table = rows(results)
    return [
        _requests_target(table),
        _bound_target(table),
        _speedup_target(table),
        *(_cpu_target(table, parallelism) for parallelism in TARGET_CPU_MS),
        _memory_target(results),
        _large_memory_target(results),
        _large_bound_target(table),
        _throttle_target(results),
    ]


def _requests_target(table: list[Row]) -> Target:
    name = f"At most {TARGET_REQUESTS} requests per merchant for a plan"
    values = [r.requests_per_merchant for r in table if r.requests_per_merchant is not None]
    if not values:
        return Target(name, "not measured", None)
    worst = max(values)
    return Target(name, f"{worst:.2f} requests per merchant (worst run)", worst <= TARGET_REQUESTS)


def _judged_row(table: list[Row], latency: int) -> Row | None:
    """The 1,000-merchant row at `latency`, else the largest fleet measured."""
    candidates = [r for r in table if r.latency_ms == latency]
    exact = [r for r in candidates if r.merchants == 1000]
    if exact:
        return exact[0]
    return max(candidates, key=lambda r: r.merchants) if candidates else None


def _row(table: list[Row], merchants: int, latency: int) -> Row | None:
    return next((r for r in table if r.merchants == merchants and r.latency_ms == latency), None)


def _bound_target(table: list[Row], merchants: int = 1000) -> Target:
    name = (f"{TARGET_LATENCY_MS} ms, {merchants:,} merchants, parallelism {WIDE_PARALLELISM}: "
            f"within {TARGET_BOUND_RATIO:g}x of the latency lower bound")
    row = _row(table, merchants, TARGET_LATENCY_MS)
    ratio = row.ratio(row.wide) if row else None
    if row is None or ratio is None:
        return Target(name, "not measured", None)
    bound = row.bound(row.wide)
    text = (f"reading {read_seconds(row.wide):.2f} s vs bound {bound:.2f} s = {ratio:.2f}x "
            f"(whole process {row.wide['wall_seconds']:.2f} s = {row.wall_ratio(row.wide):.2f}x)")
    return Target(name, text, ratio <= TARGET_BOUND_RATIO)


def _large_bound_target(table: list[Row]) -> Target:
    return _bound_target(table, LARGE_FLEET)


def _speedup_target(table: list[Row]) -> Target:
    name = (f"20 ms: per-merchant time at parallelism {WIDE_PARALLELISM} at least "
            f"{TARGET_SPEEDUP:g}x better than at parallelism 1")
    row = _judged_row(table, 20)
    if row is None or row.speedup is None:
        return Target(name, "not measured", None)
    text = (f"{row.speedup:.1f}x at {row.merchants:,} merchants, reading "
            f"({read_per_merchant_ms(row.sequential):.1f} ms vs "
            f"{read_per_merchant_ms(row.wide):.2f} ms per merchant; whole process "
            f"{row.wall_speedup:.1f}x)")
    return Target(name, text, row.speedup >= TARGET_SPEEDUP)


def fleet_runs(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Whole-fleet plans (not the sequential samples, not the throttled run)."""
    return [r for f in results["fleets"] for r in f["runs"]
            if r["merchants"] == f["merchants"] and not r["throttle"]]


def worst_cpu_run(results: dict[str, Any]) -> dict[str, Any] | None:
    """The median fleet plan (1,000 merchants or more if any) with the most CLI CPU per merchant."""
    runs = [run for row in rows(results) for run in (row.default, row.wide) if run]
    large = [r for r in runs if r["merchants"] >= 1000] or runs
    return max(large, key=lambda r: r["cli_cpu_ms_per_merchant"]) if large else None


def cpu_by_phase(run: dict[str, Any]) -> dict[str, float] | None:
    """CLI CPU ms per merchant by phase: start-up and the rest, load, read, output."""
    cpu = run.get("phase_cpu") or {}
    if not all(phase in cpu for phase in ("load", "read", "output")):
        return None
    per = 1000 / run["merchants"]
    spent = {phase: cpu[phase] * per for phase in ("load", "read", "output")}
    rest = run["cli_cpu_seconds"] * per - sum(spent.values())
    return {"start-up and the rest": max(rest, 0.0), **spent}


def _cpu_target(table: list[Row], parallelism: int) -> Target:
    limit = TARGET_CPU_MS[parallelism]
    name = (f"CLI CPU at most {limit:g} ms per merchant: 1,000 merchants, {TARGET_LATENCY_MS} ms, "
            f"parallelism {parallelism}")
    row = _row(table, 1000, TARGET_LATENCY_MS)
    run = (row.wide if parallelism == WIDE_PARALLELISM else row.default) if row else None
    if run is None:
        return Target(name, "not measured", None)
    spread = [r["cli_cpu_ms_per_merchant"] for r in row.spread(run)]
    runs = (f" (median run by reading; {min(spread):.2f}–{max(spread):.2f} ms over "
            f"{len(spread)} runs)" if len(spread) > 1 else "")
    text = f"{run['cli_cpu_ms_per_merchant']:.2f} ms per merchant{runs}"
    return Target(name, text, run["cli_cpu_ms_per_merchant"] <= limit)


def _memory_target(results: dict[str, Any], merchants: int = 5000,
                   limit: float = TARGET_RSS_MB) -> Target:
    name = f"Peak memory under {limit:g} MB for a {merchants:,}-merchant plan"
    runs = [r for r in fleet_runs(results) if r["merchants"] == merchants]
    if not runs:
        largest = max(fleet_runs(results), key=lambda r: r["merchants"], default=None)
        note = (f"not measured (largest fleet {largest['merchants']:,}: "
                f"{largest['cli_peak_rss_mb']:.0f} MB)") if largest else "not measured"
        return Target(name, note, None)
    worst = max(r["cli_peak_rss_mb"] for r in runs)
    return Target(name, f"{worst:.0f} MB peak RSS of the CLI process (worst of {len(runs)} "
                        f"plan(s))", worst < limit)


def _large_memory_target(results: dict[str, Any]) -> Target:
    return _memory_target(results, LARGE_FLEET, TARGET_LARGE_RSS_MB)


def _throttle_target(results: dict[str, Any]) -> Target:
    name = "Under sandbox throttling, a fleet plan finishes with no failed merchant"
    run = results.get("throttle")
    if not run:
        return Target(name, "not measured", None)
    text = (f"{run['errored']} failed of {run['merchants']:,} (exit {run['exit_code']}, "
            f"{run['requests_per_merchant']:.2f} requests per merchant with retries)")
    return Target(name, text, run["errored"] == 0 and run["exit_code"] == 0)
