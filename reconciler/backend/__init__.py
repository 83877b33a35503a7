"""Coordination backends: where merchant locks, the journal and the audit log live.

`file` (the default) keeps them in the state directory of one machine;
`postgres` (`--backend postgresql://...` or `RECONCILER_BACKEND`) keeps them
in a PostgreSQL database that every machine applying the fleet shares.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.backend.base import Backend, RunJournal
from reconciler.backend.errors import BackendError, BackendLost, LockLost

__all__ = ["Backend", "BackendError", "BackendLost", "LockLost", "RunJournal", "open_backend"]


def open_backend(spec: str | None, state_dir: Path) -> Backend:
    """`file`, or a `postgresql://` URL; from RECONCILER_BACKEND when `spec` is None."""
    spec = spec or os.environ.get("RECONCILER_BACKEND") or "file"
    if spec == "file":
        from reconciler.backend.file import FileBackend

        return FileBackend(state_dir)
    if spec.startswith(("postgresql://", "postgres://")):
        from reconciler.backend.postgres import PostgresBackend

        return PostgresBackend(spec)
    raise BackendError("unknown backend: use 'file' or postgresql://USER@HOST:PORT/DATABASE "
                       "(password as env:VAR or in PGPASSWORD)")
