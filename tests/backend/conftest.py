"""A PostgreSQL server for the whole session, and a fresh database for each test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from bench.pgserver import PgServer, pg_bin, start_server

_numbers = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it")
    server = start_server()
    try:
        yield server
    finally:
        server.stop("immediate")
        server.cleanup()


@pytest.fixture
def pg_dsn(pg_server: PgServer) -> str:
    """A DSN (password as env:VAR, see `pg_server.env()`) of an empty database."""
    return pg_server.create_database(f"test_{next(_numbers)}")
