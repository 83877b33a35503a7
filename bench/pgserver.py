"""A throw-away PostgreSQL server for the tests and the benchmark: Debian's `postgresql`
package, run from a temporary directory on a free loopback port, stopped at the end.

initdb refuses to run as root: as root, the server runs as the `postgres` user the
package creates (or `nobody`), through `runuser`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.sandbox import free_port

USER, PASSWORD = "reconciler", "pg-test-password-7f3a9c"


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_ctl")
    return Path(which).parent if which else None


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"]
    raise RuntimeError("running as root with neither a postgres nor a nobody user")


@dataclass
class PgServer:
    bin: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _ctl(self, *args: str) -> None:
        subprocess.run([*_run_as(), str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
                       check=True, capture_output=True, timeout=60)

    durable: bool = False  # fsync as a production server does (the benchmark); off for tests

    def start(self) -> None:
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root}")
        if not self.durable:
            options += " -c fsync=off"
        self._ctl("-w", "-l", str(self.root / "server.log"), "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop")

    def dsn(self, database: str = "postgres", password: str = "env:RECONCILER_TEST_PGPASSWORD") -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        return {"RECONCILER_TEST_PGPASSWORD": PASSWORD}

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=USER, password=PASSWORD,
                             dbname="postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def start_server(*, durable: bool = False) -> PgServer:
    binaries = pg_bin()
    if binaries is None:
        raise FileNotFoundError("PostgreSQL server binaries (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="rpg"))  # short: the socket path has a length limit
    runner = _run_as()
    if runner:
        shutil.chown(root, user=runner[2])
    (root / "pw").write_text(PASSWORD)
    if runner:
        shutil.chown(root / "pw", user=runner[2])
    subprocess.run([*runner, str(binaries / "initdb"), "-D", str(root / "data"), "-U", USER,
                    "--pwfile", str(root / "pw"), "--auth", "scram-sha-256", "-E", "UTF8",
                    "--no-sync"], check=True, capture_output=True, timeout=120)
    server = PgServer(binaries, root, free_port(), durable)
    server.start()
    return server
