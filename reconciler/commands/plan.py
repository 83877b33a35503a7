"""`reconciler plan`: read-only by construction; prints and saves the plan."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.commands.common import (
    Selection,
    check_credentials,
    read_with_progress,
    require_state_dir,
    say,
    say_json,
    show_notices,
    stdout_is_tty,
    timed,
)
from reconciler.commands.shared_credentials import refuse_shared_credentials
from reconciler.engine import exitcodes
from reconciler.engine.document import build_document
from reconciler.engine.plan import MerchantPlan, plan_fleet
from reconciler.engine.runtime import load_client_stack
from reconciler.output.jsonout import pretty
from reconciler.output.markdown import render_markdown
from reconciler.output.text import render_plan, use_color
from reconciler.targets import Target

if TYPE_CHECKING:  # the HTTP stack loads only when a run reads
    from reconciler.http.notices import Notices


def read_plans(target: Target, selection: Selection, merchants_dir: Path, parallelism: int,
               workers: int | str | None = None, verb: str = "planned",
               notices: Notices | None = None) -> list[MerchantPlan]:
    """Plans for the selection, read by this process or by worker processes."""
    return read_with_progress(target, selection, merchants_dir, plan_fleet, verb=verb,
                              parallelism=parallelism, workers=workers, notices=notices)


def plan_document(target: Target, plans: list[MerchantPlan]) -> dict[str, Any]:
    return build_document(target.name, [p.to_json() for p in plans])


def emit(document: dict[str, Any], fmt: str, apply_command: str | None = None,
         header: bool = True) -> None:
    if fmt == "json":
        say_json(document)
    elif fmt == "markdown":
        kwargs = {"apply_command": apply_command} if apply_command else {}
        say(render_markdown(document, **kwargs))
    else:
        say(render_plan(document, color=use_color(stdout_is_tty()), header=header), styled=True)


def write_plan_file(document: dict[str, Any], path: Path) -> None:
    """Save the JSON plan atomically; an unwritable path is a clean error (exit 1)."""
    from reconciler.commands.common import CommandError
    from reconciler.output.files import OutputFileError, write_atomically

    try:  # `build_document` has already redacted the plan by value
        write_atomically(path, pretty(document) + "\n")
    except OutputFileError as exc:
        raise CommandError(f"--out {exc}") from None


def exit_code(document: dict[str, Any], detailed: bool) -> int:
    codes = [exitcodes.plan_code(entry) for entry in document["merchants"]]
    code = exitcodes.worst(codes)
    if code == exitcodes.ERROR or detailed:
        return code
    return exitcodes.OK


def run_plan(target: Target, selection: Selection, merchants_dir: Path, *, fmt: str,
             out: Path | None, detailed: bool, parallelism: int, workers: int | str | None = None) -> int:
    require_state_dir(target)
    check_credentials(target, selection.chosen)
    refuse_shared_credentials(target, selection)
    load_client_stack(target)
    from reconciler.http.notices import Notices

    notices = Notices()
    with timed("read", merchants=len(selection.chosen), parallelism=parallelism):
        plans = read_plans(target, selection, merchants_dir, parallelism, workers, notices=notices)
    with timed("output"):
        document = plan_document(target, plans)
        if out:
            write_plan_file(document, out)
        apply_command = f"reconciler apply --plan {out}" if out else None
        emit(document, fmt, apply_command, header=False)
        if out and fmt == "text":
            say(f"Saved the plan to {out}. To apply exactly this plan: {apply_command}")
    show_notices(notices)  # after the plan: the target stays the first line a person sees
    return exit_code(document, detailed)
