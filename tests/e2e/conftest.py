"""End-to-end harness: the real CLI, as a subprocess, against a sandbox served on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "merchants"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}, **extra)
    return env


@dataclass
class Sandbox:
    url: str
    merchants: Path
    state_dir: Path
    process: subprocess.Popen
    env: dict[str, str] = field(default_factory=dict)

    def control(self, method: str, path: str, json: dict | None = None) -> dict:
        response = httpx.request(method, f"{self.url}{path}", json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return self.control("GET", "/_sandbox/stats")

    def faults(self, **faults) -> dict:
        return self.control("POST", "/_sandbox/faults", faults)

    def cli(self, *args: str, timeout: float = 120, input: str | None = None,
            target: bool = True) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "reconciler", "--merchants", str(self.merchants)]
        if target:
            command += ["--target", self.url]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout,
                              env=self.env, cwd=self.state_dir.parent, input=input)

    def spawn(self, *args: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "reconciler", "--merchants", str(self.merchants),
                   "--target", self.url, *args]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env, cwd=self.state_dir.parent)


def start_sandbox(tmp: Path, merchants_src: Path = SHIPPED, scenarios: tuple[str, ...] = (),
                  **env_extra: str) -> Sandbox:
    merchants = tmp / "merchants"
    if not merchants.exists():
        shutil.copytree(merchants_src, merchants)
    state_dir = tmp / ".reconciler"
    port = free_port()
    env = clean_env(RECONCILER_STATE_DIR=str(state_dir), **env_extra)
    command = [sys.executable, "-m", "reconciler", "--merchants", str(merchants), "sandbox", "serve",
               "--host", "127.0.0.1", "--port", str(port), "--state", str(tmp / "sandbox.json")]
    for scenario in scenarios:
        command += ["--scenario", scenario]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"sandbox exited: {process.stderr.read().decode()[-2000:]}")
        try:
            httpx.get(f"{url}/_sandbox/stats", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("sandbox did not start within 30 s")
    return Sandbox(url, merchants, state_dir, process, env)


def stop(sandbox: Sandbox) -> None:
    sandbox.process.terminate()
    try:
        sandbox.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sandbox.process.kill()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Sandbox]:
    sandbox = start_sandbox(tmp_path)
    try:
        yield sandbox
    finally:
        stop(sandbox)
