"""`reconciler plan`: read-only by construction; prints and saves the plan."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.commands.changed import ChangedSelection, tell
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
from reconciler.config.repo import MassChange, load_repo_config
from reconciler.engine import exitcodes
from reconciler.engine.document import build_document
from reconciler.engine.masschange import verdict, verdict_line
from reconciler.engine.plan import MerchantPlan, plan_fleet
from reconciler.engine.runtime import load_client_stack
from reconciler.model import DesiredState
from reconciler.output.groups import with_groups
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


def plan_document(target: Target, plans: list[MerchantPlan],
                  merchants: Sequence[DesiredState] = (), commit: str | None = None, *,
                  fleet: int | None = None, limit: MassChange | None = None) -> dict[str, Any]:
    """The JSON plan, with its change sets (templated values group as their templates state
    them) and, given the fleet's size and the threshold, its mass-change verdict."""
    from reconciler.config.templates import restate as restate_value

    document = build_document(target.name, [p.to_json() for p in plans])
    if commit:
        document["commit"] = commit
    if fleet is not None and limit is not None:
        document["mass_change"] = verdict(document["merchants"], fleet, limit)
    by_slug = {m.slug: m for m in merchants}

    def restate(slug: str, address: str, value: Any) -> Any:
        desired = by_slug.get(slug)
        return restate_value(desired, address, value) if desired else value

    return with_groups(document, restate)


def resolve_commit(option: str | None, merchants_dir: Path) -> str | None:
    """The commit planned: --commit, else $GITHUB_SHA, else HEAD of the merchants' repository."""
    if option:
        return option
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=merchants_dir, capture_output=True,
                              text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None  # no git, or not a directory: the plan names no commit
    head = done.stdout.strip()
    return head if done.returncode == 0 and head else None


def emit(document: dict[str, Any], fmt: str, apply_command: str | None = None,
         header: bool = True) -> None:
    if fmt == "json":
        say_json(document)
        return
    if fmt == "markdown":
        rendered = (render_markdown(document, apply_command=apply_command) if apply_command
                    else render_markdown(document))
    else:
        rendered = render_plan(document, color=use_color(stdout_is_tty()), header=header)
    say(with_verdict(rendered, document, blank=fmt == "markdown"), styled=fmt == "text")


def with_verdict(rendered: str, document: dict[str, Any], *, blank: bool = False) -> str:
    """The mass-change verdict right after the first line (the target, or the headline).

    Text printed without its `Target:` header (the command said it already) gets the
    verdict first."""
    if "mass_change" not in document:
        return rendered
    line = verdict_line(document["mass_change"])
    if not rendered.startswith(("Target: ", "#")) and not blank:
        return f"{line}\n{rendered}"
    first, _, rest = rendered.partition("\n")
    gap = "\n\n" if blank else "\n"
    return f"{first}{gap}{line}{gap}{rest}"


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
             out: Path | None, detailed: bool, parallelism: int, workers: int | str | None = None,
             commit: str | None = None, changed: ChangedSelection | None = None) -> int:
    """`changed`: the `--changed-since` selection, said on stderr and kept in the document."""
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
        document = plan_document(target, plans, selection.chosen,
                                 resolve_commit(commit, merchants_dir),
                                 fleet=len(selection.all), limit=limit)
        if changed is not None:
            document["selection"] = changed.to_json()
        if out:
            write_plan_file(document, out)
        apply_command = f"reconciler apply --plan {out}" if out else None
        emit(document, fmt, apply_command, header=False)
        if out and fmt == "text":
            say(f"Saved the plan to {out}. To apply exactly this plan: {apply_command}")
    if changed is not None:
        tell(changed)
    show_notices(notices)  # after the plan: the target stays the first line a person sees
    return exit_code(document, detailed)
