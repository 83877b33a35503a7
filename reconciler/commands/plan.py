"""`reconciler plan`: read-only by construction; prints and saves the plan."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.commands.changed import ChangedSelection, tell
from reconciler.commands.common import (
    Selection,
    check_credentials,
    read_with_progress,
    require_state_dir,
    say,
    show_notices,
    stdout_is_tty,
    timed,
)
from reconciler.commands.shared_credentials import refuse_shared_credentials
from reconciler.config.repo import MassChange, load_repo_config
from reconciler.engine import exitcodes
from reconciler.engine.document import build_document
from reconciler.engine.masschange import verdict, verdict_line
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


def plan_document(target: Target, plans: list[MerchantPlan], fleet: int | None = None,
                  limit: MassChange | None = None) -> dict[str, Any]:
    """The plan; with the fleet's size and the threshold, also its mass-change verdict."""
    document = build_document(target.name, [p.to_json() for p in plans])
    if fleet is not None and limit is not None:
        document["mass_change"] = verdict(document["merchants"], fleet, limit)
    return document


def emit(document: dict[str, Any], fmt: str, apply_command: str | None = None) -> None:
    if fmt == "json":
        say(pretty(document))
        return
    if fmt == "markdown":
        kwargs = {"apply_command": apply_command} if apply_command else {}
        rendered = render_markdown(document, **kwargs)
    else:
        rendered = render_plan(document, color=use_color(stdout_is_tty()))
    say(with_verdict(rendered, document, blank=fmt == "markdown"))


def with_verdict(rendered: str, document: dict[str, Any], *, blank: bool = False) -> str:
    """The mass-change verdict right after the first line (the target, or the headline)."""
    if "mass_change" not in document:
        return rendered
    first, _, rest = rendered.partition("\n")
    gap = "\n\n" if blank else "\n"
    return f"{first}{gap}{verdict_line(document['mass_change'])}{gap}{rest}"


def write_plan_file(document: dict[str, Any], path: Path) -> None:
    """Save the JSON plan atomically; an unwritable path is a clean error (exit 1)."""
    from reconciler.commands.common import CommandError
    from reconciler.output.files import OutputFileError, write_atomically
    from reconciler.secrets import redactor

    try:
        write_atomically(path, redactor.redact(pretty(document)) + "\n")
    except OutputFileError as exc:
        raise CommandError(f"--out {exc}") from None


def exit_code(document: dict[str, Any], detailed: bool) -> int:
    codes = [exitcodes.plan_code(entry) for entry in document["merchants"]]
    code = exitcodes.worst(codes)
    if code == exitcodes.ERROR or detailed:
        return code
    return exitcodes.OK


def run_plan(target: Target, selection: Selection, merchants_dir: Path, *, fmt: str,
             out: Path | None, detailed: bool, parallelism: int, workers: int | str | None = None,
             changed: ChangedSelection | None = None) -> int:
    """`changed`: the `--changed-since` selection, said on stderr and kept in the document."""
    if fmt != "text":  # stdout stays machine-readable; people still see the target first
        say(f"Target: {target.name}", err=True)
    require_state_dir(target)
    limit = load_repo_config(merchants_dir).mass_change
    check_credentials(target, selection.chosen)
    refuse_shared_credentials(target, selection)
    load_client_stack(target)
    from reconciler.http.notices import Notices

    notices = Notices()
    with timed("read", merchants=len(selection.chosen), parallelism=parallelism):
        plans = read_plans(target, selection, merchants_dir, parallelism, workers, notices=notices)
    with timed("output"):
        document = plan_document(target, plans, len(selection.all), limit)
        if changed is not None:
            document["selection"] = changed.to_json()
        if out:
            write_plan_file(document, out)
        apply_command = f"reconciler apply --plan {out}" if out else None
        emit(document, fmt, apply_command)
    if changed is not None:
        tell(changed)
    show_notices(notices)  # after the plan: the target stays the first line a person sees
    return exit_code(document, detailed)
