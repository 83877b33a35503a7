"""End-to-end harness: the real CLI, as a subprocess, against a sandbox served on 127.0.0.1."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from reconciler.sandbox.server import wait_until_serving
from tests.clock import PINNED

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "merchants"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECONCILER_")}
    env.update({"NO_COLOR": "1", "PYTHONUNBUFFERED": "1", **PINNED}, **extra)
    return env


@dataclass
class Sandbox:
    url: str
    merchants: Path
    state_dir: Path
    process: subprocess.Popen
    env: dict[str, str] = field(default_factory=dict)
    log: Path | None = None  # the sandbox's output, when started by `start_logged_sandbox`

    def control(self, method: str, path: str, json: dict | None = None) -> dict:
        response = httpx.request(method, f"{self.url}{path}", json=json, timeout=10)
        response.raise_for_status()
        return response.json()

    def stats(self) -> dict:
        return self.control("GET", "/_sandbox/stats")

    def faults(self, **faults) -> dict:
        return self.control("POST", "/_sandbox/faults", faults)

    def cli(self, *args: str, timeout: float = 120, input: str | None = None,
            target: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "reconciler", "--merchants", str(self.merchants)]
        if target:
            command += ["--target", self.url]
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=timeout,
                              env={**self.env, **(env or {})}, cwd=self.state_dir.parent,
                              input=input)

    def spawn(self, *args: str) -> subprocess.Popen:
        command = [sys.executable, "-m", "reconciler", "--merchants", str(self.merchants),
                   "--target", self.url, *args]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env, cwd=self.state_dir.parent)


def start_sandbox(tmp: Path, merchants_src: Path = SHIPPED, scenarios: tuple[str, ...] = (),
                  **env_extra: str) -> Sandbox:
    """A served sandbox that persists its state, with its output in `tmp/sandbox.log`."""
    return _launch(tmp, merchants_src, scenarios, tmp / "sandbox.json", tmp / "sandbox.log",
                   env_extra)


def start_logged_sandbox(tmp: Path, merchants_src: Path = SHIPPED, scenarios: tuple[str, ...] = (),
                         *, persist: bool = False, **env_extra: str) -> Sandbox:
    """Like `start_sandbox`, with the sandbox's output in `tmp/sandbox.log` (`Sandbox.log`).

    A file, not a pipe nobody reads: under heavy fault injection the sandbox
    logs enough to fill a pipe and would then block. Without `persist` the
    emulator's state lives in memory only: the served sandbox saves its whole
    state on every write, which dominates the run time of a fleet apply.
    """
    state_file = tmp / "sandbox.json" if persist else None
    return _launch(tmp, merchants_src, scenarios, state_file, tmp / "sandbox.log", env_extra)


def _launch(tmp: Path, merchants_src: Path, scenarios: tuple[str, ...], state_file: Path | None,
            log: Path, env_extra: dict[str, str]) -> Sandbox:
    merchants = tmp / "merchants"
    if not merchants.exists():
        shutil.copytree(merchants_src, merchants)
    state_dir = tmp / ".reconciler"
    port = free_port()
    env = clean_env(RECONCILER_STATE_DIR=str(state_dir), **env_extra)
    command = [sys.executable, "-m", "reconciler", "--merchants", str(merchants), "sandbox", "serve",
               "--host", "127.0.0.1", "--port", str(port)]
    if state_file is not None:
        command += ["--state", str(state_file)]
    for scenario in scenarios:
        command += ["--scenario", scenario]
    # Output to a file, never a pipe nobody reads: a full pipe would block the sandbox.
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(url, process, log, timeout=30)
    return Sandbox(url, merchants, state_dir, process, env, log)


def stop(sandbox: Sandbox) -> None:
    sandbox.process.terminate()
    try:
        sandbox.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        sandbox.process.kill()
        sandbox.process.wait(timeout=10)
    for pipe in (sandbox.process.stdout, sandbox.process.stderr):
        if pipe:
            pipe.close()


@contextlib.contextmanager
def serving(sandbox: Sandbox) -> Iterator[Sandbox]:
    """`sandbox` for the length of a `with` block (a fixture's yield), stopped after."""
    try:
        yield sandbox
    finally:
        stop(sandbox)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Sandbox]:
    with serving(start_sandbox(tmp_path)) as sandbox:
        yield sandbox


def env_refs(text: str, prefix: str) -> str:
    """A shipped merchant file's `sops:` references as `env:` variables named from `prefix`.

    `sops:secrets/acme-apparel.sops.yaml#loop.api_key` becomes `env:ACME_LOOP_API_KEY`
    (prefix `ACME`), the app's credentials `env:TTS_APP_KEY` and `env:TTS_APP_SECRET`: a
    copy of a shipped file then needs no encrypted file beside it.
    """
    from bench.generate import APP_REFS

    for sealed, variable in APP_REFS.items():
        text = text.replace(sealed, variable)
    return re.sub(r"sops:[\w./-]+#(\w+)\.(\w+)",
                  lambda m: f"env:{prefix}_{m.group(1).upper()}_{m.group(2).upper()}", text)


def env_copy(directory: Path) -> Path:
    """A copy of the shipped merchants in `directory` whose secrets are `env:` variables.

    Variables are named as `env_refs` names them (ACME_LOOP_API_KEY, BRIGHT_PIPE17_API_KEY,
    ...), so a test can hand one merchant a wrong or borrowed credential.
    """
    from bench.generate import copy_profiles

    copy_profiles(SHIPPED / "profiles", directory / "profiles")
    for path in SHIPPED.glob("*.yaml"):
        prefix = path.stem.split("-")[0].upper()
        (directory / path.name).write_text(env_refs(path.read_text(), prefix))
    return directory


def write_fleet(directory: Path, count: int, *, prefix: str = "fleet") -> list[str]:
    """Write `count` ready merchant files (shaped like bright-basics) extending `tiktok-loop`.

    Each merchant has its own shops, portal domain and secret variables, and
    an attested H5 Redirect, so a fresh sandbox plans real, unblocked work.
    The shipped profiles are copied beside them (the app's credentials as
    `env:TTS_APP_KEY` and `env:TTS_APP_SECRET`). Returns the slugs.
    """
    from bench.generate import copy_profiles

    directory.mkdir(parents=True, exist_ok=True)
    copy_profiles(SHIPPED / "profiles", directory / "profiles")
    slugs = []
    for index in range(count):
        slug = f"{prefix}-{index:03d}"
        tag = f"{prefix.upper().replace('-', '_')}_{index:03d}"
        (directory / f"{slug}.yaml").write_text(
            f"extends: tiktok-loop\n"
            f"name: {prefix.title()} {index}\n"
            f"shopify:\n"
            f"  shop: {slug}.myshopify.com\n"
            f"  access_token: env:{tag}_SHOPIFY_TOKEN\n"
            f"tiktok_shop:\n"
            f"  shop_id: \"{7_400_000_000_000_000_000 + index}\"\n"
            f"  region: US\n"
            f"  access_token: env:{tag}_TTS_ACCESS_TOKEN\n"
            f"  h5_redirect:\n"
            f"    approved: true\n"
            f"    evidence: \"AM approved by email, ticket {index}\"\n"
            f"pipe17:\n"
            f"  api_key: env:{tag}_PIPE17_KEY\n"
            f"loop:\n"
            f"  api_key: env:{tag}_LOOP_KEY\n"
            f"  portal_domain: returns.{slug}.example.com\n",
            encoding="utf-8",
        )
        slugs.append(slug)
    return slugs
