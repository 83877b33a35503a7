"""Files that may hold merchant data or in-flight state: created 0600, their directories 0700.

The sandbox state and its log, journals and locks are the operator's own
records; nobody else on the machine needs to read them. Modes are set with
`os.open(..., 0o600)` and then `fchmod`, so they do not depend on the umask,
and a file an older version created 0644 is tightened the next time it is
opened. Plan files (`plan --out`) are CI artifacts meant to be shared and
hold no secret, so they keep the usual mode.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO, Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Make `path` and any missing parents; the ones this call creates are 0700."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it first
        os.chmod(directory, DIR_MODE)
    return path


def open_private(path: Path, flags: int) -> int:
    """`os.open` that creates the file 0600 (whatever the umask) and tightens an existing one."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def append_private(path: Path, *, binary: bool = False) -> IO[Any]:
    """Open `path` for appending, created 0600 (a binary file object, or UTF-8 text)."""
    fd = open_private(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    if binary:
        return os.fdopen(fd, "ab")
    return os.fdopen(fd, "a", encoding="utf-8")


def replace_file(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write `text` to `path` whole or not at all.

    A temporary file beside `path` (created 0600 by mkstemp) is written,
    fsynced, given `mode` if one is asked for, and renamed over `path`; on any
    failure it is removed and the error propagates, so `path` keeps its old
    contents.
    """
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
