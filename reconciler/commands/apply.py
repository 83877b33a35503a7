"""`reconciler apply`: lock, re-read, check the reviewed plan, confirm, write, report."""

from __future__ import annotations

import contextlib
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.backend import Backend, open_backend
from reconciler.backend.audit import AuditContext
from reconciler.backend.identity import Identity
from reconciler.commands.applyreport import Collected, report_document, write_report
from reconciler.commands.applyreport import render_markdown as render_report_markdown
from reconciler.commands.canary import CanarySpec, Stages, parse_canary
from reconciler.commands.common import (
    CommandError,
    Selection,
    check_credentials,
    require_state_dir,
    say,
    show_notices,
    stdout_is_tty,
)
from reconciler.commands.plan import plan_document, read_plans, with_verdict
from reconciler.commands.progress import WriteProgress
from reconciler.commands.reviewed import ReviewedPart, read_reviewed_plan, select_part
from reconciler.commands.shared_credentials import refuse_shared_credentials
from reconciler.config.repo import MassChange, config_path, load_repo_config
from reconciler.engine import exitcodes
from reconciler.engine.apply import MerchantReport, apply_fleet
from reconciler.engine.journal import new_run_id
from reconciler.engine.lock import LockHeld
from reconciler.engine.plan import MerchantPlan
from reconciler.engine.runtime import client_pool, run
from reconciler.output.text import render_plan, render_report, use_color
from reconciler.targets import Target


def write_text(path: Path, text: str) -> None:
    from reconciler.output.files import OutputFileError, write_atomically

    try:
        write_atomically(path, text)
    except OutputFileError as exc:
        raise CommandError(f"--report {exc}") from None


def _signals_raise() -> None:
    """SIGTERM unwinds like Ctrl-C, so locks and the journal are closed on the way out."""
    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with contextlib.suppress(ValueError):  # not the main thread (tests)
        signal.signal(signal.SIGTERM, handler)


def _confirm(auto_approve: bool) -> bool:
    if auto_approve:
        return True
    if not sys.stdin.isatty():
        raise CommandError(
            "refusing to apply: no terminal to confirm on; review the plan and re-run with --auto-approve"
        )
    answer = click.prompt("Apply these changes? Only 'yes' is accepted", default="", show_default=False)
    return answer.strip() == "yes"


def _sent(report: MerchantReport) -> int:
    """Writes sent for the merchant: applied, or failed once sent (it may have landed when
    the answer was lost), so exit 1 never hides a write."""
    return report.count("applied") + report.count("failed")


def report_code(report: MerchantReport) -> int:
    if report.failed:
        return exitcodes.PARTIAL if _sent(report) else exitcodes.ERROR
    return exitcodes.OK


@dataclass(frozen=True)
class ApplyOptions:
    auto_approve: bool = False
    allow_destructive: bool = False
    allow_mass_change: bool = False
    parallelism: int = 10
    lock_wait: float = 2.0
    canary: tuple[str, ...] = ()  # a count, or slugs: applied and verified first
    backend_spec: str | None = None
    report: Path | None = None  # also write the outcome here (JSON, and markdown beside it)


@dataclass(frozen=True)
class Limits:
    mass_change: MassChange
    canary: CanarySpec | None
    collected: Collected  # what the run did, for --report


