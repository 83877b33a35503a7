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
    }


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
