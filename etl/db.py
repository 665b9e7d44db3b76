"""Database access: the engine for a URL, the Alembic migrations, and the check that the schema is current."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError

from etl.errors import ConfigError, DatabaseUnavailable, SchemaNotMigrated, StorageError
from etl.settings import mask_database_url

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# PostgreSQL errors that are the server's state, not the data's: connection (08), resources (53), operator
# intervention such as a shutdown (57), rollbacks for serialization or deadlock (40); a read-only standby after a
# failover (25006), a lock not available (55P03), an idle-in-transaction timeout (25P03).
UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "40"})
UNAVAILABLE_STATES = frozenset({"25006", "55P03", "25P03"})


def make_engine(url: str) -> Engine:
    """An engine for `url`; on SQLite with WAL, a busy timeout and foreign keys, so readers don't block loads."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        raise ConfigError(
            f"{mask_database_url(url)} needs the PostgreSQL driver ({exc.name}): pip install 'kiwoom-etl[postgres]'"
        ) from None


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@contextmanager
def storage_errors(engine: Engine, doing: str) -> Iterator[None]:
    """Translate SQLAlchemy's errors into StorageError, naming the database without its password."""
    try:
        yield
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        url = mask_database_url(engine.url.render_as_string(hide_password=False))
        # A lost connection, a server that is down or shutting down, a locked file: none is the data's fault.
        sqlstate = str(getattr(getattr(exc, "orig", None), "sqlstate", None) or "")
        unavailable = (
            isinstance(exc, OperationalError | InterfaceError | DisconnectionError)
            or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
            or sqlstate[:2] in UNAVAILABLE_CLASSES
            or sqlstate in UNAVAILABLE_STATES
        )
        kind = DatabaseUnavailable if unavailable else StorageError
        raise kind(f"database {url}: {doing} failed: {detail}") from exc


@contextmanager
def transaction(engine: Engine, doing: str) -> Iterator[Connection]:
    """One transaction, committed when the block ends and rolled back on any error, with storage_errors' messages."""
    with storage_errors(engine, doing), engine.begin() as connection:
        yield connection


@contextmanager
def connected(url: str, *, migrated: bool = True) -> Iterator[Engine]:
    """An engine for `url`, disposed afterwards; with `migrated`, SchemaNotMigrated unless the schema is current."""
    engine = make_engine(url)
    try:
        if migrated:
            require_current_schema(engine)
        yield engine
    finally:
        engine.dispose()


def migrations_dir() -> Path:
    """Where the Alembic scripts are (the top-level migrations/ folder, installed as etl.migrations)."""
    return Path(str(resources.files("etl.migrations")))


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for our scripts; `connection`, when given, is the one env.py migrates."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The revision the code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "migrations/ holds no revision"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, None when it was never migrated."""
    with storage_errors(engine, "reading the schema revision"), engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> tuple[str | None, str]:
    """Upgrade the database to the head revision; return (revision before, revision after)."""
    before = current_revision(engine)
    with transaction(engine, "migrating") as connection:
        command.upgrade(alembic_config(connection), "head")
    return before, head_revision()


def require_current_schema(engine: Engine) -> None:
    """Raise SchemaNotMigrated unless the database is at the head revision (without creating a SQLite file)."""
    where = mask_database_url(engine.url.render_as_string(hide_password=False))
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database not in (None, "", ":memory:"):
        if not Path(database).exists():
            raise SchemaNotMigrated(f"database file {database} does not exist: run `kiwoom-etl migrate` first")
    current, head = current_revision(engine), head_revision()
    if current != head:
        state = "has no kiwoom-etl tables" if current is None else f"is at revision {current}, the code needs {head}"
        raise SchemaNotMigrated(f"database {where} {state}: run `kiwoom-etl migrate` first")
