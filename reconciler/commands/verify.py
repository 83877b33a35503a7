"""`reconciler verify`: read-only end-to-end checks, one line per check, exit 1 on any failure."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.commands.common import (
    CommandError,
    Selection,
    check_credentials,
    read_with_progress,
    require_state_dir,
    say,
    say_json,
    show_notices,
)
from reconciler.engine.plan import error_text
from reconciler.targets import Target
from reconciler.verify.report import document, render_text
from reconciler.verify.results import Status
from reconciler.verify.runner import verify_fleet

if TYPE_CHECKING:  # the HTTP stack loads only when a run reads
    from reconciler.http.notices import Notices


def run_verify(target: Target, selection: Selection, merchants_dir: Path, *, fmt: str,
               parallelism: int, workers: int | str | None = None,
               skip_waiting: bool = False) -> int:
    require_state_dir(target)
    check_credentials(target, selection.chosen)
    from reconciler.http.notices import Notices

    notices = Notices()
    waiting: dict[str, list[str]] = {}
    if skip_waiting:
        waiting = pending_manual_actions(target, selection, merchants_dir, parallelism, workers,
                                         notices)
        selection = Selection(selection.all, [m for m in selection.chosen if m.slug not in waiting],
                              selection.include, selection.asked)
    try:
        reports = read_with_progress(target, selection, merchants_dir, verify_fleet,
                                     verb="verified", parallelism=parallelism, workers=workers,
                                     notices=notices)
    except (ValueError, OSError) as exc:  # e.g. a bad sandbox scenario selection or state file
        raise CommandError(error_text(exc)) from None
    remember(target, {r.merchant: [c.id for c in r.checks if c.status is Status.FAIL]
                      for r in reports})
    if fmt == "json":
        extra = {"waiting": [{"merchant": s, "manual_actions": a} for s, a in waiting.items()]}
        say_json({**document(target.name, reports), **(extra if skip_waiting else {})})
    else:
        say(render_text(target.name, reports, header=False))
        for slug, actions in waiting.items():
            say(f"WAIT {slug}: not verified, waiting on manual action(s) {', '.join(actions)}")
    show_notices(notices)
    return 1 if any(r.failed for r in reports) else 0


def pending_manual_actions(target: Target, selection: Selection, merchants_dir: Path,
                           parallelism: int, workers: int | str | None,
                           notices: Notices) -> dict[str, list[str]]:
    """Per merchant with any, its pending manual actions (read as a plan reads them)."""
    from reconciler.commands.plan import read_plans

    plans = read_plans(target, selection, merchants_dir, parallelism, workers, verb="read",
                       notices=notices)
    pending = {p.slug: [a.id for a in p.manual_actions] for p in plans if p.manual_actions}
    remember_manual(target, {p.slug: [a.id for a in p.manual_actions] for p in plans
                             if not p.error})
    return pending


def remember(target: Target, results: dict[str, list[str]]) -> None:
    from reconciler.engine.records import note_verify

    try:
        note_verify(target.state_dir, results)
    except OSError as exc:
        say(f"warning: verify results not recorded under {target.state_dir} ({exc})", err=True)


def remember_manual(target: Target, pending: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    from reconciler.engine.records import note_manual_actions, read

    try:
        return note_manual_actions(target.state_dir, pending)
    except OSError as exc:
        say(f"warning: manual actions not recorded under {target.state_dir} ({exc})", err=True)
        return read(target.state_dir, "manual-actions.json")
