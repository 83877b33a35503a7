"""Command line: `reconciler validate | plan | apply | history | export | verify | status |
doctor | secrets set | connect tiktok | sandbox serve`.

Only this layer prints. Every command's first output line names the target.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler import __version__, clitools
from reconciler.clibase import ReconcilerGroup, disable_color, guarded
from reconciler.clioptions import (
    Context,
    backend_option,
    global_options,
    make_context,
    selection_options,
    workers_option,
)


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler", help="Show the version and exit.")
@global_options
@click.option("--no-color", is_flag=True,
              help="Never color output (also: NO_COLOR set to a non-empty value).")
@click.pass_context
def cli(ctx: click.Context, merchants_dir: Path | None, target_spec: str | None,
        no_color: bool) -> None:
    """Merchant returns integrations (TikTok Shop, Pipe17, Shopify, Loop) as code."""
    disable_color(no_color)  # per run: an earlier in-process run's flag never lingers
    ctx.obj = Context(merchants_dir or Path("merchants"), target_spec)



@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text (one line per problem) or json.")
@global_options
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], fmt: str, merchants_dir, target_spec) -> None:
    """Check merchant files offline: schema, profiles, templates and domain rules.

    PATHS (default: the whole merchants directory) are merchant files, profiles
    (checked as profiles) or directories; the rules across files compare them
    with the rest of the merchants directory.
    """
    from reconciler.commands.common import check_merchants_dir
    from reconciler.config import load_merchants

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        if not paths:
            check_merchants_dir(c.merchants_dir)
        result = load_merchants(c.merchants_dir, list(paths) or None, against_rest=True)
        if fmt == "json":
            click.echo(json.dumps({
                "valid": not result.problems,
                "merchants": [m.slug for m in result.merchants],
                "profiles": result.profiles,
                "problems": [p.to_json() for p in result.problems],
            }, indent=2))
        else:
            _validate_text(result)
        return 1 if result.problems else 0

    guarded(body)


def _validate_text(result) -> None:
    from reconciler.output.printable import terminal_safe

    for problem in result.problems:
        click.echo(terminal_safe(problem.format(), keep_newlines=False), err=False)
    failed = {p.file for p in result.problems}
    for profile in result.profiles:
        state = "has problems" if profile in failed else "valid"
        click.echo(f"{profile}: a profile, checked as a profile (every key optional): {state}",
                   err=True)
    count = len(result.problems)
    profiles = f" and {len(result.profiles)} profile(s)" if result.profiles else ""
    summary = (
        f"{len(result.merchants)} merchant file(s){profiles} valid"
        if not count else f"{count} problem(s) found"
    )
    click.echo(summary, err=True)



@cli.command()
@selection_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              help="text for people, json (docs/design.md section 5) or markdown for pull requests.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Also save the JSON plan here, for review and 'apply --plan'.")
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 0 no changes, 2 changes, 3 some blocked, 1 error.")
@click.option("--parallelism", type=click.IntRange(1, 512), default=10, show_default=True,
              help="Merchants read or written at the same time.")
@click.option("--commit", default=None, metavar="SHA",
              help="The commit planned, named in the plan [default: $GITHUB_SHA, else "
                   "'git rev-parse HEAD' in the merchants directory].")
@click.option("--changed-since", "changed_since", default=None, metavar="REF",
              help="Only the merchants whose file or profile chain changed since this git ref.")
@workers_option
@global_options
@click.pass_context
def plan(ctx, include, exclude, shard, fmt, out, detailed_exitcode, parallelism, commit,
         changed_since, workers, merchants_dir, target_spec) -> None:
    """Show what differs between the merchant files and the live services. Never writes."""
    from reconciler.commands.common import announce, load_selection
    from reconciler.commands.plan import run_plan

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        target = c.target()
        announce(target, fmt)
        selection = load_selection(c.merchants_dir, include, exclude, shard)
        changed = None
        if changed_since is not None:
            from reconciler.commands.changed import narrow, select_changed

            changed = select_changed(c.merchants_dir, changed_since, selection)
            selection = narrow(selection, changed)
        return run_plan(target, selection, c.merchants_dir, fmt=fmt, out=out,
                        detailed=detailed_exitcode, parallelism=parallelism, workers=workers,
                        commit=commit, changed=changed)

    guarded(body)


@cli.command()
@selection_options
@click.option("--plan", "plan_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Apply this reviewed plan; refused (exit 5) if live state moved since.")
@click.option("--auto-approve", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-destructive", is_flag=True, help="Also apply destructive changes.")
@click.option("--allow-mass-change", is_flag=True,
              help="Apply even when the run changes more of the fleet than reconciler.toml allows.")
@click.option("--canary", multiple=True, metavar="N|SLUG",
              help="Apply and verify these merchants first (a count, or slugs, repeatable); "
                   "the rest only if every check passes.")
@click.option("--report", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also write the outcome here as JSON, and as markdown beside it (.md).")
@click.option("--parallelism", type=click.IntRange(1, 512), default=10, show_default=True,
              help="Merchants read or written at the same time.")
@click.option("--lock-wait", type=click.FloatRange(0, 3600), default=2.0, show_default=True,
              help="Seconds to wait, for the whole run, for merchants held by another apply.")
@backend_option
@global_options
@click.pass_context
def apply(ctx, include, exclude, shard, plan_file, auto_approve, allow_destructive,
          allow_mass_change, canary, report, parallelism, lock_wait, backend_spec,
          merchants_dir,
          target_spec) -> None:
    """Make the live services match the merchant files."""
    from reconciler.commands.apply import ApplyOptions, run_apply
    from reconciler.commands.common import announce, load_selection

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        target = c.target()
        announce(target)
        selection = load_selection(c.merchants_dir, include, exclude, shard)
        options = ApplyOptions(auto_approve, allow_destructive, allow_mass_change, parallelism,
                               lock_wait, tuple(canary), backend_spec, report)
        return run_apply(target, selection, c.merchants_dir, plan_file=plan_file, options=options)

    guarded(body)


@cli.command()
@click.option("--merchant", default=None, metavar="SLUG", help="Only this merchant's writes.")
@click.option("--since", default=None, metavar="WHEN",
              help="Only writes since then: 30m, 12h, 7d, 2w, or an ISO date or time (UTC).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text (one line per entry) or json.")
@backend_option
@global_options
@click.pass_context
def history(ctx, merchant, since, fmt, backend_spec, merchants_dir, target_spec) -> None:
    """Show the audit log: every write, who made it, from where, and how it ended."""
    from reconciler.commands.history import run_history

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        return run_history(c.target(), backend_spec, merchant=merchant, since=since, fmt=fmt)

    guarded(body)


@cli.group("backend")
def backend_group() -> None:
    """The coordination backend (locks, journal, audit log)."""


@backend_group.command("migrate")
@backend_option
@global_options
@click.pass_context
def backend_migrate(ctx, backend_spec, merchants_dir, target_spec) -> None:
    """Create or upgrade the backend's tables (also done on first use)."""
    from reconciler.backend import open_backend
    from reconciler.commands.common import say

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        backend = open_backend(backend_spec, c.target().state_dir)
        try:
            say(backend.migrate())
        finally:
            backend.close()
        return 0

    guarded(body)


