"""`reconciler apply`: lock, re-read, check the reviewed plan, confirm, write, report."""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path

import click

from reconciler.commands.common import (
    CommandError,
    Selection,
    check_credentials,
    require_state_dir,
    say,
    show_notices,
    stdout_is_tty,
)
from reconciler.commands.plan import plan_document, read_plans
from reconciler.commands.reviewed import ReviewedPart, read_reviewed_plan, select_part
from reconciler.commands.shared_credentials import refuse_shared_credentials
from reconciler.engine import exitcodes
from reconciler.engine.apply import MerchantReport, apply_fleet
from reconciler.engine.journal import Journal, acknowledge, in_flight
from reconciler.engine.lock import LockHeld, MerchantLock
from reconciler.engine.plan import MerchantPlan
from reconciler.engine.runtime import client_pool, run
from reconciler.output.text import render_plan, render_report, use_color
from reconciler.targets import Target


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


def _report_code(report: MerchantReport) -> int:
    applied = report.count("applied")
    if report.failed:
        return exitcodes.PARTIAL if applied else exitcodes.ERROR
    return exitcodes.OK


class LockSet:
    def __init__(self, target: Target, slugs: list[str], wait: float) -> None:
        self.locks = [MerchantLock(target.state_dir, s, wait_seconds=wait) for s in sorted(slugs)]
        self.held: list[MerchantLock] = []
        self.refused: dict[str, str] = {}

    def acquire(self) -> None:
        for lock in self.locks:
            try:
                lock.acquire()
            except LockHeld as exc:
                self.refused[lock.slug] = str(exc)
            else:
                self.held.append(lock)

    def release(self) -> None:
        for lock in reversed(self.held):
            lock.release()
        self.held.clear()


def run_apply(target: Target, selection: Selection, merchants_dir: Path, *, plan_file: Path | None,
              auto_approve: bool, allow_destructive: bool, parallelism: int,
              lock_wait: float) -> int:
    reviewed: ReviewedPart | None = None
    if plan_file is not None:
        selection, reviewed = select_part(plan_file, read_reviewed_plan(plan_file, target),
                                          selection)
    require_state_dir(target, writes=True)
    check_credentials(target, selection.chosen)
    refuse_shared_credentials(target, selection)
    _signals_raise()
    locks = LockSet(target, [m.slug for m in selection.chosen], lock_wait)
    try:
        locks.acquire()
        return _locked_apply(target, selection, merchants_dir, reviewed, locks, auto_approve,
                             allow_destructive, parallelism)
    finally:
        locks.release()


def _locked_apply(target: Target, selection: Selection, merchants_dir: Path,
                  reviewed: ReviewedPart | None, locks: LockSet, auto_approve: bool,
                  allow_destructive: bool, parallelism: int) -> int:
    codes: list[int] = []
    for slug, message in locks.refused.items():
        say(f"{slug}: refused: {message}", err=True)
        codes.append(exitcodes.REFUSED)
    if reviewed is not None and locks.refused:
        say("refusing to apply a reviewed plan while some of its merchants are locked", err=True)
        return exitcodes.REFUSED
    chosen = [m for m in selection.chosen if m.slug not in locks.refused]
    _warn_in_flight(target)
    from reconciler.http.notices import Notices

    notices = Notices()
    plans = read_plans(target, Selection(selection.all, chosen), merchants_dir, parallelism,
                       verb="read", notices=notices)
    document = plan_document(target, plans)
    say(render_plan(document, color=use_color(stdout_is_tty())))
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
    if blocked and not allow_destructive:
        for change in blocked:
            say(f"blocked: {change.address} is destructive", err=True)
        say(f"refusing to apply: {len(blocked)} destructive change(s); nothing was written. "
            "Re-run with --allow-destructive if they are intended.", err=True)
        return exitcodes.worst([*codes, exitcodes.BLOCKED])
    runnable = [p for p in runnable if _has_work(p, allow_destructive)]
    if not runnable:
        say("Nothing to apply.")
        return exitcodes.worst(codes)
    if not _confirm(auto_approve or reviewed is not None):  # a saved plan was reviewed already
        say("Apply cancelled; nothing was written.", err=True)
        return exitcodes.ERROR
    reports = run(_write(target, selection, merchants_dir, runnable, allow_destructive,
                                 parallelism))
    say(render_report([r.to_json() for r in reports], color=use_color(stdout_is_tty())))
    return exitcodes.worst(codes + [_report_code(r) for r in reports])


def _has_work(plan: MerchantPlan, allow_destructive: bool) -> bool:
    return any(c.blocked_by is None or (allow_destructive and c.blocked_by == "destructive")
               for c in plan.changes)


async def _write(target: Target, selection: Selection, merchants_dir: Path,
                 plans: list[MerchantPlan], allow_destructive: bool,
                 parallelism: int) -> list[MerchantReport]:
    try:
        journal = Journal(target.state_dir, target.name)
        acknowledge(target.state_dir, journal.run_id)  # live state was re-read after those runs
    except OSError as exc:
        raise CommandError(f"cannot write the journal under {target.state_dir / 'journal'} "
                           f"({exc.strerror or exc}); nothing was written") from None
    try:
        async with client_pool(target, selection.all, merchants_dir, read_only=False) as pool:
            merchants = {m.slug: m for m in selection.all}
            return await apply_fleet(plans, merchants, pool, journal,
                                     allow_destructive=allow_destructive, parallelism=parallelism)
    finally:
        try:
            journal.close()
        except OSError as exc:  # a full disk: the lines already written stay readable
            say(f"warning: the journal could not be completed ({exc.strerror or exc})", err=True)
        say(f"Journal: {journal.path}", err=True)


def _warn_in_flight(target: Target) -> None:
    pending = in_flight(target.state_dir)
    if pending:
        addresses = ", ".join(sorted({f"{e['merchant']}:{e['address']}" for e in pending}))
        say(f"note: an earlier apply was interrupted with {len(pending)} write(s) in flight "
            f"({addresses}); live state is re-read now, so whatever did not land is planned again",
            err=True)
