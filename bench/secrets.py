"""`python -m bench.secrets`: resolving the secrets of a fleet whose every merchant has a SOPS file.

    python -m bench.secrets                  # 1,000 merchants, writes its section of docs/performance.md
    python -m bench.secrets --merchants 200 --no-write

Generates the fleet (one `secrets/<slug>.sops.yaml` per merchant with its
four values, plus the app's shared file, all encrypted to a fresh age key
by the real sops), then times what a command does before its first
request: decrypt every file (in process for these age-only files,
reconciler/sopsage.py) and resolve every reference (`check_credentials`).
Each run starts with nothing decrypted and nothing parsed; the median of
the runs is reported against the target (2 s for 1,000 merchants), with
the parallelism the product uses (the CPU count) and a few others, and,
for comparison, the same with every file sent to the sops binary
(`RECONCILER_SOPS_DECRYPT=binary`). `make bench` runs it after the fleet
benchmark.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- bench.secrets: begin -->", "<!-- bench.secrets: end -->"
TARGET_SECONDS = 2.0
TARGET_MERCHANTS = 1000


def generate(directory: Path, count: int, public: str) -> list[str]:
    """A fleet of `count` merchants whose secrets are all `sops:` references."""
    from bench.generate import write_fleet
    from tests.sopsfiles import encrypt, sopsify

    write_fleet(directory, count, ROOT / "merchants" / "profiles")
    files: list[tuple[Path, dict[str, Any]]] = []

    def collect(path: Path, document: dict[str, Any], _public: str) -> None:
        files.append((path, document))

    sopsify(directory, public, write=collect)  # gathered, then encrypted in parallel
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(lambda item: encrypt(item[0], item[1], public), files))
    return sorted(p.stem for p in directory.glob("*.yaml"))


def resolve_once(directory: Path, parallelism: int | None, key_env: dict[str, str]
                 ) -> tuple[float, int, int]:
    """(seconds, references, files) to decrypt and resolve everything, from nothing cached."""
    from reconciler import sops
    from reconciler.config import load_merchants
    from reconciler.secrets import resolve

    merchants = load_merchants(directory).merchants
    refs = [ref for m in merchants for ref in m.credentials.all().values()]
    files = {(p, s) for p, s in ((Path(r.root) / r.name, str(Path(r.root) / r.name))
                                 for r in refs if r.is_file)}
    sops.files.clear()
    sops.forget_parsed()  # a run starts with no file parsed and no identity read
    environ = {**os.environ, **key_env}
    started = time.perf_counter()
    sops.files.prefetch(files, environ, parallelism)
    for ref in refs:
        resolve(ref, sandbox=False, environ=environ)
    return time.perf_counter() - started, len(refs), len(files)


def measure(count: int, runs: int, parallelisms: list[int]) -> dict[str, Any]:
    from tests.sopsfiles import age_key

    key = age_key()
    with tempfile.TemporaryDirectory(prefix="bench-secrets-") as tmp:
        directory = Path(tmp) / "merchants"
        started = time.perf_counter()
        generate(directory, count, key.public)
        generated = time.perf_counter() - started
        results = {}
        for parallelism in parallelisms:
            times = []
            for _ in range(runs):
                seconds, references, files = resolve_once(directory, parallelism, key.env)
                times.append(seconds)
            results[parallelism] = {"median": statistics.median(times), "min": min(times),
                                    "max": max(times), "references": references, "files": files}
        binary = {**key.env, "RECONCILER_SOPS_DECRYPT": "binary"}
        times = [resolve_once(directory, os.cpu_count() or 1, binary)[0] for _ in range(runs)]
        forced = {"median": statistics.median(times), "min": min(times), "max": max(times)}
    return {"merchants": count, "runs": runs, "generated_seconds": generated,
            "cpus": os.cpu_count() or 1, "by_parallelism": results, "binary": forced}


def section(result: dict[str, Any]) -> str:
    from reconciler import sops

    cpus = result["cpus"]
    default = result["by_parallelism"][cpus]
    met = default["median"] <= TARGET_SECONDS * result["merchants"] / TARGET_MERCHANTS
    lines = [
        BEGIN,
        "## Resolving SOPS secrets",
        "",
        f"`python -m bench.secrets` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}): "
        f"{result['merchants']:,} merchants, one SOPS file each (four values) plus the app's "
        f"shared file, {default['references']:,} references in {default['files']:,} files, "
        f"encrypted to one age key. Timed: decrypting every file and resolving every "
        f"reference, from nothing parsed or decrypted; median of {result['runs']} runs on "
        f"{cpus} CPU(s). Files whose recipients are all age keys are decrypted in process "
        "(reconciler/sopsage.py: pyrage unwraps the data key, AES-GCM opens the values, the "
        "MAC is checked); any other file, or one that path declines, goes to the sops binary "
        f"(`{os.path.basename(sops.binary())} --disable-version-check decrypt`, one process "
        "per file), as the last row does for every file.",
        "",
        "| decryption | parallel | median | fastest | slowest |",
        "|---|---|---|---|---|",
    ]
    for parallelism, row in sorted(result["by_parallelism"].items()):
        mark = " (the product's default: the CPU count)" if parallelism == cpus else ""
        lines.append(f"| in process | {parallelism}{mark} | {row['median']:.2f} s | "
                     f"{row['min']:.2f} s | {row['max']:.2f} s |")
    row = result["binary"]
    lines.append(f"| sops binary (`RECONCILER_SOPS_DECRYPT=binary`) | {cpus} processes | "
                 f"{row['median']:.2f} s | {row['min']:.2f} s | {row['max']:.2f} s |")
    verdict = "met" if met else "NOT met"
    lines += [
        "",
        f"Target: at most {TARGET_SECONDS:.0f} s for {TARGET_MERCHANTS:,} merchants: **{verdict}** "
        f"({default['median']:.2f} s, {1000 * default['median'] / result['merchants']:.1f} ms "
        "per merchant). A sops process costs about 22 ms of Go start-up whatever it does, so "
        "the binary's wall time is about files x 22 ms / CPUs; in process, a file costs its "
        "YAML parse, one X25519 unwrap and a few AES-GCM opens.",
        END,
    ]
    return "\n".join(lines)


def keep(text: str, doc: Path = DOC) -> str:
    """`text` (a freshly rendered report) with the secrets section of `doc` kept in it."""
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    found = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), old, re.S)
    return place(text, found.group(0)) if found else text


def place(text: str, block: str) -> str:
    """`text` with `block` replacing its secrets section, or before "## Reading the numbers"."""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    anchor = "## Reading the numbers"
    if anchor in text:
        return text.replace(anchor, block + "\n\n" + anchor, 1)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.secrets", description=__doc__.split("\n")[0])
    parser.add_argument("--merchants", type=int, default=TARGET_MERCHANTS)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallelism", default="", help="comma-separated; default 1, CPUs, 2xCPUs")
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args(argv)
    cpus = os.cpu_count() or 1
    parallelisms = sorted({int(v) for v in args.parallelism.split(",") if v} or {1, cpus, 2 * cpus})
    parallelisms = sorted(set(parallelisms) | {cpus})
    result = measure(args.merchants, args.runs, parallelisms)
    block = section(result)
    print(block)
    if not args.no_write:
        DOC.write_text(place(DOC.read_text(encoding="utf-8"), block), encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
