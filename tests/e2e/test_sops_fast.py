"""Age-only fleets are decrypted in process: no sops process at all, and workers decrypt nothing.

Counted with a wrapper around the CLI (tests/sopscount.py) that records
every sops process the command, or any worker it forks, starts. So the
secrets target (docs/performance.md) cannot silently fall back to one
process per file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Sandbox, serving, start_sandbox, write_fleet
from tests.sopsfiles import AgeKey, age_key, sopsify

MARK = "f4a57"
MERCHANTS = 6
FILES = MERCHANTS + 1  # and the profile's shared file


@pytest.fixture(scope="module")
def key() -> AgeKey:
    return age_key()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, key: AgeKey) -> Iterator[Sandbox]:
    tmp = tmp_path_factory.mktemp("sops-fast")
    source = tmp / "source"
    write_fleet(source, MERCHANTS, prefix="quick")
    sopsify(source, key.public, lambda var: f"CANARY-{var}-{MARK}")
    with serving(start_sandbox(tmp, source, **key.env)) as sandbox:
        yield sandbox


def counted(fleet: Sandbox, tmp_path: Path, *args: str, env: dict[str, str] | None = None
            ) -> tuple[subprocess.CompletedProcess, int, list[tuple[int, str]]]:
    """The CLI's result, its pid, and (pid, file) for each sops process started."""
    log = tmp_path / "sops-calls.log"
    result = subprocess.run(
        [sys.executable, "-m", "tests.sopscount", str(log), "--merchants", str(fleet.merchants),
         "--target", fleet.url, *args],
        capture_output=True, text=True, timeout=180, env={**fleet.env, **(env or {})},
        cwd=Path(__file__).resolve().parents[2])
    lines = [line.split(" ", 1) for line in log.read_text(encoding="utf-8").splitlines()]
    parent = int(lines[0][0])
    return result, parent, [(int(pid), name) for pid, name in lines[1:]]


def test_an_age_fleet_plans_without_one_sops_process(fleet: Sandbox, tmp_path: Path) -> None:
    result, _, calls = counted(fleet, tmp_path, "plan", "--detailed-exitcode")
    assert result.returncode == 2, result.stdout + result.stderr
    assert calls == []
    assert MARK not in result.stdout + result.stderr


def test_the_switch_sends_every_file_to_the_binary_once(fleet: Sandbox, tmp_path: Path) -> None:
    result, parent, calls = counted(fleet, tmp_path, "plan", "--detailed-exitcode",
                                    env={"RECONCILER_SOPS_DECRYPT": "binary"})
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(calls) == FILES and len({name for _, name in calls}) == FILES
    assert {pid for pid, _ in calls} == {parent}


@pytest.mark.parametrize("mode", ["auto", "binary"])
def test_workers_decrypt_nothing_of_their_own(fleet: Sandbox, tmp_path: Path, mode: str) -> None:
    """The parent decrypts each file once; forked workers inherit the documents in memory."""
    one = fleet.cli("plan", "--format", "json", "--workers", "1")
    result, parent, calls = counted(fleet, tmp_path, "plan", "--format", "json", "--workers", "3",
                                    env={"RECONCILER_SOPS_DECRYPT": mode})
    assert result.returncode == one.returncode == 0, result.stderr
    assert json.loads(result.stdout)["checksum"] == json.loads(one.stdout)["checksum"]
    assert json.loads(result.stdout)["summary"]["errored"] == 0
    assert len(calls) == (FILES if mode == "binary" else 0)
    assert {pid for pid, _ in calls} <= {parent}
    assert MARK not in result.stdout + result.stderr


def test_a_tampered_file_is_refused_naming_it_with_no_request(fleet: Sandbox, key: AgeKey,
                                                               tmp_path: Path) -> None:
    fleet.control("POST", "/_sandbox/reset")
    secret = fleet.merchants / "secrets" / "quick-002.sops.yaml"
    original = secret.read_text(encoding="utf-8")
    pipe17, loop = (line.split(": ", 1)[1] for line in original.splitlines()
                    if line.startswith("    api_key: "))
    secret.write_text(original.replace(pipe17, "@@").replace(loop, pipe17).replace("@@", loop),
                      encoding="utf-8")
    try:
        result, _, calls = counted(fleet, tmp_path, "plan")
    finally:
        secret.write_text(original, encoding="utf-8")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "secrets/quick-002.sops.yaml (key path" in result.stderr
    assert "Traceback" not in result.stderr
    assert [name for _, name in calls] == [str(secret)]  # only the refused file met the binary
    assert fleet.stats()["requests"] == 0
