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
from reconciler.verify.runner import verify_fleet

if TYPE_CHECKING:  # the HTTP stack loads only when a run reads
    pass


def run_verify(target: Target, selection: Selection, merchants_dir: Path, *, fmt: str,
               parallelism: int, workers: int | str | None = None) -> int:
    require_state_dir(target)
    check_credentials(target, selection.chosen)
    from reconciler.http.notices import Notices

    notices = Notices()
    try:
        reports = read_with_progress(target, selection, merchants_dir, verify_fleet,
                                     verb="verified", parallelism=parallelism, workers=workers,
                                     notices=notices)
    except (ValueError, OSError) as exc:  # e.g. a bad sandbox scenario selection or state file
        raise CommandError(error_text(exc)) from None
    if fmt == "json":
        say_json(document(target.name, reports))
    else:
        say(render_text(target.name, reports, header=False))
    show_notices(notices)
    return 1 if any(r.failed for r in reports) else 0
