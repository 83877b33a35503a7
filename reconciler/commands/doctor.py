"""`reconciler doctor`: probe every endpoint, read-only, and print the matrix."""

from __future__ import annotations

from pathlib import Path

from reconciler.commands.common import (
    Selection,
    check_credentials,
    read_with_progress,
    say,
    show_notices,
)
from reconciler.doctor import doctor_fleet, document, render_text
from reconciler.output.jsonout import pretty
from reconciler.targets import Target


def run_doctor(target: Target, selection: Selection, merchants_dir: Path, *, fmt: str,
               parallelism: int) -> int:
    if fmt == "json":  # stdout stays machine-readable; people still see the target first
        say(f"Target: {target.name}", err=True)
    from reconciler.http.notices import Notices

    check_credentials(target, selection.chosen)
    notices = Notices()  # e.g. Shopify's deprecation header: shown once, on stderr, after the matrix
    reports = read_with_progress(target, selection, merchants_dir, doctor_fleet, verb="probed",
                                 parallelism=parallelism, notices=notices)
    say(pretty(document(target.name, reports)) if fmt == "json" else render_text(target.name, reports))
    show_notices(notices)
    return 1 if any(r.unusable for r in reports) else 0
