"""One apply per merchant at a time, on the file backend.

The lock is an OS file lock (`flock`) on `<state>/locks/<slug>.lock`: the
kernel releases it when the holding process exits for any reason, including
SIGKILL, so a killed apply never blocks the next run. Who holds it is
written beside it, so a second apply can name the holder.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from reconciler.backend.errors import BackendError
from reconciler.backend.identity import Identity
from reconciler.private import FILE_MODE, open_private, private_dir


class LockHeld(Exception):
    def __init__(self, slug: str, holder: str) -> None:
        super().__init__(f"merchant {slug} is locked by {holder}; wait for it to finish, then plan again")
        self.slug = slug
        self.holder = holder


def holder_text(info: dict) -> str:
    return (f"{info['user']}@{info['host']} (pid {info['pid']}, "
            f"{info.get('command', 'apply')}, since {info['since']})")


def _holder_in(path: Path) -> str:
    try:
        return holder_text(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return "another apply (holder unknown)"


class MerchantLock:
    def __init__(self, state_dir: Path, slug: str, *, wait_seconds: float = 2.0) -> None:
        directory = state_dir / "locks"
        try:
            private_dir(directory)
            if not directory.is_dir():
                raise NotADirectoryError(directory)
        except (FileExistsError, NotADirectoryError):
            raise BackendError(f"{directory}: the lock directory is not a directory; "
                               "move it away and run again") from None
        self.slug = slug
        self.wait_seconds = wait_seconds
        self.path = directory / f"{slug}.lock"
        self._lock = FileLock(str(self.path), thread_local=False, mode=FILE_MODE)
        self._holder = directory / f"{slug}.holder.json"

    def try_acquire(self, identity: Identity | None = None, timeout: float = 0) -> bool:
        """Take the lock if it is free (waiting up to `timeout`); False if another apply holds it."""
        try:
            self._lock.acquire(timeout=timeout, poll_interval=0.05)
        except Timeout:
            return False
        except IsADirectoryError:
            raise BackendError(f"{self.path}: the lock path is a directory, not a lock file; "
                               "remove it (no apply holds a directory) and run again") from None
        except OSError as exc:
            raise BackendError(f"{self.path}: cannot take the merchant lock "
                               f"({exc.strerror or type(exc).__name__})") from None
        info = (identity or Identity.current()).holder()
        with contextlib.suppress(OSError):  # naming the holder is a courtesy, never a failure
            fd = open_private(self._holder, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(fd, "w") as handle:
                handle.write(json.dumps(info))
        return True

    def holder(self) -> str:
        return _holder_in(self._holder)

    def acquire(self) -> None:
        if not self.try_acquire(timeout=self.wait_seconds):
            raise LockHeld(self.slug, self.holder())

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self._holder.unlink()
        self._lock.release()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()


def wait_until_free(state_dir: Path, slug: str, timeout: float) -> bool:
    """For tests and tooling: whether the merchant's lock becomes free within `timeout`."""
    deadline = time.monotonic() + timeout
    lock = MerchantLock(state_dir, slug, wait_seconds=0)
    while True:
        try:
            lock.acquire()
        except LockHeld:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
            continue
        lock.release()
        return True
