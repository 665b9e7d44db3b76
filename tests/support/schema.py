"""Migrated databases for tests without running Alembic for each one.

Migrating an empty database runs 17 revision scripts (about 0.5 s on SQLite, 3 s on PostgreSQL), and most tests only
need the result. The first `migrated` call of a test session on each backend migrates for real; each later one copies
the result: on SQLite the migrated file's bytes, on PostgreSQL the statements that migration sent (recorded as they
went to the driver), replayed into the new schema in one transaction and one round trip. tests/store/test_schema.py
holds a copied database to a migrated one, catalog for catalog, so that the shortcut cannot drift from what
`kiwoom-etl migrate` builds; the tests of migrating itself call `migrate`.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from etl.settings import normalize_database_url
from etl.store.engine import driver_cursor, make_engine
from etl.store.schema import DEFAULT_DATABASE_MODE, migrate, migrating, sqlite_file

POSTGRES_VARIABLE = "KIWOOM_ETL_TEST_POSTGRES_URL"

# Reads (Alembic's look at the version table, the dialect's probes) change nothing to replay.
_READS = ("SELECT", "SHOW")

_sqlite_file: bytes | None = None
# (statement, parameters, executemany) as SQLAlchemy handed them to psycopg.
_postgres_statements: list[tuple[str, Any, bool]] | None = None


def migrated(engine: Engine) -> Engine:
    """`engine`'s database, empty (on SQLite: a file not created yet, or empty), at the head revision as `migrate`
    leaves it."""
    path = sqlite_file(engine)
    if path is not None:
        _copy_sqlite(path)
    elif engine.dialect.name == "postgresql":
        _replay_postgres(engine)
    else:
        migrate(engine)
    return engine


def _copy_sqlite(path: Path) -> None:
    global _sqlite_file
    if path.exists() and path.stat().st_size:
        raise AssertionError(f"{path} is not empty: `migrated` copies a migrated file over nothing")
    if _sqlite_file is None:
        with tempfile.TemporaryDirectory() as directory:
            template = make_engine(f"sqlite:///{Path(directory) / 'template.db'}")
            migrate(template)
            template.dispose()  # the last connection's close checkpoints the WAL into the file
            _sqlite_file = (Path(directory) / "template.db").read_bytes()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, DEFAULT_DATABASE_MODE)
    with os.fdopen(descriptor, "wb") as file:
        file.write(_sqlite_file)


def _replay_postgres(engine: Engine) -> None:
    global _postgres_statements
    if _postgres_statements is None:
        _postgres_statements = _record(engine)
        return
    with migrating(engine, "replaying the recorded migration") as connection:
        with driver_cursor(connection, pipelined=True) as cursor:
            for statement, parameters, many in _postgres_statements:
                (cursor.executemany if many else cursor.execute)(statement, parameters)


def _record(engine: Engine) -> list[tuple[str, Any, bool]]:
    statements: list[tuple[str, Any, bool]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not statement.lstrip().upper().startswith(_READS):
            statements.append((statement, parameters, many))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        migrate(engine)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    return statements


def postgres_base_url() -> str:
    """The test PostgreSQL's URL (KIWOOM_ETL_TEST_POSTGRES_URL): without it the test is skipped, or fails under CI."""
    import pytest

    base = os.environ.get(POSTGRES_VARIABLE)
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_VARIABLE} is not set, and CI must run the PostgreSQL tests")
        pytest.skip(f"{POSTGRES_VARIABLE} is not set")
    return normalize_database_url(base, POSTGRES_VARIABLE)


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A URL of `base`'s database whose search path is a new empty schema, dropped afterwards; a server that cannot
    be reached fails the test."""
    import pytest

    admin = create_engine(base)
    schema = f"kiwoom_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {make_url(base).render_as_string()} cannot be reached: {exc.orig}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
