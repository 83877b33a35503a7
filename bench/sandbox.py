"""A sandbox served on 127.0.0.1 in its own process, driven through its control API."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import psutil

from reconciler.sandbox.server import wait_until_serving

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def clean_env(state_dir: Path) -> dict[str, str]:
    """The environment for every process the benchmark starts: no inherited targets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update(NO_COLOR="1", PYTHONUNBUFFERED="1", RECONCILER_STATE_DIR=str(state_dir))
    return env


class ServedSandbox:
    """`reconciler sandbox serve` for one fleet directory, on an ephemeral loopback port."""

    def __init__(self, merchants: Path, work: Path, *, start_timeout: float = 300) -> None:
        self.merchants = merchants
        self.work = work
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.env = clean_env(work / ".reconciler")
        self._start_timeout = start_timeout
        self._process: subprocess.Popen | None = None
        self._log = None
        self.startup_seconds = 0.0

    def __enter__(self) -> ServedSandbox:
        self.work.mkdir(parents=True, exist_ok=True)
        self._log = (self.work / "sandbox.log").open("wb")
        command = [
            sys.executable, "-m", "reconciler", "--merchants", str(self.merchants),
            "sandbox", "serve", "--host", LOOPBACK, "--port", str(self.port),
            "--state", str(self.work / "sandbox.json"),
        ]
        started = time.monotonic()
        self._process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                         env=self.env, cwd=self.work)
        assert self._process is not None
        # Seeding thousands of merchants takes a while: the timeout counts from the start.
        wait_until_serving(self.url, self._process, self.work / "sandbox.log",
                           timeout=self._start_timeout - (time.monotonic() - started))
        self.startup_seconds = time.monotonic() - started
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()

    def control(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox{path}", json=payload, timeout=300)
        response.raise_for_status()
        return response.json()

    def prepare(self, **faults: Any) -> None:
        """Reseed every merchant and zero the stats, then inject `faults` (reset clears them)."""
        self.control("POST", "/reset")
        self.control("POST", "/faults", faults)

    def stats(self) -> dict[str, Any]:
        return self.control("GET", "/stats")

    def cpu_seconds(self) -> float:
        """User + system CPU time the sandbox process has used so far."""
        assert self._process is not None
        times = psutil.Process(self._process.pid).cpu_times()
        return times.user + times.system
