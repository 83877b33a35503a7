"""Commands beside the plan/apply cycle: `plan-merge`, `show`, `secrets set`,
`connect tiktok` and `sandbox serve` (registered on the group in cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler.clibase import guarded
from reconciler.clioptions import global_options, make_context


@click.command("plan-merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="json",
              help="How to print the merged plan.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Also save the merged JSON plan here, for 'apply --plan'.")
def plan_merge(files, fmt, out) -> None:
    """Merge JSON plans of several shards into one (same checksum as an unsharded plan).

    FILES: the JSON plans of the shards (`plan --shard I/N --out FILE`).
    """
    from reconciler.commands.common import CommandError
    from reconciler.commands.plan import emit, write_plan_file
    from reconciler.output.merge import merge_files

    def body() -> int:
        try:
            document = merge_files(list(files))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if out:
            write_plan_file(document, out)
        emit(document, fmt, f"reconciler apply --plan {out}" if out else None)
        return 0

    guarded(body)


@click.command("show")
@click.argument("plan_file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              help="text for people, json (the plan itself) or markdown for pull requests.")
def show(plan_file, fmt) -> None:
    """Render PLAN_FILE, a saved JSON plan, without reading live state; refuses a tampered file."""
    from reconciler.commands.show import run_show

    guarded(lambda: run_show(plan_file, fmt))


@click.group()
def secrets() -> None:
    """Credentials in the merchants' SOPS-encrypted secrets files."""


@secrets.command("set")
@click.argument("slug")
@click.argument("key")
@global_options
@click.pass_context
def secrets_set(ctx, slug, key, merchants_dir, target_spec) -> None:
    """Store the value read from standard input (never an argument) as KEY (e.g. loop.api_key)
    in SLUG's encrypted secrets file, creating it under .sops.yaml's rules."""
    from reconciler.commands.onboarding import set_secret

    c = make_context(ctx, merchants_dir, target_spec)
    guarded(lambda: set_secret(c.merchants_dir, slug, key))


@click.group()
def connect() -> None:
    """Connect a merchant's account at a service (onboarding)."""


@connect.command("tiktok")
@click.argument("slug")
@click.option("--listen", default=None, metavar="HOST:PORT",
              help="Catch TikTok's redirect on this loopback address instead of a pasted code.")
@click.option("--timeout", type=click.FloatRange(1, 3600), default=600, show_default=True,
              help="Seconds to wait for the redirect with --listen.")
@global_options
@click.pass_context
def connect_tiktok(ctx, slug, listen, timeout, merchants_dir, target_spec) -> None:
    """Authorize SLUG's TikTok shop and store its tokens in the merchant's secrets file."""
    from reconciler.commands.connect import connect_tiktok as run_connect

    c = make_context(ctx, merchants_dir, target_spec)
    # sys.stdin, not click.get_text_stream (deprecated in click 8.5): the code is one line of text.
    guarded(lambda: run_connect(c.target(), c.merchants_dir, slug, listen, timeout, sys.stdin))


@click.group()
def sandbox() -> None:
    """The emulator of all four services, for demos, tests and benchmarks."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Loopback address to listen on (127.0.0.1, ::1 or localhost).")
@click.option("--port", type=click.IntRange(1, 65535), default=8787, show_default=True,
              help="TCP port to listen on (1-65535).")
@click.option("--state", "state_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Persist the emulator's state in this file.")
@click.option("--scenario", "scenarios", multiple=True, metavar="SLUG=NAME",
              help="Seed a merchant with a broken or unusual scenario.")
@click.option("--published-only", is_flag=True,
              help="Answer every assumed endpoint as the real service answers an unknown path "
                   "(also RECONCILER_SANDBOX_MODE=published-only).")
@global_options
@click.pass_context
def sandbox_serve(ctx, host, port, state_file, scenarios, published_only, merchants_dir,
                  target_spec) -> None:
    """Serve the sandbox over HTTP on loopback."""
    from reconciler.commands.common import CommandError, check_merchants_dir
    from reconciler.config import load_merchants
    from reconciler.output.printable import terminal_safe
    from reconciler.sandbox import load_scenarios, serve
    from reconciler.sandbox.clock import clock_from_env
    from reconciler.sandbox.state import PUBLISHED_ONLY, mode_from_env

    c = make_context(ctx, merchants_dir, target_spec)

    def body() -> int:
        check_merchants_dir(c.merchants_dir)
        try:
            mode = PUBLISHED_ONLY if published_only else mode_from_env()
            clock_from_env()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        # Secret files are not required: a merchant being onboarded (its TikTok tokens
        # not stored yet) is seeded too, so `connect tiktok` can authorize its shop.
        result = load_merchants(c.merchants_dir, secret_files=False)
        for problem in result.problems:
            click.echo(terminal_safe(problem.format(), keep_newlines=False), err=True)
        if result.problems:
            raise CommandError("fix the merchant files before seeding the sandbox")
        click.echo(f"Target: http://{host}:{port} (sandbox serving {len(result.merchants)} merchants, "
                   f"{mode})", err=True)
        try:
            serve(host, port, state_file, result.merchants,
                  load_scenarios(c.merchants_dir, list(scenarios)), mode)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        return 0

    guarded(body)

