"""Reading a large fleet from several processes.

One Python process spends a few hundred microseconds of CPU per merchant
and request on building, signing, sending, decoding and diffing; against
fast services, a fleet of thousands of merchants keeps one core busy before
the network is the limit (docs/performance.md). Read-only
runs (plan, verify) can therefore split the fleet across worker processes,
each with its own event loop and connection pools, and put the results back
in order. Nothing else changes:

- `--parallelism` stays the number of merchants in flight in total; each
  worker gets its share.
- Merchants that share a rate-limit bucket or a run cache entry (the same
  TikTok token, Pipe17 or Loop key, or Shopify shop) go to the same worker,
  so every client-side limit is still enforced by exactly one process.
- Workers are forked after every credential was resolved and checked, and
  before any event loop or connection exists, so each starts clean and knows
  every secret the redactor must hide. They inherit the parent's decrypted
  SOPS documents in memory the same way: a worker decrypts nothing itself,
  and no value crosses a pipe, a file, argv or the environment.
- The embedded sandbox is one in-process emulator; it always runs in one
  process.
- Workers die with their parent: killed or crashed, the parent takes its
  workers along (Linux: PR_SET_PDEATHSIG; elsewhere a thread watching the
  parent), so no orphan keeps reading the fleet.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.engine.runtime import load_client_stack, read_fleet, run
from reconciler.model import DesiredState
from reconciler.targets import Target

if TYPE_CHECKING:  # the HTTP stack loads only when a run reads
    from reconciler.http.notices import Notices

R = TypeVar("R")
# Below this many merchants per worker, forking costs more than it saves.
MERCHANTS_PER_WORKER = 100


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


AUTO = "auto"


def worker_count(requested: int | str | None, merchants: int, target: Target) -> int:
    """Processes for a read of `merchants`: one unless asked; `auto` is one per CPU for a
    large fleet (at least MERCHANTS_PER_WORKER merchants each)."""
    if target.embedded or merchants < 2 or requested is None:
        return 1
    if requested == AUTO:
        return max(1, min(available_cpus(), merchants // MERCHANTS_PER_WORKER))
    return max(1, min(int(requested), merchants))


def partition(groups: Sequence[Sequence[int]], parts: int) -> list[list[int]]:
    """Indices split into at most `parts` lists of similar size, never splitting a group.

    Largest groups first, each to the currently smallest part; each part is
    returned in ascending order so merchants are read in file order.
    """
    buckets: list[list[int]] = [[] for _ in range(max(1, parts))]
    for group in sorted(groups, key=len, reverse=True):
        min(buckets, key=len).extend(group)
    return [sorted(b) for b in buckets if b]


def shares(total: int, parts: int) -> list[int]:
    """`total` merchants in flight split over `parts` workers (each at least one)."""
    base, extra = divmod(total, parts)
    return [max(1, base + (1 if i < extra else 0)) for i in range(parts)]


def affinity_groups(merchants: Sequence[DesiredState], keys: Callable[[DesiredState], set[str]]
                    ) -> list[list[int]]:
    """Indices of `merchants` grouped so that merchants sharing any key are together."""
    parent = list(range(len(merchants)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for index, merchant in enumerate(merchants):
        for key in keys(merchant):
            if key in owner:
                parent[root(index)] = root(owner[key])
            else:
                owner[key] = index
    groups: dict[int, list[int]] = {}
    for index in range(len(merchants)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


@dataclass
class _Job:
    """What every worker inherits through fork (only part numbers cross the pipe)."""

    target: Target
    merchants: list[DesiredState]
    chosen: list[DesiredState]
    merchants_dir: Path
    fleet: Callable[..., Awaitable[list[Any]]]
    parts: list[list[int]]
    parallelism: list[int]
    done: Any  # multiprocessing.Value("i"): merchants finished, for the parent's progress line


_job: _Job | None = None
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Worker initializer: end this process when `parent` ends, however it ends."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            if os.getppid() != parent:  # the parent died before the request took effect
                os._exit(1)
            return

    def watch() -> None:  # pragma: no cover - not Linux
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()  # pragma: no cover - not Linux


def _read_part(part: int) -> tuple[list[Any], list[Any]]:
    """One worker's results, and the services' warnings it saw."""
    from reconciler.http.notices import Notices

    job = _job
    assert job is not None, "worker started without a job"

    def tick(_result: object) -> None:
        with job.done.get_lock():
            job.done.value += 1

    chosen = [job.chosen[i] for i in job.parts[part]]
    notices = Notices()
    results = run(read_fleet(job.target, job.merchants, chosen, job.merchants_dir, job.fleet,
                             parallelism=job.parallelism[part], on_done=tick, notices=notices))
    return results, list(notices)


def read_fleet_in_workers(target: Target, merchants: list[DesiredState], chosen: list[DesiredState],
                          merchants_dir: Path, fleet: Callable[..., Awaitable[list[R]]], *,
                          parallelism: int, workers: int,
                          keys: Callable[[DesiredState], set[str]],
                          on_progress: Callable[[int], None] | None = None,
                          notices: Any = None) -> list[R]:
    """`read_fleet` over `chosen` split across `workers` forked processes; results in order."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    load_client_stack(target)  # imported once here, not once per worker
    global _job
    parts = partition(affinity_groups(chosen, keys), workers)
    context = multiprocessing.get_context("fork")
    done = context.Value("i", 0)
    _job = _Job(target, merchants, chosen, merchants_dir, fleet, parts,
                shares(parallelism, len(parts)), done)
    stop = threading.Event()
    watcher = None
    if on_progress is not None:
        def watch() -> None:
            while not stop.wait(0.2):
                on_progress(done.value)
        watcher = threading.Thread(target=watch, daemon=True)
    try:
        with ProcessPoolExecutor(max_workers=len(parts), mp_context=context,
                                 initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            futures = [pool.submit(_read_part, part) for part in range(len(parts))]
            if watcher is not None:
                watcher.start()
            results: list[Any] = [None] * len(chosen)
            for part, future in zip(parts, futures, strict=True):
                part_results, part_notices = future.result()
                for index, result in zip(part, part_results, strict=True):
                    results[index] = result
                if notices is not None:
                    notices.extend(part_notices)
    finally:
        stop.set()
        if watcher is not None and watcher.is_alive():
            watcher.join()
        _job = None
    if on_progress is not None:
        on_progress(done.value)
    return results


def read_fleet_blocking(target: Target, merchants: list[DesiredState], chosen: list[DesiredState],
                        merchants_dir: Path, fleet: Callable[..., Awaitable[list[R]]], *,
                        parallelism: int, workers: int | str | None,
                        on_done: Callable[[R], None] | None = None,
                        on_progress: Callable[[int], None] | None = None,
                        notices: Notices | None = None) -> list[R]:
    """`read_fleet` from this process, or split across worker processes for a large fleet.

    `workers`: None for one process, a number, or "auto" (see `worker_count`).
    `on_done` sees each result in a single process;
    with workers, `on_progress` is told how many merchants are done instead.
    `notices` collects the services' warnings from every process.
    """
    count = worker_count(workers, len(chosen), target)
    if count <= 1:
        return run(read_fleet(target, merchants, chosen, merchants_dir, fleet,
                              parallelism=parallelism, on_done=on_done, notices=notices))
    from reconciler.engine.pool import shared_keys

    def keys(merchant: DesiredState) -> set[str]:
        return {f"{kind}:{key}" for kind, key in shared_keys(target, merchant).items()}

    return read_fleet_in_workers(target, merchants, chosen, merchants_dir, fleet,
                                 parallelism=parallelism, workers=count, keys=keys,
                                 on_progress=on_progress, notices=notices)
