"""What every command line run shares: exit codes for usage errors, the color switch, and
clean one-line errors (`guarded`)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click


class ReconcilerGroup(click.Group):
    """A click group whose usage errors exit 1, not click's 2.

    Exit 2 means "changes present" to `plan --detailed-exitcode` callers, so an
    unknown option or a bad value must never produce it (exit codes contract).
    """

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(1)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def disable_color(disabled: bool = True) -> None:
    from reconciler.output.text import set_color_allowed

    set_color_allowed(not disabled)


def guarded(run) -> None:
    """Run a command body: clean one-line errors, exit codes as returned."""
    from reconciler.backend.errors import BackendError
    from reconciler.collector import space_young_collections
    from reconciler.commands.common import CommandError, configure_logging
    from reconciler.failures import UserError
    from reconciler.output.printable import terminal_safe
    from reconciler.secrets import SecretError, SecretFileError, redactor

    configure_logging(os.environ.get("RECONCILER_LOG", "warning"))
    space_young_collections()
    try:
        code = run()
    except (CommandError, SecretError, SecretFileError, UserError, BackendError) as exc:
        click.echo(terminal_safe(redactor.redact(f"Error: {exc}")), err=True)
        code = 1
    except KeyboardInterrupt:
        click.echo("Interrupted; locks released. Re-run to converge.", err=True)
        code = 130
    sys.exit(code)
