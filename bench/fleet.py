"""`make bench`: plan generated fleets against a served sandbox and write docs/performance.md.

    python -m bench.fleet                 # 100, 1,000 and 5,000 merchants at 20 and 50 ms,
                                          # 10,000 at 50 ms and parallelism 64 only
    python -m bench.fleet --quick         # 100 and 1,000 only
    python -m bench.fleet --sizes 2000 --latencies 50
    python -m bench.fleet --report bench/out/fleet-latest.json   # re-render only

For each fleet size: generate the merchant files, time offline `validate`,
serve the sandbox, then for each latency plan a sample sequentially and the
whole fleet at the default parallelism and at 64. A fleet of 10,000 or more
is planned once, at 50 ms and parallelism 64 only (the configuration its
targets judge; the others would add minutes and tell what 5,000 tells). One more plan of the
1,000-merchant fleet runs with the sandbox throttling. Last, the engine's
own cost without a network (load, validate, diff, render) at up to 10,000
merchants (`bench/engine.py`).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import analysis, backend, machine, report, review, secrets
from bench.engine import measure_engine
from bench.generate import sample_of, write_fleet
from bench.measure import PlanRun, measure_plan, measure_validate
from bench.sandbox import ServedSandbox, clean_env

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "merchants" / "profiles"
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "performance.md"
FULL_SIZES = (100, 1000, 5000, analysis.LARGE_FLEET)
QUICK_SIZES = (100, 1000)
ENGINE_SIZES = (1000, 5000, 10000)
QUICK_ENGINE_SIZES = (1000, 5000)
THROTTLE_SIZE = 1000
REPEAT_UP_TO = 1000  # plans of larger fleets run once: each takes a while
THROTTLE_LATENCY_MS = 20


def _numbers(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v.replace("_", "")) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("expected positive integers")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fleets of 100 and 1,000 only")
    parser.add_argument("--sizes", type=_numbers, help="fleet sizes, e.g. 100,1000,5000")
    parser.add_argument("--latencies", type=_numbers, default=(20, 50), help="ms, e.g. 20,50")
    parser.add_argument("--sample", type=int, default=50, help="merchants planned at parallelism 1")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each plan of up to 1,000 merchants (median reported); "
                             "larger fleets run once")
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds one plan may take before it is stopped and reported")
    parser.add_argument("--no-throttle", action="store_true", help="skip the throttled run")
    parser.add_argument("--engine-sizes", type=_numbers, default=None,
                        help="fleet sizes for the offline engine measurement (default 1000,5000,10000)")
    parser.add_argument("--out", type=Path, default=DOC, help="the Markdown report to write")
    parser.add_argument("--work", type=Path, default=None,
                        help="keep generated fleets and logs here (default: a temporary directory)")
    parser.add_argument("--report", type=Path, default=None, metavar="JSON",
                        help="only re-render the report from a saved run")
    parser.add_argument("--rerun-throttle", type=Path, default=None, metavar="JSON",
                        help="re-measure only the throttled run of a saved run, then re-render")
    return parser.parse_args(argv)


def say(text: str) -> None:
    print(text, flush=True)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    sizes = args.sizes or (QUICK_SIZES if args.quick else FULL_SIZES)
    throttle_size = None if args.no_throttle else (
        THROTTLE_SIZE if THROTTLE_SIZE in sizes else max(sizes))
    started = time.monotonic()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick and not args.sizes else "full" if not args.sizes else "custom",
        "machine": machine.describe(),
        "sizes": list(sizes),
        "latencies": list(args.latencies),
        "sample": args.sample,
        "fleets": [],
        "throttle": None,
    }
    for size in sizes:
        fleet: dict[str, Any] = {"merchants": size, "runs": []}
        results["fleets"].append(fleet)
        bench_fleet(results, fleet, args, work / f"fleet-{size}", size == throttle_size)
        results["bench_seconds"] = time.monotonic() - started
    engine_sizes = args.engine_sizes or (QUICK_ENGINE_SIZES if args.quick else ENGINE_SIZES)
    results["engine"] = []
    for size in engine_sizes:
        measured = measure_engine(size, work / "engine")
        results["engine"].append(measured)
        say(f"[engine {size} merchants] load {measured['load_seconds']:.2f} s, diff "
            f"{measured['diff_all_seconds']:.2f} s, document {measured['document_seconds']:.2f} s, "
            f"peak RSS {measured['peak_rss_mb']:.0f} MB")
        checkpoint(results)
    results["bench_seconds"] = time.monotonic() - started
    results["load_average_end"] = machine.load_average()
    results["probe_ms_end"] = machine.speed_probe_ms()
    return results


def checkpoint(results: dict[str, Any]) -> None:
    """Save what is measured so far, so an interrupted run still leaves its numbers."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fleet-partial.json").write_text(json.dumps(results, indent=2) + "\n")


