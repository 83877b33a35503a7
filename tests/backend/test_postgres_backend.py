"""The postgres backend against a real server, through the CLI: two machines (state
directories) applying one served sandbox, sharing one PostgreSQL."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from bench.pgserver import PASSWORD, PgServer, start_server
from tests.backend.harness import Runner, changes_of, make_runner
from tests.e2e.conftest import Sandbox, serving, start_logged_sandbox, write_fleet


def query(dsn_env: Runner, sql: str) -> list[tuple]:
    from reconciler.backend.dsn import parse_dsn

    dsn = parse_dsn(dsn_env.env["RECONCILER_BACKEND"], dsn_env.env)
    with psycopg.connect(**dsn.params, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def count(runner: Runner, table: str) -> int:
    """Rows in `table`; 0 until the apply being watched has created the schema."""
    try:
        return query(runner, f"SELECT count(*) FROM {table}")[0][0]
    except psycopg.errors.UndefinedTable:
        return 0


def wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def finish(process) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=180)
    assert "Traceback" not in out + err, err[-3000:]
    return process.returncode, out, err


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    write_fleet(tmp_path / "fleet", 20)
    return tmp_path / "fleet"


@pytest.fixture
def served(tmp_path: Path, fleet: Path) -> Iterator[Sandbox]:
    with serving(start_logged_sandbox(tmp_path / "sandbox", fleet)) as sandbox:
        # A fleet apply takes long enough (seconds) for the other machine's CLI to start, even
        # on a loaded machine, and meet its locks.
        sandbox.faults(latency_ms=100)
        yield sandbox


def machines(tmp_path: Path, fleet: Path, served: Sandbox, pg_server: PgServer, dsn: str
             ) -> tuple[Runner, Runner]:
    return tuple(make_runner(tmp_path / name, fleet, served.url, RECONCILER_BACKEND=dsn,
                             **pg_server.env()) for name in ("laptop", "ci"))  # type: ignore[return-value]


def test_migrate_creates_the_schema_and_a_newer_schema_is_refused(
        tmp_path: Path, pg_server: PgServer, pg_dsn: str) -> None:
    runner = make_runner(tmp_path, RECONCILER_BACKEND=pg_dsn, **pg_server.env())
    first = runner.cli("backend", "migrate")
    assert first.returncode == 0 and "schema at version 1" in first.stdout
    assert runner.cli("backend", "migrate").returncode == 0  # idempotent
    query(runner, "INSERT INTO reconciler_schema (version) VALUES (99)")
    refused = runner.cli("apply", "--auto-approve")
    assert refused.returncode == 1
    assert "schema is version 99, newer than this reconciler knows (1)" in refused.stderr
    assert query(runner, "SELECT count(*) FROM journal") == [(0,)]


def test_first_use_migrates_and_the_password_is_never_printed(
        tmp_path: Path, pg_server: PgServer, pg_dsn: str) -> None:
    runner = make_runner(tmp_path, RECONCILER_BACKEND=pg_dsn, **pg_server.env())
    applied = runner.cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    history = runner.cli("history")
    assert "acme-apparel" in history.stdout
    shown = f"postgresql://reconciler@127.0.0.1:{pg_server.port}/"
    assert shown in history.stderr and "env:" not in history.stderr
    for result in (applied, history):
        assert PASSWORD not in result.stdout + result.stderr
    literal = runner.cli("history", "--backend", pg_dsn.replace("env:RECONCILER_TEST_PGPASSWORD",
                                                                "hunter2-literal"))
    assert literal.returncode == 1 and "literal password in the backend URL is refused" in literal.stderr
    assert "hunter2-literal" not in literal.stderr + literal.stdout
    wrong = runner.cli("history", env={"RECONCILER_TEST_PGPASSWORD": "not-the-password"})
    assert wrong.returncode == 1 and "password authentication failed" in wrong.stderr
    unset = runner.cli("history", env={"RECONCILER_TEST_PGPASSWORD": ""})
    assert unset.returncode == 1 and "RECONCILER_TEST_PGPASSWORD (its password) is not set" in unset.stderr


def test_two_machines_applying_the_same_fleet_write_each_change_once(
        tmp_path: Path, fleet: Path, served: Sandbox, pg_server: PgServer, pg_dsn: str) -> None:
    laptop, ci = machines(tmp_path, fleet, served, pg_server, pg_dsn)
    changes = changes_of(laptop.plan())
    first = laptop.spawn("apply", "--auto-approve", "--allow-mass-change", "--lock-wait", "120")
    wait_for(lambda: count(laptop, "lock_holders") == 20)
    second = ci.spawn("apply", "--auto-approve", "--allow-mass-change", "--lock-wait", "120")
    code1, _, _ = finish(first)
    code2, out2, err2 = finish(second)
    assert (code1, code2) == (0, 0)
    assert "Nothing to apply." in out2  # it waited, then re-read what the laptop wrote
    assert "waiting up to 120 s for fleet-000 and 19 other merchant(s): locked by " in err2
    assert f"(pid {first.pid}, reconciler " in err2
    assert served.stats()["writes"] == changes > 0
    assert len(ci.history()) == changes  # one audit log for both machines


def test_an_apply_that_does_not_wait_exits_5_naming_the_holder(
        tmp_path: Path, fleet: Path, served: Sandbox, pg_server: PgServer, pg_dsn: str) -> None:
    laptop, ci = machines(tmp_path, fleet, served, pg_server, pg_dsn)
    first = laptop.spawn("apply", "--auto-approve", "--allow-mass-change")
    wait_for(lambda: count(laptop, "lock_holders") == 20)
    refused = ci.cli("apply", "--auto-approve", "--allow-mass-change", "--lock-wait", "0")
    code1, _, _ = finish(first)
    assert code1 == 0
    assert refused.returncode == 5
    assert "locked by " in refused.stderr and f"(pid {first.pid}, reconciler " in refused.stderr
    assert "interrupted" not in refused.stderr


@pytest.mark.parametrize("backend", ["postgres", "file"])
def test_two_reviewed_plans_at_once_never_lose_a_reviewed_change(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    """On postgres from two machines; on the file backend from one (one state directory)."""
    if backend == "postgres":
        server: PgServer = request.getfixturevalue("pg_server")
        env = {"RECONCILER_BACKEND": request.getfixturevalue("pg_dsn"), **server.env()}
    else:
        env = {"RECONCILER_BACKEND": "file", "RECONCILER_STATE_DIR": str(tmp_path / "shared")}
    with serving(start_logged_sandbox(tmp_path / "sandbox")) as sandbox:
        runners = {}
        for name in ("alice", "bob"):
            runner = make_runner(tmp_path / name, target=sandbox.url, **env)
            path = runner.merchants / "acme-apparel.yaml"
            path.write_text(path.read_text().replace("Email will not work for TikTok orders.",
                                                     f"Email will not work. Signed, {name}."))
            assert runner.cli("plan", "--merchant", "acme-apparel", "--out", "plan.json"
                              ).returncode == 0
            runners[name] = runner
        sandbox.faults(latency_ms=20)
        running = {n: r.spawn("apply", "--plan", "plan.json", "--auto-approve", "--lock-wait", "60")
                   for n, r in runners.items()}
        results = {n: finish(p) for n, p in running.items()}
        codes = sorted(code for code, _, _ in results.values())
        assert codes == [0, 5], results
        winner = next(n for n, (code, _, _) in results.items() if code == 0)
        loser = next(n for n in runners if n != winner)
        assert "the plan is stale" in results[loser][2]
        # What the winner reviewed is live; what the loser reviewed is still planned, not lost.
        assert changes_of(runners[winner].plan("--merchant", "acme-apparel")) == 0
        pending = runners[loser].plan("--merchant", "acme-apparel")["merchants"][0]["changes"]
        assert [c["address"] for c in pending] == ["loop.portal.instructions"]
        assert f"Signed, {loser}." in str(pending[0]["after"])


def test_a_killed_apply_frees_its_locks_at_once_and_the_next_run_converges(
        tmp_path: Path, fleet: Path, served: Sandbox, pg_server: PgServer, pg_dsn: str) -> None:
    laptop, ci = machines(tmp_path, fleet, served, pg_server, pg_dsn)
    killed = laptop.spawn("apply", "--auto-approve", "--allow-mass-change")
    wait_for(lambda: count(laptop, "journal") >= 10)
    killed.send_signal(signal.SIGKILL)
    finish(killed)
    in_flight = query(laptop, "SELECT count(*) FROM journal WHERE outcome IS NULL")[0][0]
    after = ci.cli("apply", "--auto-approve", "--allow-mass-change", "--lock-wait", "0")
    assert after.returncode == 0, after.stderr[-2000:]
    if in_flight:
        assert f"interrupted with {in_flight} write(s) in flight" in after.stderr
    assert changes_of(ci.plan()) == 0
    again = ci.cli("apply", "--auto-approve", "--allow-mass-change", "--lock-wait", "0")
    assert "interrupted" not in again.stderr


def test_a_lost_lock_connection_stops_the_writes_and_the_next_run_converges(
        tmp_path: Path, fleet: Path, served: Sandbox, pg_server: PgServer, pg_dsn: str) -> None:
    laptop, ci = machines(tmp_path, fleet, served, pg_server, pg_dsn)
    changes = changes_of(laptop.plan())
    running = laptop.spawn("apply", "--auto-approve", "--allow-mass-change")
    wait_for(lambda: count(laptop, "journal") >= 5)
    # Only the connection holding the locks goes: the server, and the journal's connection, stay.
    terminated = query(laptop, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                               "WHERE datname = current_database() "
                               "AND application_name = 'reconciler locks'")
    assert terminated == [(True,)]
    code, out, err = finish(running)
    assert code == 4, err[-2000:]
    assert "the lock on fleet-0" in err and "was lost mid-apply" in err, err[-2000:]
    assert "Stopped sending writes for " in err and PASSWORD not in out + err
    written = count(laptop, "audit_log")
    assert 0 < written < changes  # it stopped, instead of writing the fleet without its locks
    assert query(laptop, "SELECT count(*) FROM journal WHERE outcome IS NULL") == [(0,)]
    after = ci.cli("apply", "--auto-approve", "--allow-mass-change", "--lock-wait", "0")
    assert after.returncode == 0, after.stderr[-2000:]
    assert "interrupted" not in after.stderr  # the journal knew of every write sent
    assert changes_of(ci.plan()) == 0
    assert served.stats()["writes"] == changes  # nothing written twice, nothing lost


def test_the_server_going_away_mid_apply_is_a_clear_error_and_the_next_run_converges(
        tmp_path: Path, fleet: Path, served: Sandbox) -> None:
    server = start_server()  # its own server: this test stops it
    try:
        dsn = server.create_database("gone")
        laptop = make_runner(tmp_path / "laptop", fleet, served.url, RECONCILER_BACKEND=dsn,
                             **server.env())
        running = laptop.spawn("apply", "--auto-approve", "--allow-mass-change")
        wait_for(lambda: count(laptop, "audit_log") >= 10)
        server.stop("immediate")
        code, out, err = finish(running)
        assert code == 4, err[-2000:]  # writes were done before it went away
        assert f"the backend postgresql://reconciler@127.0.0.1:{server.port}/gone went away" in err
        assert "Stopped sending writes" in err and PASSWORD not in out + err
        down = laptop.cli("apply", "--auto-approve", "--allow-mass-change")
        assert down.returncode == 1 and "Error: backend postgresql://" in down.stderr
        server.start()
        again = laptop.cli("apply", "--auto-approve", "--allow-mass-change")
        assert again.returncode == 0, again.stderr[-2000:]
        assert changes_of(laptop.plan()) == 0
    finally:
        server.stop("immediate") if (server.data / "postmaster.pid").exists() else None
        server.cleanup()
