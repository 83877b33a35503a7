"""`apply --canary N|SLUG...`: apply a few merchants, verify them, only then the rest.

Stage 1 writes the canary merchants and runs every verify check on them;
stage 2 (the rest of the run) starts only if every write landed and every
check passed. When a stage stops, the report names the stage, the merchants
and the reason, and the exit code follows the contract: writes landed and
something failed is partial (4), a failure before any write is an error (1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.commands.applyreport import Collected
from reconciler.commands.common import CommandError, Selection, read_with_progress, say
from reconciler.engine import exitcodes
from reconciler.engine.apply import MerchantReport
from reconciler.engine.plan import MerchantPlan
from reconciler.targets import Target


@dataclass(frozen=True)
class CanarySpec:
    count: int | None = None  # the first N merchants with work, ready ones first
    slugs: tuple[str, ...] = ()


def parse_canary(values: tuple[str, ...], selection: Selection) -> CanarySpec | None:
    """`--canary 3`, or `--canary SLUG` (repeatable); checked before anything is read."""
    if not values:
        return None
    if len(values) == 1 and values[0].isdigit():
        count = int(values[0])
        if count < 1:
            raise CommandError("--canary needs a number of at least 1, or merchant slugs")
        return CanarySpec(count=count)
    chosen = {m.slug for m in selection.chosen}
    unknown = [v for v in values if v not in chosen]
    if unknown:
        raise CommandError(f"--canary: {', '.join(unknown)} not among the merchants this run "
                           "applies (give a number, or slugs of selected merchants)")
    return CanarySpec(slugs=tuple(dict.fromkeys(values)))


def _code(reports: list[MerchantReport], applied_before: bool) -> int:
    applied = applied_before or any(r.count("applied") for r in reports)
    if any(r.failed for r in reports):
        return exitcodes.PARTIAL if applied else exitcodes.ERROR
    return exitcodes.OK


@dataclass(frozen=True)
class Stages:
    target: Target
    selection: Selection
    merchants_dir: Path
    write: Callable[[list[MerchantPlan]], list[MerchantReport]]
    parallelism: int
    collected: Collected

    def pick(self, spec: CanarySpec, runnable: list[MerchantPlan]) -> list[str]:
        if spec.slugs:
            return list(spec.slugs)
        # A merchant waiting on a manual action cannot pass verify yet: ready ones first.
        ordered = sorted(runnable, key=lambda p: (bool(p.manual_actions), p.slug))
        return [p.slug for p in ordered[: spec.count]]

    def run(self, spec: CanarySpec, runnable: list[MerchantPlan]) -> int:
        canary = self.pick(spec, runnable)
        first = [p for p in runnable if p.slug in canary]
        rest = [p for p in runnable if p.slug not in canary]
        say(f"Stage 1 of 2 (canary): {len(canary)} merchant(s): {', '.join(canary)}", err=True)
        reports = self.write(first) if first else []
        applied = any(r.count("applied") for r in reports)
        failed = [r.slug for r in reports if r.failed]
        if failed:
            return self._stop(f"writes failed for {', '.join(failed)}", rest,
                              _code(reports, applied))
        failing = self._verify(canary)
        if failing:
            code = exitcodes.PARTIAL if applied else exitcodes.ERROR
            return self._stop(f"verify failed for {', '.join(failing)}", rest, code)
        say(f"Stage 1 of 2 (canary) passed: every check passed on {', '.join(canary)}.", err=True)
        if not rest:
            say("Stage 2 of 2 (rest): nothing left to apply.", err=True)
            return exitcodes.OK
        say(f"Stage 2 of 2 (rest): {len(rest)} merchant(s).", err=True)
        return _code(self.write(rest), applied)

    def _verify(self, slugs: list[str]) -> list[str]:
        from reconciler.verify.report import render_text
        from reconciler.verify.runner import verify_fleet

        merchants = [m for m in self.selection.chosen if m.slug in slugs]
        reports = read_with_progress(self.target, Selection(self.selection.all, merchants),
                                     self.merchants_dir, verify_fleet, verb="verified",
                                     parallelism=self.parallelism)
        say(render_text(self.target.name, reports).partition("\n")[2])  # the target is said
        return [r.merchant for r in reports if r.failed]

    def _stop(self, reason: str, rest: list[MerchantPlan], code: int) -> int:
        self.collected.stopped = (f"Stage 1 of 2 (canary) stopped: {reason}; "
                                  f"{len(rest)} merchant(s) not applied")
        say(f"Stage 1 of 2 (canary) stopped: {reason}. Stage 2 did not run: "
            f"{len(rest)} merchant(s) not applied ({', '.join(p.slug for p in rest) or 'none'}). "
            "Fix the cause, then re-run apply.", err=True)
        return code
