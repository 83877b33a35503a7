"""`reconciler history`: the audit log of every write, from whichever backend holds it."""

from __future__ import annotations

from reconciler.backend import open_backend
from reconciler.backend.audit import parse_since, render_text
from reconciler.commands.common import CommandError, say
from reconciler.output.jsonout import pretty
from reconciler.targets import Target


def run_history(target: Target, backend_spec: str | None, *, merchant: str | None,
                since: str | None, fmt: str) -> int:
    try:
        moment = parse_since(since) if since else None
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    backend = open_backend(backend_spec, target.state_dir)
    try:
        say(f"Backend: {backend.name}", err=True)
        entries = backend.history(merchant, moment, lambda text: say(f"warning: {text}", err=True))
    finally:
        backend.close()
    say(pretty(entries) if fmt == "json" else render_text(entries))
    return 0
