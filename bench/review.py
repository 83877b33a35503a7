"""The pull-request review of a profile edit across a fleet: size and render time of the comment.

    python -m bench.review                  # 5,000 merchants (part of `make bench`)
    python -m bench.review --size 1000 --no-doc

Generates a fleet (bench/generate.py), applies it to the embedded sandbox so
live state matches, edits the profile's return URL template, plans the fleet
to JSON, then renders the saved plan as the pull-request comment with
`reconciler show --format markdown` (a whole CLI process) and in process.
Writes its section of docs/performance.md between its own markers, after
`python -m bench.fleet` has rewritten the rest.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.generate import PROFILE, write_fleet
from bench.sandbox import clean_env

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
OUT = ROOT / "bench" / "out"
BEGIN, END = "<!-- bench.review -->", "<!-- /bench.review -->"
LIMIT = 65_536
RENDER_TARGET_S = 2.0
OLD, NEW = 'zip=[TTS_ZIP_CODE]"', 'zip=[TTS_ZIP_CODE]&src=tts"'


def _cli(work: Path, fleet: Path, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    command = [sys.executable, "-m", "reconciler", "--merchants", str(fleet), *args]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=work,
                          env=clean_env(work / ".reconciler"), timeout=3600, check=False)
    return time.perf_counter() - started, done


def measure(size: int, work: Path) -> dict[str, Any]:
    from reconciler.output.markdown import render_markdown

    fleet = write_fleet(work / "fleet", size, ROOT / "merchants" / "profiles")
    apply_s, applied = _cli(work, fleet, "apply", "--auto-approve", "--allow-mass-change",
                             "--parallelism", "50")  # every merchant changes
    if applied.returncode != 0:
        raise SystemExit(f"apply failed ({applied.returncode}): {applied.stderr[-2000:]}")
    profile = fleet / "profiles" / f"{PROFILE}.yaml"
    profile.write_text(profile.read_text().replace(OLD, NEW))
    plan = work / "plan.json"
    plan_s, planned = _cli(work, fleet, "plan", "--out", str(plan), "--format", "json",
                           "--commit", "bench", "--parallelism", "50")
    if planned.returncode != 0:
        raise SystemExit(f"plan failed ({planned.returncode}): {planned.stderr[-2000:]}")
    show_s, shown = _cli(work, fleet, "show", str(plan), "--format", "markdown")
    markdown = shown.stdout
    document = json.loads(plan.read_text())
    started = time.perf_counter()
    render_markdown(document)
    render_s = time.perf_counter() - started
    # the worst case: a plan saved without groups, where every merchant's own values differ
    ungrouped = {k: v for k, v in document.items() if k != "groups"}
    started = time.perf_counter()
    worst = render_markdown(ungrouped)
    worst_s = time.perf_counter() - started
    groups = document["groups"]
    named = [g for g in groups if _names_group(markdown, g)]
    listed = len(set(re.findall(r"fleet-\d{5}", markdown)))
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "merchants": size,
        "changed": document["summary"]["with_changes"],
        "groups": [{"count": g["count"], "changes": len(g["changes"]),
                    "manual_actions": len(g["manual_actions"])} for g in groups],
        "groups_named": len(named),
        "merchants_named": listed,
        "characters": len(markdown),
        "plan_json_bytes": plan.stat().st_size,
        "apply_s": round(apply_s, 2),
        "plan_s": round(plan_s, 2),
        "show_markdown_s": round(show_s, 3),
        "render_in_process_s": round(render_s, 5),
        "ungrouped_render_s": round(worst_s, 4),
        "ungrouped_characters": len(worst),
    }


def _names_group(markdown: str, group: dict[str, Any]) -> bool:
    who = group["merchants"][0] if group["count"] == 1 else f"{group['count']:,} merchants"
    return f"<summary>{who}:" in markdown or f"- {who}:" in markdown


def section(r: dict[str, Any]) -> str:
    ok = (r["characters"] <= LIMIT and r["groups_named"] == len(r["groups"])
          and r["show_markdown_s"] < RENDER_TARGET_S)
    sets = "; ".join(f"{g['count']:,} merchants: {g['changes']} change(s), "
                     f"{g['manual_actions']} manual action(s)" for g in r["groups"])
    return "\n".join([
        BEGIN,
        "## Pull-request review of a profile edit",
        "",
        f"Measured {r['when']} by `python -m bench.review`: {r['merchants']:,} generated merchants "
        "applied to the embedded sandbox, then the profile's return URL template edited, planned "
        "to JSON and rendered as the pull-request comment by `reconciler show --format markdown`.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| merchants with changes | {r['changed']:,} of {r['merchants']:,} | |",
        f"| change sets | {len(r['groups'])} ({sets}) | |",
        f"| change sets named with their count | {r['groups_named']} of {len(r['groups'])} | all |",
        f"| merchants named in the comment | {r['merchants_named']:,} (the rest counted, "
        "pointing at the artifact) | |",
        f"| comment size | {r['characters']:,} characters | ≤ {LIMIT:,} |",
        f"| `reconciler show --format markdown` (whole process) | {r['show_markdown_s']:.2f} s "
        f"| < {RENDER_TARGET_S:.0f} s |",
        f"| rendering alone, in process | {r['render_in_process_s'] * 1000:.1f} ms | |",
        f"| the same plan without its groups (every merchant its own set), grouped and "
        f"rendered in process | {r['ungrouped_render_s'] * 1000:.0f} ms, "
        f"{r['ungrouped_characters']:,} characters | < {RENDER_TARGET_S:.0f} s, ≤ {LIMIT:,} |",
        f"| JSON plan | {r['plan_json_bytes'] / 1e6:.1f} MB | |",
        f"| `plan --out` (embedded sandbox) | {r['plan_s']:.1f} s | |",
        f"| `apply` beforehand (embedded sandbox) | {r['apply_s']:.1f} s | |",
        "",
        f"Target {'met' if ok else 'NOT met'}.",
        END,
    ])


def place(text: str, block: str) -> str:
    """`text` with `block` as its review section: in place, else before "## Reading the numbers"."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + block + rest.split(END, 1)[1]
    anchor = "## Reading the numbers"
    if anchor in text:
        return text.replace(anchor, block + "\n\n" + anchor, 1)
    return text.rstrip("\n") + "\n\n" + block + "\n"


def keep(text: str, doc: Path = DOC) -> str:
    """`text` (a freshly rendered report) with the review section of `doc` kept in it."""
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    if BEGIN not in old or END not in old:
        return text
    return place(text, BEGIN + old.split(BEGIN, 1)[1].split(END, 1)[0] + END)


def write_section(text: str, doc: Path = DOC) -> None:
    doc.write_text(place(doc.read_text() if doc.exists() else "# Performance\n", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.review", description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-review-") as tmp:
        results = measure(args.size, Path(tmp))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "review-latest.json").write_text(json.dumps(results, indent=2) + "\n")
    text = section(results)
    print(text)
    if not args.no_doc:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
