"""Failures that are the user's to fix, raised below the command layer.

The CLI prints one as a single line on stderr and exits 1, with no
traceback; the message names the path and says what to do.
"""

from __future__ import annotations


class UserError(Exception):
    """A clean failure: a path or setting the user must fix. Exit 1, no traceback."""


class StateFileError(UserError, ValueError):
    """A state file (the sandbox's) cannot be read or is not what it should be."""
