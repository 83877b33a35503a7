"""The machine a benchmark ran on, for the report."""

from __future__ import annotations

import asyncio
import os
import platform
import resource
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def describe() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_average": load_average(),
        "wakeup_cpu_us": wakeup_cpu_us(),
        "probe_ms": speed_probe_ms(),
    }


def speed_probe_ms() -> float:
    """CPU milliseconds for a fixed piece of pure-Python work (JSON round trips).

    Taken at the start and at the end of a run: on a shared or virtual
    machine the same code runs at different speeds at different times, and
    two different probes say the run's numbers moved with the machine.
    """
    import json

    document = {"merchants": [{"merchant": f"m-{i}", "changes": [{"address": "a.b.c", "before": None,
                                                                  "after": i}] * 5}
                              for i in range(200)]}
    def once() -> float:
        started = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(40):
            json.loads(json.dumps(document, indent=2))
        ended = resource.getrusage(resource.RUSAGE_SELF)
        return (ended.ru_utime + ended.ru_stime) - (started.ru_utime + started.ru_stime)

    return round(1000 * min(once() for _ in range(3)), 1)  # the least disturbed of three


def wakeup_cpu_us(wakeups: int = 1000, sleep_seconds: float = 0.002) -> float:
    """CPU time one event-loop wake-up from idle costs here, in microseconds.

    The loop (uvloop, as the CLI runs) sleeps and wakes `wakeups` times with
    nothing else to do; what that costs is the floor under every answer a
    waiting process receives.
    """
    import uvloop

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    async def sleep_and_wake() -> float:
        started = cpu()
        for _ in range(wakeups):
            await asyncio.sleep(sleep_seconds)
        return cpu() - started

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return round(1e6 * runner.run(sleep_and_wake()) / wakeups, 1)


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine skews every time measured."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None
