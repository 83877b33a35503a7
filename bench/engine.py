"""Engine cost without a network: load, validate, diff and render N merchants in one process.

    python -m bench.engine --size 10000          # prints one JSON line

Each size runs in a fresh interpreter (`measure_engine` starts one), so one
size's caches and garbage do not flatter or burden the next. The stages and
what they measure, in CPU time of this process:

- load: reading, parsing, merging the profile, rendering templates,
  validating (schema and every rule) all N files: `load_merchants`;
- diff: each merchant against an empty live state (every setting is a
  change: the most work a diff can do), then against the state those changes
  produce (nothing left to change: the converged case);
- document: the JSON plan document (sorted, summarized, checksummed) and its
  printed text.

Linear cost shows as a flat cost per merchant across sizes.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROFILES = ROOT / "merchants" / "profiles"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_stages(merchants_dir: Path) -> dict[str, Any]:
    from reconciler.config import load_merchants
    from reconciler.engine.document import build_document
    from reconciler.engine.plan import plan_merchant_from_live
    from reconciler.output.jsonout import pretty

    started = _cpu()
    loaded = load_merchants(merchants_dir)
    load = _cpu() - started
    if loaded.problems:
        raise SystemExit(f"the generated fleet does not validate: {loaded.problems[0].format()}")
    merchants = loaded.merchants

    started = _cpu()
    plans = [plan_merchant_from_live(m, {}, {}) for m in merchants]
    diff_all = _cpu() - started
    live = [{c.address: c.after for c in plan.changes} for plan in plans]
    started = _cpu()
    converged = [plan_merchant_from_live(m, state, {}) for m, state in zip(merchants, live, strict=True)]
    diff_none = _cpu() - started

    started = _cpu()
    text = pretty(build_document("bench", [plan.to_json() for plan in plans]))
    document = _cpu() - started
    return {
        "merchants": len(merchants),
        "load_seconds": load,
        "diff_all_seconds": diff_all,
        "diff_converged_seconds": diff_none,
        "document_seconds": document,
        "changes": sum(len(p.changes) for p in plans),
        "changes_left_when_converged": sum(len(p.changes) for p in converged),
        "document_bytes": len(text.encode()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_engine(size: int, work: Path) -> dict[str, Any]:
    """Generate `size` merchant files under `work` and measure them in a fresh interpreter."""
    from bench.generate import write_fleet

    merchants = write_fleet(work / f"engine-{size}", size, PROFILES)
    started = time.monotonic()
    output = subprocess.run(
        [sys.executable, "-m", "bench.engine", "--merchants", str(merchants)],
        capture_output=True, text=True, check=True, cwd=ROOT, timeout=1800,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["wall_seconds"] = time.monotonic() - started
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine", description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--merchants", type=Path, help="an existing fleet directory")
    group.add_argument("--size", type=int, help="generate a fleet of this many merchants")
    args = parser.parse_args(argv)
    if args.merchants:
        print(json.dumps(run_stages(args.merchants)))
    else:
        with tempfile.TemporaryDirectory(prefix="reconciler-engine-") as work:
            print(json.dumps(measure_engine(args.size, Path(work))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
