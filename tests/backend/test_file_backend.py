"""The file backend through the CLI: a journal that never blocks work, exact interrupted-run
notes, lock errors, run-wide lock waits and the audit log."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.engine.journal import Journal, in_flight
from reconciler.engine.lock import MerchantLock
from reconciler.model import Action, Change
from tests.backend.harness import Runner, make_runner
from tests.e2e.conftest import write_fleet

ADDRESS = "loop.portal.instructions"


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return make_runner(tmp_path)


def converged(runner: Runner) -> Runner:
    result = runner.cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stderr[-3000:]
    return runner


def interrupted_write(runner: Runner, merchant: str) -> Path:
    """The journal of an apply that died while `merchant`'s write was in flight."""
    journal = Journal(runner.state_dir, "sandbox")
    journal.write(merchant, Change(ADDRESS, Action.UPDATE, "old", "new"), "intent")
    journal.close()
    return journal.path


def test_a_torn_or_foreign_journal_line_is_reported_once_with_its_line_and_skipped(
        runner: Runner) -> None:
    path = interrupted_write(runner, "acme-apparel")
    with path.open("ab") as handle:
        handle.write(b'{"phase": "applied", "merchant": "acme-apparel", "note": "caf'
                     + "é".encode()[:1] + b"\n")  # torn inside a two-byte character
        handle.write(b"[1,2]\n")
    first = runner.cli("apply", "--auto-approve")
    assert first.returncode == 0, first.stderr
    assert f"{path}:2: not a journal entry" in first.stderr
    assert f"{path}:3: not a journal entry" in first.stderr
    assert first.stderr.count("not a journal entry") == 2
    # The intent on line 1 still counts: the note names it.
    assert f"acme-apparel:{ADDRESS}" in first.stderr
    second = runner.cli("apply", "--auto-approve")
    assert second.returncode == 0
    assert "not a journal entry" not in second.stderr


def test_the_interrupted_note_is_per_merchant_and_nothing_to_apply_settles_it(
        runner: Runner) -> None:
    converged(runner)
    interrupted_write(runner, "acme-apparel")
    other = runner.cli("apply", "--auto-approve", "--merchant", "bright-basics")
    assert other.returncode == 0
    assert "interrupted" not in other.stderr
    seen = runner.cli("apply", "--auto-approve", "--merchant", "acme-apparel")
    assert seen.returncode == 0
    assert "Nothing to apply." in seen.stdout
    assert f"interrupted with 1 write(s) in flight (acme-apparel:{ADDRESS})" in seen.stderr
    again = runner.cli("apply", "--auto-approve", "--merchant", "acme-apparel")
    assert "interrupted" not in again.stderr


def test_a_refused_apply_does_not_call_a_running_applys_writes_interrupted(
        runner: Runner) -> None:
    converged(runner)
    lock = MerchantLock(runner.state_dir, "acme-apparel", wait_seconds=0)
    lock.acquire()  # a running apply, with a write in flight right now
    try:
        interrupted_write(runner, "acme-apparel")
        refused = runner.cli("apply", "--auto-approve", "--merchant", "acme-apparel",
                             "--lock-wait", "0")
    finally:
        lock.release()
    assert refused.returncode == 5
    assert "locked by" in refused.stderr and "interrupted" not in refused.stderr
    # Nor did it settle the running apply's write.
    assert [e["merchant"] for e in in_flight(runner.state_dir, ["acme-apparel"])] == ["acme-apparel"]


def test_a_lock_path_that_is_a_directory_is_a_clear_error_and_nothing_is_written(
        runner: Runner) -> None:
    (runner.state_dir / "locks" / "acme-apparel.lock").mkdir(parents=True)
    result = runner.cli("apply", "--auto-approve", "--merchant", "acme-apparel")
    assert result.returncode == 1
    assert "acme-apparel.lock: the lock path is a directory" in result.stderr
    assert not (runner.state_dir / "audit.jsonl").exists()