def run_apply(target: Target, selection: Selection, merchants_dir: Path, *, plan_file: Path | None,
              options: ApplyOptions) -> int:
    reviewed: ReviewedPart | None = None
    if plan_file is not None:
        selection, reviewed = select_part(plan_file, read_reviewed_plan(plan_file, target),
                                          selection)
    limits = Limits(load_repo_config(merchants_dir).mass_change,
                    parse_canary(options.canary, selection), Collected())
    require_state_dir(target, writes=True)
    check_credentials(target, selection.chosen)
    refuse_shared_credentials(target, selection)
    _signals_raise()
    backend = open_backend(options.backend_spec, target.state_dir)
    wait = options.lock_wait
    try:
        # Locks first, then live state: the stale-plan check and the writes both happen
        # while this run holds every merchant it reads, so nobody can write in between.
        refused = backend.acquire([m.slug for m in selection.chosen], wait,
                                  lambda holders, count: _say_waiting(holders, count, wait))
        code = _locked_apply(target, backend, selection, merchants_dir, reviewed, refused,
                             options, limits)
    finally:
        backend.close()
    if options.report is not None:
        document = report_document(target.name, code, limits.collected)
        write_report(options.report, document)
        write_text(options.report.with_suffix(".md"), render_report_markdown(document))
    return code


def _say_waiting(holders: dict[str, str], count: int, wait: float) -> None:
    slug, holder = next(iter(holders.items()))
    others = f" and {count - 1} other merchant(s)" if count > 1 else ""
    say(f"waiting up to {wait:g} s for {slug}{others}: locked by {holder}", err=True)


def _locked_apply(target: Target, backend: Backend, selection: Selection, merchants_dir: Path,
                  reviewed: ReviewedPart | None, refused: dict[str, str], options: ApplyOptions,
                  limits: Limits) -> int:
    codes: list[int] = []
    for slug, holder in sorted(refused.items()):
        say(f"{slug}: refused: {LockHeld(slug, holder)}", err=True)
        codes.append(exitcodes.REFUSED)
    if reviewed is not None and refused:
        say("refusing to apply a reviewed plan while some of its merchants are locked", err=True)
        return exitcodes.REFUSED
    chosen = [m for m in selection.chosen if m.slug not in refused]
    if not chosen:
        say("refusing to apply: every selected merchant is locked by another apply; nothing was "
            "written.", err=True)
        return exitcodes.worst(codes)
    run_id = new_run_id()
    _warn_in_flight(backend, [m.slug for m in chosen])
    from reconciler.http.notices import Notices

    notices = Notices()
    plans = read_plans(target, Selection(selection.all, chosen), merchants_dir, options.parallelism,
                       verb="read", notices=notices)
    # Their live state is re-read under their locks: earlier interrupted writes are settled.
    backend.acknowledge([p.slug for p in plans if not p.error], run_id)
    document = plan_document(target, plans, chosen, fleet=len(selection.all),
                             limit=limits.mass_change)
    say(with_verdict(render_plan(document, color=use_color(stdout_is_tty()), header=False),
                     document), styled=True)
    show_notices(notices)
    stale = reviewed.stale(document) if reviewed is not None else []
    if stale:
        say(f"refusing to apply: the plan is stale for {', '.join(stale)}. Live state or merchant "
            "files changed since it was made; nothing was written. Run plan again and review the "
            "new plan.", err=True)
        return exitcodes.REFUSED
    codes += [exitcodes.ERROR for p in plans if p.error]
    runnable = [p for p in plans if not p.error and _has_work(p, allow_destructive=True)]
    blocked = [c for p in runnable for c in p.changes if c.blocked_by == "destructive"]
    if blocked and not options.allow_destructive:
        for change in blocked:
            say(f"blocked: {change.address} is destructive", err=True)
        say(f"refusing to apply: {len(blocked)} destructive change(s); nothing was written. "
            "Re-run with --allow-destructive if they are intended.", err=True)
        return exitcodes.worst([*codes, exitcodes.BLOCKED])
    mass = document["mass_change"]
    if mass["refused"] and not options.allow_mass_change:
        limits.collected.stopped = "refused: a mass change (--allow-mass-change not given)"
        say(f"refusing to apply: this run would change {mass['changing']} of {mass['fleet']} "
            f"merchants, more than {mass['max_fraction']:.0%} of the fleet (and at least "
            f"{mass['min_merchants']}); nothing was written. Review it, then re-run with "
            "--allow-mass-change (and best with --canary N); the threshold is in "
            f"{config_path(merchants_dir)}.", err=True)
        return exitcodes.worst([*codes, exitcodes.BLOCKED])
    runnable = [p for p in runnable if _has_work(p, options.allow_destructive)]
    if not runnable and limits.canary is None:
        if refused:  # "Nothing to apply." would read as success
            say(f"refusing to apply: {len(refused)} merchant(s) locked by another apply "
                "(see above); nothing was written.", err=True)
        else:
            say("Nothing to apply.")
        return exitcodes.worst(codes)
    if not _confirm(options.auto_approve or reviewed is not None):  # a reviewed plan was approved
        say("Apply cancelled; nothing was written.", err=True)
        return exitcodes.ERROR
    context = AuditContext(Identity.current(), target.name, run_id, document["checksum"])
    written: list[MerchantReport] = []

    def write(part: list[MerchantPlan]) -> list[MerchantReport]:
        reports = run(_write(target, backend, context, selection, merchants_dir, part,
                             options.allow_destructive, options.parallelism))
        say(render_report([r.to_json() for r in reports], color=use_color(stdout_is_tty())), styled=True)
        written.extend(reports)
        limits.collected.reports.extend(reports)
        return reports

    if limits.canary is not None:
        stages = Stages(target, Selection(selection.all, chosen), merchants_dir, write,
                        options.parallelism, limits.collected)
        codes.append(stages.run(limits.canary, runnable))
    else:
        write(runnable)
    wrote = any(_sent(r) for r in written)  # exit 1 promises nothing was written
    return exitcodes.apply_code(codes + [report_code(r) for r in written] + _lost_code(written),
                                wrote)


