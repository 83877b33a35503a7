"""Errors at the edges are clear errors through the CLI: the path named, no traceback, the right exit code."""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli import cli as cli_group
from tests.e2e.conftest import (
    SHIPPED,
    Sandbox,
    clean_env,
    serving,
    start_logged_sandbox,
    write_fleet,
)

JOURNAL_LIMIT = 4_000  # bytes: the journal fills after a few writes


def limited_file_size() -> None:
    """In the child: files may not grow past JOURNAL_LIMIT, and a write past it fails (EFBIG)
    instead of killing the process (SIGXFSZ ignored), as on a full disk."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (JOURNAL_LIMIT, JOURNAL_LIMIT))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@pytest.fixture
def fleet(tmp_path: Path):
    merchants = tmp_path / "merchants"
    write_fleet(merchants, 1)  # one merchant: some writes land, then the disk is full
    with serving(start_logged_sandbox(tmp_path)) as sandbox:
        yield sandbox


def cli(sandbox: Sandbox, *args: str, **kwargs) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "reconciler", "--merchants", str(sandbox.merchants),
               "--target", sandbox.url, *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=sandbox.env,
                            cwd=sandbox.state_dir.parent, **kwargs)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    return result


def test_a_full_disk_mid_apply_reports_partial_and_prints_the_journal(fleet: Sandbox) -> None:
    result = cli(fleet, "apply", "--auto-approve", "--parallelism", "1",
                 preexec_fn=limited_file_size)
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-2000:]
    assert "cannot be written" in result.stdout and "File too large" in result.stdout
    journal = next(line for line in result.stderr.splitlines() if line.startswith("Journal: "))
    assert Path(journal.removeprefix("Journal: ")).stat().st_size <= JOURNAL_LIMIT
    writes = fleet.stats()["writes"]
    assert writes > 0
    again = cli(fleet, "apply", "--auto-approve")  # room again: a re-run converges
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert cli(fleet, "plan", "--detailed-exitcode").returncode == 0


# -- the CLI in this process, on the embedded sandbox ----------------------------------------


@pytest.fixture
def merchants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RECONCILER_TARGET", raising=False)
    target = tmp_path / "merchants"
    shutil.copytree(SHIPPED, target)
    return target


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_group, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("spec", ["http://[::1", "http://127.0.0.1:abc", "http://127.0.0.1:99999",
                                  "http://127.0.0.1:8787/path?q=1", "http://user:pw@127.0.0.1:8787",
                                  "http://127.0.0.1:0"])
def test_a_malformed_target_is_a_clear_error(merchants: Path, spec: str) -> None:
    code, output = run("--merchants", str(merchants), "--target", spec, "plan")
    assert code == 1, output
    assert f"unknown target {spec!r}" in output


def test_plan_out_to_a_directory_or_an_unwritable_path_is_an_error(merchants: Path,
                                                                   tmp_path: Path) -> None:
    directory = tmp_path / "plans"
    directory.mkdir()
    code, output = run("--merchants", str(merchants), "plan", "--out", str(directory))
    assert code == 1 and f"--out {directory}: is a directory" in output, output
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, output = run("--merchants", str(merchants), "plan", "--out", str(blocker / "plan.json"))
    assert code == 1 and f"--out {blocker / 'plan.json'}: cannot write here" in output, output
    assert not list(tmp_path.rglob("*.tmp")), "a temporary file was left behind"


def test_plan_out_never_writes_through_a_planted_temporary_link(merchants: Path,
                                                                tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "plan.json"
    Path(f"{out}.tmp").symlink_to(victim)
    code, output = run("--merchants", str(merchants), "plan", "--out", str(out))
    assert code == 0, output
    assert victim.read_text() == "precious\n"
    assert json.loads(out.read_text())["format_version"] == "1"
    assert not out.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == ["plan.json.tmp"]


def test_a_corrupt_sandbox_state_file_is_a_clear_error(merchants: Path, tmp_path: Path) -> None:
    state = tmp_path / "state" / "sandbox-state.json"
    assert run("--merchants", str(merchants), "plan")[0] == 0
    for corrupt in ('{"format": 1, "merch', "[1, 2]", "\udcff".encode("utf-8", "surrogateescape")
                    .decode("latin-1"), '{"format": 9, "merchants": {}}'):
        state.write_text(corrupt, encoding="latin-1")
        for command in (["plan"], ["apply", "--auto-approve"], ["verify"]):
            code, output = run("--merchants", str(merchants), *command)
            assert code == 1, output
            assert f"Error: {state}" in output and "move it away" in output, output


def test_a_corrupt_state_file_given_to_sandbox_serve_is_a_clear_error(merchants: Path,
                                                                      tmp_path: Path) -> None:
    state = tmp_path / "served.json"
    state.write_text('{"format": 1, "merchants": ')
    result = subprocess.run([sys.executable, "-m", "reconciler", "--merchants", str(merchants),
                             "sandbox", "serve", "--port", "1", "--state", str(state)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and str(state) in result.stderr


def test_a_state_directory_that_is_a_file_is_a_clear_error(merchants: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_directory = tmp_path / "state-file"
    not_a_directory.write_text("")
    monkeypatch.setenv("RECONCILER_STATE_DIR", str(not_a_directory))
    for command in (["plan"], ["apply", "--auto-approve"]):
        code, output = run("--merchants", str(merchants), *command)
        assert code == 1, output
        assert f"state directory {not_a_directory} is not a directory" in output


def _read_only_mounts_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount --bind / / 2>/dev/null; exit 0"],
                           capture_output=True, timeout=10)
    return probe.returncode == 0


@pytest.mark.skipif(not _read_only_mounts_work(), reason="needs unshare with user and mount namespaces")
@pytest.mark.parametrize("command", ["plan", "apply --auto-approve", "verify"])
def test_a_read_only_state_directory_is_a_clear_error(merchants: Path, tmp_path: Path,
                                                      command: str) -> None:
    """The state directory is bind-mounted read-only in a private mount namespace (EROFS)."""
    state = tmp_path / "state"
    state.mkdir()
    script = (f"mount --bind {state} {state} && mount -o remount,ro,bind {state} && "
              f"exec {sys.executable} -m reconciler --merchants {merchants} {command}")
    env = clean_env(RECONCILER_STATE_DIR=str(state))
    result = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"state directory {state} is not writable (Read-only file system)" in result.stderr


# -- merchant files that are not what they seem ---------------------------------------------


def validate(merchants: Path) -> tuple[int, str]:
    code, output = run("--merchants", str(merchants), "validate")
    assert "F002" not in output, output
    return code, output


def test_a_profile_chain_deeper_than_the_limit_is_a_rule_error(merchants: Path) -> None:
    profiles = merchants / "profiles"
    for i in range(1, 400):
        (profiles / f"layer-{i}.yaml").write_text(f"extends: layer-{i + 1}\n")
    shutil.copy(profiles / "tiktok-loop.yaml", profiles / "layer-400.yaml")
    bright = merchants / "bright-basics.yaml"
    bright.write_text(bright.read_text().replace("extends: tiktok-loop", "extends: layer-1"))
    code, output = validate(merchants)
    assert code == 1
    assert "P005 profile chain is deeper than 8 profiles" in output


@pytest.mark.parametrize("kind", ["dev-null-link", "fifo-link", "fifo"])
def test_a_profile_that_is_a_device_or_fifo_is_a_rule_error(merchants: Path, tmp_path: Path,
                                                            kind: str) -> None:
    profile = merchants / "profiles" / "odd.yaml"
    if kind == "dev-null-link":
        profile.symlink_to("/dev/null")
    elif kind == "fifo-link":
        os.mkfifo(tmp_path / "pipe")
        profile.symlink_to(tmp_path / "pipe")
    else:
        os.mkfifo(profile)
    bright = merchants / "bright-basics.yaml"
    bright.write_text(bright.read_text().replace("extends: tiktok-loop", "extends: odd"))
    code, output = validate(merchants)  # never blocks on the FIFO (the run has a timeout)
    assert code == 1
    rule = "F003 not a regular file" if kind == "fifo" else "F004 symbolic link leads out of"
    assert f"{profile}:1:1: {rule}" in output, output
    assert "P003 profile 'odd' has problems" in output


def test_a_merchant_link_leading_out_of_the_merchants_directory_is_refused(merchants: Path,
                                                                            tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((merchants / "bright-basics.yaml").read_text())
    (merchants / "bright-basics.yaml").unlink()
    (merchants / "bright-basics.yaml").symlink_to(outside)
    code, output = validate(merchants)
    assert code == 1
    assert f"{merchants / 'bright-basics.yaml'}:1:1: F004 symbolic link leads out of" in output
    code, output = run("--merchants", str(merchants), "plan")
    assert code == 1 and "nothing was read or written" in output


def test_a_file_name_holding_a_newline_is_one_clear_problem(merchants: Path) -> None:
    shutil.copy(merchants / "bright-basics.yaml", merchants / "bright\nbasics.yaml")
    code, output = validate(merchants)
    assert code == 1
    lines = [line for line in output.splitlines() if "F005" in line]
    assert lines == [f"{merchants}/bright\\nbasics.yaml:1:1: F005 file name holds a control "
                     "character; the file is not loaded (rename the file: lower-case letters, "
                     "digits and dashes, e.g. acme-apparel.yaml)"]
    assert all(re.match(r"^\S.*:\d+:\d+: [A-Z]\d{3} ", line) or not line.strip() or
               line.endswith("found") for line in output.splitlines()), output


# -- the served sandbox's control API, and worker processes ----------------------------------


@pytest.fixture
def served(tmp_path: Path):
    with serving(start_logged_sandbox(tmp_path)) as sandbox:
        yield sandbox


@pytest.mark.parametrize("headers,body", [
    ({"Origin": "https://evil.example"}, '{"latency_ms": 5000}'),
    ({"Origin": "null"}, '{"latency_ms": 5000}'),
    ({"Content-Type": "application/x-www-form-urlencoded"}, "latency_ms=5000"),
    ({"Content-Type": "text/plain"}, '{"latency_ms": 5000}'),
    ({"Content-Type": "multipart/form-data; boundary=x"}, "--x--"),
    ({"Host": "evil.example"}, '{"latency_ms": 5000}'),
    ({"Host": "127.0.0.1.evil.example:8787"}, '{"latency_ms": 5000}'),
], ids=["cross-origin", "opaque-origin", "form", "text-plain", "multipart", "foreign-host",
        "look-alike-host"])
def test_the_control_api_refuses_what_a_web_page_could_send(served: Sandbox, headers: dict,
                                                             body: str) -> None:
    before = served.control("GET", "/_sandbox/faults")
    sent = {"Content-Type": "application/json", **headers}
    answer = httpx.post(f"{served.url}/_sandbox/faults", content=body, headers=sent, timeout=10)
    assert answer.status_code == 403, answer.text
    assert httpx.post(f"{served.url}/_sandbox/reset", headers=sent, timeout=10).status_code == 403
    assert served.control("GET", "/_sandbox/faults") == before  # nothing was changed


def test_the_control_api_still_answers_local_tools(served: Sandbox) -> None:
    port = served.url.rsplit(":", 1)[1]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
        answer = httpx.get(f"{served.url}/_sandbox/stats", headers={"Host": host}, timeout=10)
        assert answer.status_code == 200, (host, answer.text)
    same_origin = {"Origin": served.url, "Content-Type": "application/json"}
    assert httpx.post(f"{served.url}/_sandbox/faults", json={"latency_ms": 1},
                      headers=same_origin, timeout=10).status_code == 200
    assert httpx.post(f"{served.url}/_sandbox/reset", timeout=10).status_code == 200  # no body


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found |= {int(c) for c in text.split()}
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "State:\tZ" not in status  # a zombie has exited; only its reaping is left


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="reads /proc/PID/task/TID/children (Linux)")
def test_plan_workers_die_with_their_parent(tmp_path: Path) -> None:
    merchants = tmp_path / "merchants"
    write_fleet(merchants, 8)
    with serving(start_logged_sandbox(tmp_path)) as sandbox:
        sandbox.faults(latency_ms=400)  # the read lasts far longer than the test waits
        parent = subprocess.Popen(
            [sys.executable, "-m", "reconciler", "--merchants", str(merchants), "--target",
             sandbox.url, "plan", "--workers", "2", "--parallelism", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=sandbox.env)
        try:
            deadline = time.monotonic() + 30
            workers: set[int] = set()
            while time.monotonic() < deadline and len(workers) < 2:
                time.sleep(0.1)
                workers = {c for c in _children(parent.pid) if _alive(c)}
            assert len(workers) >= 2, "the plan never started its workers"
            parent.kill()
            parent.wait(timeout=10)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(_alive(w) for w in workers):
                time.sleep(0.1)
            assert not [w for w in workers if _alive(w)], "workers outlived their parent"
        finally:
            if parent.poll() is None:
                parent.kill()


def test_a_large_plan_read_slowly_is_never_cut_short(tmp_path: Path) -> None:
    """Unbuffered (PYTHONUNBUFFERED, as CI often sets), a plan over 64 KiB read by a slow
    consumer lost everything past the pipe's buffer, with exit 0."""
    merchants = tmp_path / "merchants"
    write_fleet(merchants, 50)
    env = clean_env(RECONCILER_STATE_DIR=str(tmp_path / "state"), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "reconciler", "--merchants", str(merchants),
                                "plan", "--format", "json"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, env=env)
    try:
        time.sleep(3)  # the consumer is busy; the pipe fills up
        output = process.stdout.read()
        assert process.wait(timeout=60) == 0
    finally:
        process.stdout.close()
        if process.poll() is None:
            process.kill()
    assert len(output) > 65_536
    assert len(json.loads(output)["merchants"]) == 50
