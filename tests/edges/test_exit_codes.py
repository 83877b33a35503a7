"""Issue 14 point 3: exit codes are a contract (README table)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.engine.lock import MerchantLock
from tests.e2e.conftest import Sandbox, clean_env, serving, start_logged_sandbox, write_fleet
from tests.edges.harness import copy_merchants, invoke


@pytest.mark.parametrize("args", [
    ("plan", "--detailed-exitcode", "--no-such-option"),
    ("plan", "--detailed-exitcode", "--format", "yaml"),
    ("plan", "--parallelism", "0"),
    ("apply", "--lock-wait"),
    ("plan-merge",),
    ("no-such-command",),
    ("sandbox", "serve", "--port", "http"),
], ids=["unknown-option", "bad-choice", "out-of-range", "missing-value", "missing-argument",
        "unknown-command", "not-a-number"])
def test_usage_errors_exit_1_never_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    merchants = copy_merchants(tmp_path)
    result = invoke(tmp_path, "--merchants", str(merchants), *args)
    assert result.exit_code == 1, result.output
    assert "Error:" in result.stderr
    assert result.stdout == ""


def test_usage_errors_exit_1_from_the_installed_entry_point(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--detailed-exitcode",
                             "--bogus"], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                            env=clean_env())
    assert result.returncode == 1
    assert "No such option" in result.stderr


FLEET = 6


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[Sandbox]:
    write_fleet(tmp_path / "merchants", FLEET)
    with serving(start_logged_sandbox(tmp_path)) as sandbox:
        yield sandbox


def apply_on_fresh_sandbox(sandbox: Sandbox, env: dict[str, str] | None = None,
                           faults: dict | None = None) -> tuple[int, int, str]:
    """(exit code, writes the sandbox received, output) of one apply on a freshly seeded sandbox."""
    sandbox.control("POST", "/_sandbox/reset")
    if faults:
        sandbox.faults(**faults)
    result = sandbox.cli("apply", "--auto-approve", env=env)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    return result.returncode, sandbox.stats()["writes"], result.stdout + result.stderr


def revoked(*indexes: int) -> dict[str, str]:
    """Loop keys the sandbox does not know (revoked) for these fleet merchants."""
    return {f"FLEET_{i:03d}_LOOP_KEY": f"revoked-loop-key-{i:03d}-0123456789" for i in indexes}


def test_one_revoked_key_while_the_others_write_exits_4(fleet: Sandbox) -> None:
    code, writes, output = apply_on_fresh_sandbox(fleet, env=revoked(2))
    assert writes > 0
    assert code == 4, output[-3000:]
    assert "fleet-002" in output


def test_exit_1_means_nothing_was_written(fleet: Sandbox) -> None:
    """Over a fleet, in every way an apply can go wrong: exit 1 only with zero writes."""
    runs = {
        "all keys revoked": apply_on_fresh_sandbox(fleet, env=revoked(*range(FLEET))),
        "one key revoked": apply_on_fresh_sandbox(fleet, env=revoked(0)),
        "every write fails": apply_on_fresh_sandbox(fleet, faults={"write_error_rate": 1.0}),
        "loop writes fail": apply_on_fresh_sandbox(
            fleet, faults={"services": {"loop": {"write_error_rate": 1.0}}}),
        "healthy": apply_on_fresh_sandbox(fleet),
    }
    for name, (code, writes, output) in runs.items():
        if code == 1:
            assert writes == 0, f"{name}: exit 1 after {writes} write(s)\n{output[-2000:]}"
        else:
            assert code in (0, 4) and writes > 0, f"{name}: exit {code}, {writes} write(s)"
    assert runs["all keys revoked"][0] == 1
    assert runs["one key revoked"][0] == 4
    assert runs["every write fails"][0] == 4  # sent, answered 500: may have landed
    assert runs["healthy"][0] == 0


def test_a_refused_lock_says_who_holds_it_and_not_nothing_to_apply(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    holders = [MerchantLock(tmp_path / ".reconciler", slug, wait_seconds=0)
               for slug in ("acme-apparel", "bright-basics", "cosmo-kids")]
    for lock in holders:
        lock.acquire()
    try:
        result = invoke(tmp_path, "--merchants", str(merchants), "apply", "--auto-approve",
                        "--lock-wait", "0")
    finally:
        for lock in holders:
            lock.release()
    assert result.exit_code == 5, result.output
    assert "Nothing to apply" not in result.output
    assert "acme-apparel: refused: merchant acme-apparel is locked by" in result.stderr
    assert "pid" in result.stderr and "nothing was written" in result.stderr


def test_sandbox_serve_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    merchants = copy_merchants(tmp_path)
    for port in ("99999", "0", "-1"):
        result = invoke(tmp_path, "--merchants", str(merchants), "sandbox", "serve", "--port", port)
        assert result.exit_code == 1, result.output
        assert "1<=x<=65535" in result.stderr


def serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    merchants = copy_merchants(tmp_path)
    return subprocess.run([sys.executable, "-m", "reconciler", "--merchants", str(merchants),
                           "sandbox", "serve", *args], capture_output=True, text=True,
                          timeout=60, env=clean_env(), cwd=tmp_path)


def test_sandbox_serve_on_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = serve(tmp_path, "--port", str(port))
    assert result.returncode == 1, result.stderr
    assert f"Error: cannot serve on 127.0.0.1:{port}: address already in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "no host here", "999.1.1.1"])
def test_sandbox_serve_refuses_a_bad_host(tmp_path: Path, host: str) -> None:
    result = serve(tmp_path, "--host", host, "--port", "8787")
    assert result.returncode == 1, result.stderr
    assert "Error: " in result.stderr and "Traceback" not in result.stderr