def _lost_code(reports: list[MerchantReport]) -> list[int]:
    """When the backend went away mid-apply: say so, and exit 4 if anything was written, else 1."""
    lost = next((r.backend_lost for r in reports if r.backend_lost), None)
    if lost is None:
        return []
    written = sum(r.count("applied") for r in reports)
    stopped = sum(1 for r in reports if r.backend_lost)
    say(f"Error: {lost}. Stopped sending writes for {stopped} merchant(s): {written} write(s) "
        "were done. Once the backend is reachable, run apply again: it re-reads live state and "
        "converges.", err=True)
    return [exitcodes.PARTIAL if written else exitcodes.ERROR]


def _has_work(plan: MerchantPlan, allow_destructive: bool) -> bool:
    return any(c.blocked_by is None or (allow_destructive and c.blocked_by == "destructive")
               for c in plan.changes)


async def _write(target: Target, backend: Backend, context: AuditContext, selection: Selection,
                 merchants_dir: Path, plans: list[MerchantPlan], allow_destructive: bool,
                 parallelism: int) -> list[MerchantReport]:
    journal = backend.journal(context)
    sizes = {p.slug: len(p.changes) for p in plans}
    progress = WriteProgress(len(plans), sum(sizes.values()))
    try:
        async with client_pool(target, selection.all, merchants_dir, read_only=False) as pool:
            merchants = {m.slug: m for m in selection.all}
            return await apply_fleet(plans, merchants, pool, journal,
                                     allow_destructive=allow_destructive, parallelism=parallelism,
                                     on_done=lambda r: progress.merchant_done(sizes[r.slug]))
    finally:
        progress.close()
        with contextlib.suppress(Exception):  # a backend already gone has nothing to close
            await journal.close()
        say(f"Journal: {journal.location}", err=True)


def _warn_in_flight(backend: Backend, slugs: list[str]) -> None:
    """The writes of these merchants (locked by this run) that an earlier apply left unfinished."""
    pending = backend.in_flight(slugs, lambda text: say(f"warning: {text}", err=True))
    if pending:
        addresses = ", ".join(sorted({f"{e['merchant']}:{e['address']}" for e in pending}))
        say(f"note: an earlier apply was interrupted with {len(pending)} write(s) in flight "
            f"({addresses}); live state is re-read now, so whatever did not land is planned again",
            err=True)
