"""Secrets never appear in any output (issue 8, item 4; docs/design.md section 9).

Every credential the merchants reference gets a canary value, in the served
sandbox (so it accepts them) and in the CLI. Every command runs, in every
output format, with debug logging, on success and failure paths (bad TikTok
signature, Loop 401, 5xx everywhere, a live target with a variable unset);
afterwards no canary appears in stdout, stderr, logs, plan files, journals,
locks or exported YAML.

The fleet is the shipped one with its secrets named as variables (`env:`);
tests/e2e/test_sops.py holds the same promise for `sops:` values.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.generate import copy_profiles
from reconciler.cli import cli
from reconciler.config import load_merchants
from tests.e2e.conftest import SHIPPED, Sandbox, env_refs, serving, start_logged_sandbox
from tests.hardening.conftest import files_text, run_checked

MARK = "7f3a9"  # every canary ends with it; it appears in nothing else


def env_fleet() -> Path:
    """A copy of the shipped merchants whose secrets are `env:` variables (ACME_LOOP_API_KEY, ...)."""
    root = Path(tempfile.mkdtemp(prefix="shipped-env-"))
    atexit.register(shutil.rmtree, root, True)
    merchants = root / "merchants"
    copy_profiles(SHIPPED / "profiles", merchants / "profiles")
    for path in SHIPPED.glob("*.yaml"):
        prefix = path.stem.split("-")[0].upper()
        (merchants / path.name).write_text(env_refs(path.read_text(), prefix))
    return merchants


FLEET = env_fleet()


def secret_vars(merchants: Path) -> list[str]:
    loaded = load_merchants(merchants)
    assert not loaded.problems
    return sorted({ref.var for m in loaded.merchants for ref in m.credentials.all().values()})


def canary(var: str, variant: str = "") -> str:
    return f"CANARY-{var}{variant}-{MARK}"


CANARIES = {var: canary(var) for var in secret_vars(FLEET)}
SLUGS = [m.slug for m in load_merchants(FLEET).merchants]


class Transcript:
    """Everything a run showed anyone: outputs of every command, and files it wrote."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []

    def add(self, label: str, result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
        self.parts.append((f"{label} stdout", result.stdout))
        self.parts.append((f"{label} stderr", result.stderr))
        return result

    def assert_clean(self) -> None:
        for label, text in self.parts:
            assert MARK not in text and "CANARY" not in text, f"canary leaked in {label}: " + \
                text[max(0, text.find("CANARY") - 200):text.find("CANARY") + 200]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    sandbox = start_logged_sandbox(tmp_path_factory.mktemp("secrets"), FLEET, persist=True,
                                   RECONCILER_LOG="debug", RECONCILER_HTTP_TIMEOUT="2",
                                   RECONCILER_RETRY_ATTEMPTS="3", RECONCILER_RETRY_SECONDS="3",
                                   **CANARIES)
    with serving(sandbox):
        yield sandbox


def cli_with(sandbox: Sandbox, **env: str) -> Sandbox:
    """The same sandbox, with the CLI run under different environment values."""
    return dataclasses.replace(sandbox, env={**sandbox.env, **env})


def test_canaries_are_real_credentials(served: Sandbox) -> None:
    """The canaries are what the sandbox checks: a plan with them reads every service."""
    result = run_checked(served, "plan", "--format", "json")
    document = json.loads(result.stdout)
    assert document["summary"]["errored"] == 0, document
    assert served.stats()["services"]["loop"]["requests"] >= len(SLUGS)


def test_no_command_in_any_format_shows_a_secret(served: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "out"
    log = Transcript()
    log.add("validate", run_checked(served, "validate"))
    log.add("validate json", run_checked(served, "validate", "--format", "json"))
    for fmt in ("text", "json", "markdown"):
        result = log.add(f"plan {fmt}", run_checked(served, "plan", "--format", fmt,
                                                    "--out", str(out / f"plan-{fmt}.json")))
        assert result.returncode == 0, result.stderr[-2000:]
    for shard in ("1/2", "2/2"):
        log.add(f"plan shard {shard}", run_checked(
            served, "plan", "--shard", shard, "--out", str(out / f"shard-{shard[0]}.json")))
    for fmt in ("json", "markdown", "text"):
        log.add(f"plan-merge {fmt}", run_checked(
            served, "plan-merge", str(out / "shard-1.json"), str(out / "shard-2.json"),
            "--format", fmt, "--out", str(out / f"merged-{fmt}.json")))
    applied = log.add("apply", run_checked(served, "apply", "--auto-approve"))
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr[-2000:]
    log.add("apply again", run_checked(served, "apply", "--auto-approve"))
    for slug in SLUGS:
        exported = log.add(f"export {slug}", run_checked(served, "export", slug))
        assert exported.returncode == 0, exported.stderr[-2000:]
        (out / f"export-{slug}.yaml").write_text(exported.stdout)
    for fmt in ("text", "json"):
        log.add(f"verify {fmt}", run_checked(served, "verify", "--format", fmt))

    log.parts.append(("files written", files_text(out)))
    log.parts.append(("state dir (journals, locks)", files_text(served.state_dir)))
    assert list((served.state_dir / "journal").glob("*.jsonl")), "apply wrote no journal"
    log.parts.append(("sandbox log", served.log.read_text(errors="replace") if served.log else ""))
    log.assert_clean()


def test_failure_paths_show_no_secret(served: Sandbox, tmp_path: Path) -> None:
    log = Transcript()
    wrong_secret = cli_with(served, TTS_APP_SECRET=canary("TTS_APP_SECRET", "-WRONG"))
    result = log.add("bad signature", run_checked(wrong_secret, "plan", "--format", "json",
                                                  "--out", str(tmp_path / "bad-sign.json")))
    document = json.loads(result.stdout)
    assert result.returncode == 1
    errors = [m["error"] for m in document["merchants"]]
    assert all(e and e.startswith("tiktok_shop (merchant ") for e in errors), errors
    log.add("bad signature apply", run_checked(wrong_secret, "apply", "--auto-approve"))

    wrong_loop = cli_with(served, **{v: canary(v, "-WRONG") for v in CANARIES if v.endswith("LOOP_API_KEY")})
    result = log.add("loop 401", run_checked(wrong_loop, "plan", "--format", "markdown"))
    assert result.returncode == 1 and "401" in result.stdout + result.stderr
    log.add("loop 401 verify", run_checked(wrong_loop, "verify"))
    for slug in SLUGS:
        log.add(f"loop 401 export {slug}", run_checked(wrong_loop, "export", slug))

    served.faults(error_rate=1.0)
    try:
        for fmt in ("text", "json", "markdown"):
            result = log.add(f"5xx plan {fmt}", run_checked(served, "plan", "--format", fmt,
                                                            "--detailed-exitcode"))
            assert result.returncode == 1
        log.add("5xx apply", run_checked(served, "apply", "--auto-approve"))
        log.add("5xx export", run_checked(served, "export", SLUGS[0]))
        log.add("5xx verify", run_checked(served, "verify", "--format", "json"))
    finally:
        served.faults()

    log.parts.append(("plan files", files_text(tmp_path)))
    log.parts.append(("state dir (journals, locks)", files_text(served.state_dir)))
    log.assert_clean()


# -- live target with variables unset: fails before anything is sent -----------------------------

class NetworkAttempts(list):
    """Installs guards that refuse (and record) any lookup of or connection to a
    non-loopback address, for an in-process run."""

    LOOPBACK = ("127.", "localhost", "::1")

    def install(self, monkeypatch: pytest.MonkeyPatch) -> NetworkAttempts:
        real_lookup, real_connect = socket.getaddrinfo, socket.socket.connect

        def is_loopback(host: object) -> bool:
            if isinstance(host, bytes):
                host = host.decode("ascii", "replace")
            return isinstance(host, str) and host.startswith(self.LOOPBACK)

        def lookup(host, *args, **kwargs):
            if not is_loopback(host):
                self.append(("lookup", host))
                raise OSError(f"test guard: no lookups of {host!r}")
            return real_lookup(host, *args, **kwargs)

        def connect(sock, address):
            host = address[0] if isinstance(address, tuple) else address
            if not is_loopback(host):
                self.append(("connect", host))
                raise OSError(f"test guard: no connections to {host!r}")
            return real_connect(sock, address)

        def create_connection(address, *args, **kwargs):
            if not is_loopback(address[0]):
                self.append(("connect", address[0]))
                raise OSError(f"test guard: no connections to {address[0]!r}")
            return socket.create_connection.__wrapped__(address, *args, **kwargs)

        create_connection.__wrapped__ = socket.create_connection  # type: ignore[attr-defined]
        monkeypatch.setattr(socket, "getaddrinfo", lookup)
        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket, "create_connection", create_connection)
        return self


def run_live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, unset: set[str],
             *args: str) -> tuple[object, NetworkAttempts]:
    for var in CANARIES:
        monkeypatch.delenv(var, raising=False)
    for var, value in CANARIES.items():
        if var not in unset:
            monkeypatch.setenv(var, value)
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("RECONCILER_LOG", "debug")
    monkeypatch.delenv("RECONCILER_TARGET", raising=False)
    attempts = NetworkAttempts().install(monkeypatch)
    result = CliRunner().invoke(cli, ["--merchants", str(FLEET), "--target", "live", *args])
    return result, attempts


@pytest.mark.parametrize("command", [["plan"], ["plan", "--format", "json"],
                                     ["apply", "--auto-approve"], ["verify"],
                                     ["export", "bright-basics"]])
def test_live_target_with_a_shared_variable_unset_names_it_and_sends_nothing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str]) -> None:
    result, attempts = run_live(monkeypatch, tmp_path, {"TTS_APP_SECRET"}, *command)
    output = result.output
    assert result.exit_code == 1, output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "TTS_APP_SECRET" in output
    assert MARK not in output and "CANARY" not in output
    assert attempts == [], attempts


def test_live_target_with_one_merchants_variable_unset_sends_nothing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result, attempts = run_live(monkeypatch, tmp_path, {"BRIGHT_LOOP_API_KEY"}, "plan")
    assert result.exit_code == 1, result.output
    assert "BRIGHT_LOOP_API_KEY" in result.output
    assert MARK not in result.output
    assert attempts == [], attempts
