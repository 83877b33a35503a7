"""What the commands' options share: --merchants and --target before or after the
subcommand, the merchant selection, --workers and --backend, and the run's context."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from reconciler.targets import Target, TargetError, resolve_target


@dataclass
class Context:
    merchants_dir: Path
    target_spec: str | None

    def target(self) -> Target:
        from reconciler.commands.common import CommandError

        try:
            return resolve_target(self.target_spec)
        except TargetError as exc:  # exit 1, never 2: 2 means "changes present" to CI
            raise CommandError(str(exc)) from None


def global_options(func):
    """--merchants and --target, accepted before or after the subcommand (docs/design.md section 5).

    No `envvar=` here: RECONCILER_TARGET is read last, by `resolve_target`, so
    an explicit --target anywhere on the command line beats the environment.
    """
    func = click.option(
        "--merchants", "merchants_dir", type=click.Path(path_type=Path), default=None,
        help="Directory of merchant files (default: merchants/).",
    )(func)
    func = click.option(
        "--target", "target_spec", default=None,
        help="sandbox (default), live, or http://HOST:PORT of a served sandbox "
             "[default: $RECONCILER_TARGET, else sandbox].",
    )(func)
    return func


def make_context(ctx: click.Context, merchants_dir: Path | None, target_spec: str | None) -> Context:
    """The subcommand's own flags, else the group's (the environment comes after both)."""
    parent: Context | None = ctx.find_object(Context)
    return Context(
        merchants_dir=merchants_dir or (parent.merchants_dir if parent else Path("merchants")),
        target_spec=target_spec or (parent.target_spec if parent else None),
    )


def selection_options(func):
    func = click.option("--shard", default=None, metavar="I/N",
                        help="Only the I-th of N stable shards of the fleet (by slug).")(func)
    func = click.option("--exclude", multiple=True, metavar="SLUG", help="Skip this merchant.")(func)
    func = click.option("--merchant", "include", multiple=True, metavar="SLUG",
                        help="Only this merchant (repeatable).")(func)
    return func


class WorkersType(click.ParamType):
    name = "workers"

    def convert(self, value, param, ctx):
        if isinstance(value, int) or value == "auto":
            return value
        try:
            number = int(value)
        except ValueError:
            number = 0
        if not 1 <= number <= 64:
            self.fail(f"{value!r} is not 'auto' or a number from 1 to 64", param, ctx)
        return number


def workers_option(func):
    return click.option(
        "--workers", type=WorkersType(), default=None, metavar="N|auto",
        help="Processes that read the fleet, sharing --parallelism [default: 1; auto: one per "
             "CPU, at least 100 merchants each, on a network target].")(func)


def backend_option(func):
    return click.option(
        "--backend", "backend_spec", default=None, envvar="RECONCILER_BACKEND",
        metavar="file|postgresql://...",
        help="Where locks, the journal and the audit log live: file (this machine's state "
             "directory, the default) or a PostgreSQL URL shared by every machine (password as "
             "env:VAR in the URL, or PGPASSWORD).")(func)
