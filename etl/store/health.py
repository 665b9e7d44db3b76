"""Whether the database can be used now, and why not: what `snapshot` and the daemon ask before they touch it (and
spool when it cannot), and what `doctor` examines more deeply. Nothing here writes to the database."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from etl.errors import DatabaseUnavailable, StorageError
from etl.store.engine import masked_url, storage_errors
from etl.store.identity import DatabaseIdentity, learn_identity
from etl.store.schema import require_current_schema, sqlite_file


def require_usable(engine: Engine) -> None:
    """Raise DatabaseUnavailable (SchemaNotMigrated for a revision the code does not expect) unless the database is
    at the head revision and takes writes now: not corrupted, not read-only, not locked past the busy timeout."""
    require_current_schema(engine)
    with storage_errors(engine, "checking that it takes writes"), engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            # The write lock a load would wait for, and a write that changes no row (a read-only file refuses even
            # that), rolled back: nothing reaches the file.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                connection.exec_driver_sql("UPDATE alembic_version SET version_num = version_num WHERE 0 = 1")
            finally:
                connection.exec_driver_sql("ROLLBACK")
        elif connection.exec_driver_sql("SHOW transaction_read_only").scalar() == "on":
            raise DatabaseUnavailable(
                f"database {masked_url(engine)} takes no writes (a standby, or default_transaction_read_only is on)"
            )


@dataclass(frozen=True)
class Examination:
    """What `doctor` found in the database: which it is, and every problem in a line each (none: healthy)."""

    identity: DatabaseIdentity
    problems: tuple[str, ...]


def examine(engine: Engine) -> Examination:
    """The database checked as deeply as is safe, through an engine `guard`ed by the schema: SQLite's
    `PRAGMA integrity_check` on a read-only connection, then (on every backend) a round trip that reads the revision
    and takes the write lock without writing."""
    identity = learn_identity(engine)
    path = sqlite_file(engine)
    problems: list[str] = []
    if path is not None and path.exists():
        problems += _integrity(path)
    if not problems:  # a file that fails its integrity check would only fail again, saying less
        try:
            require_usable(engine)
        except StorageError as exc:
            problems.append(str(exc))
    return Examination(identity, tuple(problems))


def _integrity(path: Path) -> list[str]:
    """SQLite's own check of every page and index, on a connection that cannot write."""
    try:
        # As a URI, so that `#`, `?` or `%` in the name are the file's, not the URI's (a `#` would open, and
        # create, the file named by what comes before it, in read-write mode).
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return [f"{path} cannot be opened: {exc}"]
    try:
        rows = [str(row[0]) for row in connection.execute("PRAGMA integrity_check(20)")]
    except sqlite3.Error as exc:
        return [f"{path}: integrity check failed: {exc}"]
    finally:
        connection.close()
    if rows == ["ok"]:
        return []
    return [
        f"{path}: integrity check: {'; '.join(rows[:5])}" + (f" (and {len(rows) - 5} more)" if len(rows) > 5 else "")
    ]