def bench_fleet(results: dict[str, Any], fleet: dict[str, Any], args: argparse.Namespace,
                work: Path, with_throttle: bool) -> None:
    size = fleet["merchants"]
    merchants = write_fleet(work / "merchants", size, PROFILES)
    sample = sample_of(merchants, work / "sample", min(args.sample, size))
    say(f"[{size} merchants] generated in {merchants}")
    validate = measure_validate(merchants, size, clean_env(work / ".reconciler"), work)
    say(f"[{size} merchants] validate {validate.wall_seconds:.2f} s (exit {validate.exit_code})")
    if validate.exit_code != 0:
        raise SystemExit(f"the generated fleet does not validate; see `reconciler --merchants "
                         f"{merchants} validate`")
    fleet["validate"] = validate.to_json()
    with ServedSandbox(merchants, work / "sandbox") as sandbox:
        say(f"[{size} merchants] sandbox at {sandbox.url} ready in {sandbox.startup_seconds:.1f} s")
        fleet["sandbox_startup_seconds"] = sandbox.startup_seconds
        for latency, plans in _plans(args, size, merchants, sample):
            for directory, count, parallelism in plans:
                for _ in range(max(1, args.repeat) if count <= REPEAT_UP_TO else 1):
                    measured = measure_plan(sandbox, directory, count, latency_ms=latency,
                                            parallelism=parallelism, timeout=args.timeout)
                    fleet["runs"].append(measured.to_json())
                    say(_line(measured))
                    checkpoint(results)
        if with_throttle:
            measured = measure_plan(sandbox, merchants, size, latency_ms=THROTTLE_LATENCY_MS,
                                    parallelism=analysis.DEFAULT_PARALLELISM, throttle=True,
                                    timeout=args.timeout)
            results["throttle"] = measured.to_json()
            say(_line(measured))
            checkpoint(results)


def _plans(args: argparse.Namespace, size: int, merchants: Path, sample: Path
           ) -> list[tuple[int, list[tuple[Path, int, int]]]]:
    """(latency, [(directory, merchants, parallelism)]) to plan for one fleet size."""
    if size >= analysis.LARGE_FLEET:
        latencies = [v for v in args.latencies if v == analysis.TARGET_LATENCY_MS]
        return [(latency, [(merchants, size, analysis.WIDE_PARALLELISM)])
                for latency in latencies or args.latencies[-1:]]
    return [(latency, [(sample, min(args.sample, size), 1),
                       (merchants, size, analysis.DEFAULT_PARALLELISM),
                       (merchants, size, analysis.WIDE_PARALLELISM)])
            for latency in args.latencies]


def rerun_throttle(results: dict[str, Any], args: argparse.Namespace, work: Path) -> None:
    """Measure the throttled run again (e.g. after a retry change), keeping the other numbers."""
    size = THROTTLE_SIZE
    merchants = write_fleet(work / "merchants", size, PROFILES)
    with ServedSandbox(merchants, work / "sandbox") as sandbox:
        measured = measure_plan(sandbox, merchants, size, latency_ms=THROTTLE_LATENCY_MS,
                                parallelism=analysis.DEFAULT_PARALLELISM, throttle=True,
                                timeout=args.timeout)
    results["throttle"] = measured.to_json()
    results["throttle"]["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    say(_line(measured))


def _line(run: PlanRun) -> str:
    data = run.to_json()
    throttle = " throttled" if run.throttle else ""
    return (f"[{run.merchants} merchants] {run.latency_ms} ms{throttle} p={run.parallelism}: "
            f"{run.wall_seconds:.2f} s, {data['requests_per_merchant']:.2f} req/merchant, "
            f"CLI CPU {data['cli_cpu_ms_per_merchant']:.2f} ms/merchant, "
            f"RSS {run.cli_peak_rss_mb:.0f} MB, sandbox CPU {run.sandbox_cpu_seconds:.1f} s, "
            f"exit {run.exit_code}, errored {run.errored}")


def save(results: dict[str, Any]) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT / f"fleet-{stamp}.json"
    text = json.dumps(results, indent=2) + "\n"
    path.write_text(text)
    (OUT / "fleet-latest.json").write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        results = json.loads(args.report.read_text())
    elif args.rerun_throttle:
        results = json.loads(args.rerun_throttle.read_text())
        work = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
        try:
            rerun_throttle(results, args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    else:
        if not PROFILES.is_dir() or not any(PROFILES.glob("*.yaml")):
            say(f"no profiles in {PROFILES}: the fleet extends merchants/profiles/tiktok-loop.yaml")
            return 1
        if args.work:
            results = run(args, args.work)
        else:
            work = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
            try:
                results = run(args, work)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        say(f"raw numbers: {save(results)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # The SOPS, backend and review sections come from `python -m bench.secrets`, `bench.backend`
    # and `bench.review` (run after this by `make bench`); a rewrite keeps their last numbers.
    text = review.keep(secrets.keep(report.render(results), args.out), args.out)
    args.out.write_text(backend.keep(text, args.out))
    say(f"report: {args.out}")
    for target in analysis.targets(results):
        say(f"  {report.STATUS[target.met]:>14}  {target.name}: {target.measured}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
