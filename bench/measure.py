"""Running the CLI as a child process and measuring it: wall time, its own CPU time, peak RSS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.sandbox import ServedSandbox


@dataclass(frozen=True)
class ChildRun:
    """One finished CLI process. CPU and memory are the child's own (from wait4)."""

    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    exit_code: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


def run_child(command: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> ChildRun:
    """Run `command` and reap it with wait4, which reports that process's rusage alone."""
    out_path, err_path = cwd / "child.stdout", cwd / "child.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        watchdog = threading.Timer(timeout, process.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return ChildRun(
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        exit_code=process.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def reconciler(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args]


@dataclass(frozen=True)
class PlanRun:
    """One measured fleet plan against the served sandbox."""

    merchants: int
    latency_ms: int
    parallelism: int
    throttle: bool
    wall_seconds: float
    cli_cpu_seconds: float
    cli_peak_rss_mb: float
    sandbox_cpu_seconds: float
    exit_code: int
    requests: int
    requests_by_service: dict[str, int]
    errored: int
    errors: list[str]
    phases: dict[str, float] = field(default_factory=dict)  # load, read, output (the CLI's own)
    phase_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of the same phases

    @property
    def per_merchant_ms(self) -> float:
        return 1000 * self.wall_seconds / self.merchants

    @property
    def read_seconds(self) -> float | None:
        """Reading live state and diffing: from the first request to the last merchant planned."""
        return self.phases.get("read")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["per_merchant_ms"] = round(self.per_merchant_ms, 3)
        if self.read_seconds is not None:
            data["read_seconds"] = self.read_seconds
            data["read_per_merchant_ms"] = round(1000 * self.read_seconds / self.merchants, 3)
        data["requests_per_merchant"] = round(self.requests / self.merchants, 3)
        data["cli_cpu_ms_per_merchant"] = round(1000 * self.cli_cpu_seconds / self.merchants, 3)
        return data


# The CLI's phase timings (RECONCILER_LOG=warning,reconciler.timing=info), e.g.
# "INFO reconciler.timing: read merchants=1000 parallelism=64 seconds=2.345 cpu_seconds=1.702".
TIMING_LOG = "warning,reconciler.timing=info"
_PHASE = re.compile(r"^INFO reconciler\.timing: (\w+) (.*)$", re.MULTILINE)
_FIELD = re.compile(r"(?<![\w])(seconds|cpu_seconds)=([0-9.]+)")


def _phase_fields(stderr: str, field: str) -> dict[str, float]:
    found = {}
    for name, rest in _PHASE.findall(stderr):
        fields = dict(_FIELD.findall(rest))
        if field in fields:
            found[name] = float(fields[field])
    return found


def phases(stderr: str) -> dict[str, float]:
    """Wall seconds of each phase the CLI logged (load, read, output)."""
    return _phase_fields(stderr, "seconds")


def phase_cpu(stderr: str) -> dict[str, float]:
    """CPU seconds of each phase, from CLIs that log them."""
    return _phase_fields(stderr, "cpu_seconds")


def measure_plan(sandbox: ServedSandbox, merchants: Path, count: int, *, latency_ms: int,
                 parallelism: int, throttle: bool = False, timeout: float = 900) -> PlanRun:
    """Reseed, inject latency (and throttling), plan `merchants` once, and read the deltas."""
    sandbox.prepare(latency_ms=latency_ms, throttle=throttle, seed=7)
    before, cpu_before = sandbox.stats(), sandbox.cpu_seconds()
    command = reconciler("--merchants", str(merchants), "--target", sandbox.url, "plan",
                         "--format", "json", "--parallelism", str(parallelism))
    child = run_child(command, env={**sandbox.env, "RECONCILER_LOG": TIMING_LOG},
                      cwd=sandbox.work, timeout=timeout)
    after, cpu_after = sandbox.stats(), sandbox.cpu_seconds()
    document = _plan_document(child)
    failed = [m for m in document.get("merchants", []) if m.get("status") != "ok"]
    if not document:
        failed_note = [f"no plan document (exit {child.exit_code}): {child.stderr.strip()[-500:]}"]
    else:
        failed_note = [f"{m['merchant']}: {m.get('error')}" for m in failed[:5]]
    planned = len(document.get("merchants", []))
    return PlanRun(
        merchants=count,
        latency_ms=latency_ms,
        parallelism=parallelism,
        throttle=throttle,
        wall_seconds=child.wall_seconds,
        cli_cpu_seconds=child.cpu_seconds,
        cli_peak_rss_mb=child.peak_rss_mb,
        sandbox_cpu_seconds=cpu_after - cpu_before,
        exit_code=child.exit_code,
        requests=after["requests"] - before["requests"],
        requests_by_service=_service_deltas(before, after),
        errored=len(failed) + max(0, count - planned),
        errors=failed_note,
        phases=phases(child.stderr),
        phase_cpu=phase_cpu(child.stderr),
    )


def _plan_document(child: ChildRun) -> dict[str, Any]:
    try:
        document = json.loads(child.stdout)
    except json.JSONDecodeError:
        return {}
    return document if isinstance(document, dict) else {}


def _service_deltas(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    names = set(before.get("services", {})) | set(after.get("services", {}))
    return {
        name: after.get("services", {}).get(name, {}).get("requests", 0)
        - before.get("services", {}).get(name, {}).get("requests", 0)
        for name in sorted(names)
    }


@dataclass(frozen=True)
class ValidateRun:
    files: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    exit_code: int

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds_per_1000_files"] = round(1000 * self.wall_seconds / self.files, 3)
        return data


def measure_validate(merchants: Path, count: int, env: dict[str, str], cwd: Path) -> ValidateRun:
    child = run_child(reconciler("--merchants", str(merchants), "validate"),
                      env=env, cwd=cwd, timeout=900)
    return ValidateRun(count, child.wall_seconds, child.cpu_seconds, child.peak_rss_mb,
                       child.exit_code)
