"""The postgres backend's tables, created and upgraded by numbered migrations.

Each run checks the schema version first: an older schema is upgraded (under
an advisory lock, so two first runs do not race), a newer
one than this release knows stops the run before anything is locked.
"""

from __future__ import annotations

from reconciler.backend.errors import BackendError

MIGRATION_LOCK = 0x7265636F6E63  # "reconc": serializes concurrent upgrades

MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, [
        """CREATE TABLE reconciler_schema (
               version integer PRIMARY KEY,
               applied_at timestamptz NOT NULL DEFAULT now())""",
        """CREATE TABLE lock_holders (
               merchant text PRIMARY KEY,
               backend_pid integer NOT NULL,
               user_name text NOT NULL, host text NOT NULL, pid integer NOT NULL,
               command text NOT NULL,
               since timestamptz NOT NULL DEFAULT now())""",
        """CREATE TABLE journal (
               id bigserial PRIMARY KEY,
               run text NOT NULL,
               ts timestamptz NOT NULL DEFAULT clock_timestamp(),
               target text NOT NULL, merchant text NOT NULL, address text NOT NULL,
               action text NOT NULL, before jsonb, after jsonb,
               outcome text, error text,
               acknowledged_by text)""",
        # The rows a run asks about: writes with no outcome nobody has acknowledged.
        """CREATE INDEX journal_in_flight ON journal (merchant)
               WHERE outcome IS NULL AND acknowledged_by IS NULL""",
        """CREATE TABLE audit_log (
               id bigserial PRIMARY KEY,
               ts timestamptz NOT NULL DEFAULT clock_timestamp(),
               run text NOT NULL,
               user_name text NOT NULL, host text NOT NULL, pid integer NOT NULL, ci_url text,
               target text NOT NULL, merchant text NOT NULL, address text NOT NULL,
               action text NOT NULL, before jsonb, after jsonb,
               plan_checksum text NOT NULL, outcome text NOT NULL, error text)""",
        "CREATE INDEX audit_log_merchant ON audit_log (merchant, ts)",
        "CREATE INDEX audit_log_ts ON audit_log (ts)",
        # Append-only for every role that uses the backend, owner included.
        """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$""",
        """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
               ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
    ]),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn) -> int:
    if conn.execute("SELECT to_regclass('reconciler_schema')").fetchone()[0] is None:
        return 0
    return conn.execute("SELECT coalesce(max(version), 0) FROM reconciler_schema").fetchone()[0]


def check_version(version: int, name: str) -> None:
    if version > LATEST:
        raise BackendError(
            f"backend {name}: its schema is version {version}, newer than this reconciler "
            f"knows ({LATEST}); upgrade reconciler before using this backend")


def ensure_schema(conn, name: str) -> int:
    """Upgrade the schema to LATEST if it is older; refuse a newer one. Returns the version."""
    version = current_version(conn)
    check_version(version, name)
    if version == LATEST:
        return version
    # A session lock taken before the transaction begins: a transaction that waited on a lock
    # inside itself could still see the catalog as it was before the other upgrade committed.
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        with conn.transaction():
            version = current_version(conn)  # another run may have upgraded meanwhile
            check_version(version, name)
            for number, statements in MIGRATIONS:
                if number > version:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO reconciler_schema (version) VALUES (%s)", (number,))
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return LATEST
