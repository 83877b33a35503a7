"""Failures of the coordination backend, printed as one clear line (exit 1 before any write)."""

from __future__ import annotations


class BackendError(Exception):
    """The backend cannot be used: unreachable, a schema from a newer release, a bad lock path."""


class BackendLost(BackendError):
    """The backend went away during an apply: no further write may be sent unjournaled."""


class LockLost(BackendLost):
    """A merchant's lock went away during an apply (its connection was closed): another apply
    may hold it now, so no further write for that merchant may be sent."""