@cli.command()
@click.argument("slug", required=False)
@click.option("--all", "export_all", is_flag=True,
              help="Export every merchant found live that has no file yet (needs --out-dir).")
@click.option("--out-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write DIR/SLUG.yaml for each merchant exported, instead of printing the YAML.")
@click.option("--write", "in_place", is_flag=True,
              help="Replace the merchant's own file in the merchants directory, atomically and "
                   "only once the new YAML validates (instead of '> merchants/SLUG.yaml', which "
                   "empties the file before export reads it).")
@global_options
@click.pass_context
def export(ctx, slug, export_all, out_dir, in_place, merchants_dir, target_spec) -> None:
    """Write merchant YAML from live settings (adopt a merchant configured by hand).

    SLUG: the merchant to export (its file gives the ids and secret references).
    """
    from reconciler.commands.common import check_merchants_dir
    from reconciler.commands.export import Destination, run_export

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        if (slug is not None) == export_all:
            raise click.UsageError("give either SLUG or --all")
        if export_all and not out_dir:
            raise click.UsageError("--all needs --out-dir")
        if in_place and (out_dir or export_all):
            raise click.UsageError("--write replaces one merchant's own file: give SLUG, "
                                   "without --all or --out-dir")
        check_merchants_dir(c.merchants_dir)
        return run_export(c.target(), c.merchants_dir, slug=slug,
                          destination=Destination(out_dir, in_place))

    guarded(body)


@cli.command()
@selection_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text (one line per check) or json.")
@click.option("--parallelism", type=click.IntRange(1, 512), default=10, show_default=True,
              help="Merchants read or written at the same time.")
@click.option("--skip-waiting", is_flag=True,
              help="Do not verify merchants waiting on a manual action; list them as waiting.")
@workers_option
@global_options
@click.pass_context
def verify(ctx, include, exclude, shard, fmt, parallelism, skip_waiting, workers, merchants_dir,
           target_spec) -> None:
    """End-to-end checks on the live systems: returns really work for TikTok buyers."""
    from reconciler.commands.common import announce, load_selection
    from reconciler.commands.verify import run_verify

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        target = c.target()
        announce(target, fmt)
        selection = load_selection(c.merchants_dir, include, exclude, shard)
        return run_verify(target, selection, c.merchants_dir, fmt=fmt, parallelism=parallelism,
                          workers=workers, skip_waiting=skip_waiting)

    guarded(body)


@cli.command()
@selection_options
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              help="text for people, json, or markdown for an issue or pull request.")
@click.option("--parallelism", type=click.IntRange(1, 512), default=10, show_default=True,
              help="Merchants read at the same time.")
@workers_option
@backend_option
@global_options
@click.pass_context
def status(ctx, include, exclude, shard, fmt, parallelism, workers, backend_spec, merchants_dir,
           target_spec) -> None:
    """Where each merchant stands: manual actions pending, drift, last verify; counts per stage."""
    from reconciler.commands.common import load_selection
    from reconciler.commands.status import run_status

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        target = c.target()
        selection = load_selection(c.merchants_dir, include, exclude, shard)
        return run_status(target, selection, c.merchants_dir, fmt=fmt, parallelism=parallelism,
                          workers=workers, backend_spec=backend_spec)

    guarded(body)


@cli.command()
@selection_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              help="text (the contract matrix) or json.")
@click.option("--parallelism", type=click.IntRange(1, 512), default=10, show_default=True,
              help="Merchants probed at the same time.")
@global_options
@click.pass_context
def doctor(ctx, include, exclude, shard, fmt, parallelism, merchants_dir, target_spec) -> None:
    """Probe every endpoint the product uses, read-only: available, unavailable, refused."""
    from reconciler.commands.common import load_selection
    from reconciler.commands.doctor import run_doctor

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        target = c.target()
        selection = load_selection(c.merchants_dir, include, exclude, shard)
        return run_doctor(target, selection, c.merchants_dir, fmt=fmt, parallelism=parallelism)

    guarded(body)



for command in (clitools.plan_merge, clitools.show, clitools.secrets, clitools.connect,
                clitools.sandbox):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="reconciler")
