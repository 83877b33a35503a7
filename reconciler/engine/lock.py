"""One apply per merchant at a time.

The lock is an OS file lock (`flock`) on `<state>/locks/<slug>.lock`: the
kernel releases it when the holding process exits for any reason, including
SIGKILL, so a killed apply never blocks the next run. Who holds it is
written beside it, so a second apply can name the holder.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout


class LockHeld(Exception):
    def __init__(self, slug: str, holder: str) -> None:
        super().__init__(f"merchant {slug} is locked by {holder}; wait for it to finish, then plan again")
        self.slug = slug
        self.holder = holder


def _holder_text(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return (f"{info['user']}@{info['host']} (pid {info['pid']}, "
                f"{info.get('command', 'apply')}, since {info['since']})")
    except (OSError, ValueError, KeyError):
        return "another apply (holder unknown)"


class MerchantLock:
    def __init__(self, state_dir: Path, slug: str, *, wait_seconds: float = 2.0) -> None:
        directory = state_dir / "locks"
        directory.mkdir(parents=True, exist_ok=True)
        self.slug = slug
        self.wait_seconds = wait_seconds
        self._lock = FileLock(str(directory / f"{slug}.lock"), thread_local=False)
        self._holder = directory / f"{slug}.holder.json"

    def acquire(self) -> None:
        try:
            self._lock.acquire(timeout=self.wait_seconds, poll_interval=0.05)
        except Timeout:
            raise LockHeld(self.slug, _holder_text(self._holder)) from None
        self._holder.write_text(json.dumps({
            "pid": os.getpid(), "host": socket.gethostname(), "user": getpass.getuser(),
            "command": "apply", "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }))

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