HOLD = """
import sys, time
from pathlib import Path
from reconciler.engine.lock import MerchantLock
locks = [MerchantLock(Path(sys.argv[1]), slug, wait_seconds=0) for slug in sys.argv[2:]]
for lock in locks:
    lock.acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_lock_waits_are_bounded_for_the_whole_run_not_per_merchant(tmp_path: Path) -> None:
    merchants = tmp_path / "fleet"
    slugs = write_fleet(merchants, 50)
    runner = make_runner(tmp_path / "op", merchants)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(runner.state_dir), *slugs],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        result = runner.cli("apply", "--auto-approve", "--lock-wait", "2")
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    assert result.returncode == 5
    assert result.stderr.count("refused: merchant") == 50
    assert f"(pid {holder.pid}," in result.stderr
    assert elapsed < 8, f"waited {elapsed:.1f} s for a 2 s budget"  # 50 x 2 s before


def test_every_write_is_in_the_audit_log_and_history_reads_it(runner: Runner) -> None:
    checksum = runner.plan("--merchant", "acme-apparel")["checksum"]
    ci = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "shop/returns",
          "GITHUB_RUN_ID": "4242"}
    applied = runner.cli("apply", "--auto-approve", "--merchant", "acme-apparel", env=ci)
    assert applied.returncode == 0
    audit = runner.state_dir / "audit.jsonl"
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600
    entries = runner.history()
    written = int(applied.stdout.split("Apply: ")[1].split(" applied")[0])
    assert len(entries) == written > 0
    first = entries[0]
    assert first["merchant"] == "acme-apparel" and first["outcome"] == "applied"
    assert first["plan_checksum"] == checksum
    assert first["ci_url"] == "https://github.com/shop/returns/actions/runs/4242"
    assert {"user", "host", "ts", "target", "address", "action", "before", "after"} <= set(first)
    assert runner.history("--merchant", "bright-basics") == []
    assert len(runner.history("--since", "1h")) == written
    assert runner.history("--since", "2999-01-01") == []
    text = runner.cli("history", "--merchant", "acme-apparel")
    assert "acme-apparel" in text.stdout and "actions/runs/4242" in text.stdout
    bad = runner.cli("history", "--since", "yesterday-ish")
    assert bad.returncode == 1 and "--since 'yesterday-ish'" in bad.stderr


def test_journal_and_audit_lines_replace_a_value_holding_a_secret_whole_and_are_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import json

    from reconciler.backend import audit
    from reconciler.backend.file import AUDIT, FileRunJournal
    from reconciler.backend.identity import Identity
    from reconciler.engine import journal as journal_module
    from reconciler.secrets import Redactor

    # A redactor of this test's own: the process-wide one would hide the value from other tests.
    own = Redactor()
    own.add("s3cret-inside-4d2f")
    monkeypatch.setattr(audit, "redactor", own)
    monkeypatch.setattr(journal_module, "redactor", own)
    state_dir = tmp_path / "state"
    run = FileRunJournal(state_dir, audit.AuditContext(Identity.current(), "sandbox", "run-1", "sha256:0"))
    change = Change(ADDRESS, Action.UPDATE, "was s3cret-inside-4d2f here", "now s3cret-inside-4d2f.")

    async def record() -> None:
        await run.record("acme-apparel", change, "intent")
        await run.record("acme-apparel", change, "applied")
        await run.close()

    asyncio.run(record())
    journal_path, audit_path = Path(run.location), state_dir / AUDIT
    for path in (journal_path, audit_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert "s3cret" not in path.read_text(), path
        entries = [json.loads(line) for line in path.read_text().splitlines()]
        # Replaced whole: where the secret sat in the value does not show.
        assert entries and all((e["before"], e["after"]) == ("***", "***") for e in entries), path
    assert stat.S_IMODE(journal_path.parent.stat().st_mode) == 0o700
    assert [e["phase"] for e in in_flight(state_dir)] == []  # the outcome still pairs with its intent
