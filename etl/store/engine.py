"""The engine for a URL, its transactions, and the translation of SQLAlchemy's errors into StorageError."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from etl.errors import ConfigError, DatabaseUnavailable, StorageError
from etl.redact import mask_urls

log = logging.getLogger(__name__)

# How long a statement waits for a lock another connection holds before it fails (and the capture is spooled): on
# SQLite the busy timeout, unless the URL's `?timeout=` (seconds) gives another; on PostgreSQL `lock_timeout`, unless
# the server, the role or the URL's `options=-c lock_timeout=...` gives one (PostgreSQL's own default, 0, waits
# forever, and a lock that never frees would hang the daemon).
SQLITE_BUSY_TIMEOUT_SECONDS = 30
POSTGRES_LOCK_TIMEOUT = "30s"
# A PostgreSQL server that accepts the connection and never answers (a stopped process, a half-dead machine) is
# given this many seconds per host, unless the URL says `connect_timeout=`; the driver's own default is minutes.
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
# PostgreSQL errors that are the server's state, not the data's: connection (08), resources (53), operator
# intervention such as a shutdown (57), rollbacks for serialization or deadlock (40); a read-only standby after a
# failover (25006), a lock not available (55P03), an idle-in-transaction timeout (25P03); the disk's own failures
# (58) and corrupted data or indexes (XX001, XX002).
UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "40", "58"})
UNAVAILABLE_STATES = frozenset({"25006", "55P03", "25P03", "XX001", "XX002"})
# Errors that are the data's, though the driver raises some as OperationalError: a value the types refuse (22), a
# constraint (23), a program limit (54) such as a text too long for a B-tree index row. Spooling such a capture
# would block the spool behind it forever, and an import would stop at it.
DATA_CLASSES = frozenset({"22", "23", "54"})
# SQLite's corrupted file (SQLITE_CORRUPT) and a file that is not a database (SQLITE_NOTADB), which sqlite3 raises as
# DatabaseError rather than OperationalError: the file's state, not the data's.
SQLITE_UNUSABLE_CODES = frozenset({11, 26})


# Connections one engine holds at most: the daemon's workers wait for one (up to POOL_TIMEOUT_SECONDS) rather than
# each opening its own, so a process stays far below PostgreSQL's max_connections (100 by default) and two
# replicas with a BI tool beside them still fit. On SQLite only one connection writes at a time anyway.
POOL_SIZE = 5
POOL_MAX_OVERFLOW = 5
POOL_TIMEOUT_SECONDS = 60


def make_engine(url: str) -> Engine:
    """An engine for `url` with a bounded pool and a bounded wait for locks; on SQLite with WAL and foreign keys, so
    readers don't block loads."""
    pool: dict[str, Any] = {
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_MAX_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT_SECONDS,
    }
    if url.startswith("sqlite"):
        parsed = make_url(url)
        in_memory = parsed.database in (None, "", ":memory:")  # one connection a thread: no pool to size
        # connect_args would override the URL's own `timeout`, so the default is given only in its absence.
        busy = {} if "timeout" in parsed.query else {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
        engine = create_engine(url, connect_args=busy, **({} if in_memory else pool))
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    connect = {} if "connect_timeout" in make_url(url).query else {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS}
    try:
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect, **pool)
    except ImportError as exc:
        raise ConfigError(
            f"{mask_urls(url)} needs the PostgreSQL driver ({exc.name}): pip install 'kiwoom-etl[postgres]'"
        ) from None
    event.listen(engine, "connect", _postgres_lock_timeout)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _postgres_lock_timeout(dbapi_connection: Any, _record: object) -> None:
    with closing(dbapi_connection.cursor()) as cursor:
        cursor.execute("SHOW lock_timeout")
        if cursor.fetchone()[0] == "0":  # nobody chose one: bound the wait rather than hang
            cursor.execute(f"SET lock_timeout = '{POSTGRES_LOCK_TIMEOUT}'")
    dbapi_connection.commit()


def masked_url(engine: Engine) -> str:
    """The engine's URL as the program prints it: without its password."""
    return mask_urls(engine.url.render_as_string(hide_password=False))


@contextmanager
def storage_errors(engine: Engine, doing: str) -> Iterator[None]:
    """Translate SQLAlchemy's errors into StorageError, naming the database without its password."""
    try:
        yield
    except SQLAlchemyError as exc:
        # A driver's error can quote the connection string it was given.
        detail = mask_urls(str(getattr(exc, "orig", None) or exc).strip().splitlines()[0])
        url = masked_url(engine)
        # A lost connection, a server that is down or shutting down, a locked file, every pooled connection busy:
        # none is the data's fault.
        orig = getattr(exc, "orig", None)
        sqlstate = str(getattr(orig, "sqlstate", None) or "")
        sqlite_code = getattr(orig, "sqlite_errorcode", None)
        unavailable = sqlstate[:2] not in DATA_CLASSES and (
            isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout)
            or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
            or sqlstate[:2] in UNAVAILABLE_CLASSES
            or sqlstate in UNAVAILABLE_STATES
            or (isinstance(sqlite_code, int) and sqlite_code & 0xFF in SQLITE_UNUSABLE_CODES)
        )
        kind = DatabaseUnavailable if unavailable else StorageError
        raise kind(f"database {url}: {doing} failed: {detail}") from exc


@contextmanager
def transaction(engine: Engine, doing: str) -> Iterator[Connection]:
    """One transaction, committed when the block ends and rolled back on any error, with storage_errors' messages."""
    with storage_errors(engine, doing), engine.begin() as connection:
        yield connection


def pyformat(sql: str) -> str:
    """SQL written with :name parameters (sqlite3's named style) in psycopg's %(name)s style."""
    return re.sub(r":(\w+)", r"%(\1)s", sql)


@contextmanager
def driver_cursor(connection: Connection, *, pipelined: bool = False) -> Iterator[Any]:
    """A cursor of the driver's own in the connection's transaction, for precompiled statements in the driver's SQL
    on the load's hot path: none of SQLAlchemy's per-statement work. Its errors are raised as SQLAlchemy's execute
    raises them (DBAPIError and its subclasses), so that storage_errors tells a lost server from bad data. With
    `pipelined`, on PostgreSQL what is executed inside is sent together (psycopg's pipeline mode: one round trip,
    the server still running the statements in order, each seeing the ones before)."""
    driver = connection.connection.driver_connection
    error = connection.dialect.loaded_dbapi.Error
    try:
        with ExitStack() as stack:
            if pipelined and connection.dialect.name == "postgresql":
                stack.enter_context(driver.pipeline())  # type: ignore[union-attr]
            yield stack.enter_context(closing(driver.cursor()))  # type: ignore[union-attr]
    except error as exc:
        raise DBAPIError.instance(None, None, exc, error, dialect=connection.dialect) from exc
