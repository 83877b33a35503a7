"""What every command line run shares: exit codes for usage errors, and the color switch."""

from __future__ import annotations

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
