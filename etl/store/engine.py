"""The engine for a URL, its transactions, and the translation of SQLAlchemy's errors into StorageError."""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from etl.errors import ConfigError, DatabaseUnavailable, StorageError
from etl.settings import mask_database_url

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# PostgreSQL errors that are the server's state, not the data's: connection (08), resources (53), operator
# intervention such as a shutdown (57), rollbacks for serialization or deadlock (40); a read-only standby after a
# failover (25006), a lock not available (55P03), an idle-in-transaction timeout (25P03).
UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "40"})
UNAVAILABLE_STATES = frozenset({"25006", "55P03", "25P03"})


# Connections one engine holds at most: the daemon's workers wait for one (up to POOL_TIMEOUT_SECONDS) rather than
# each opening its own, so a process stays far below PostgreSQL's max_connections (100 by default) and two
# replicas with a BI tool beside them still fit. On SQLite only one connection writes at a time anyway.
POOL_SIZE = 5
POOL_MAX_OVERFLOW = 5
POOL_TIMEOUT_SECONDS = 60


def make_engine(url: str) -> Engine:
    """An engine for `url` with a bounded pool; on SQLite with WAL, a busy timeout and foreign keys, so readers don't
    block loads."""
    pool: dict[str, Any] = {
        "pool_size": POOL_SIZE,
        "max_overflow": POOL_MAX_OVERFLOW,
        "pool_timeout": POOL_TIMEOUT_SECONDS,
    }
    if url.startswith("sqlite"):
        in_memory = make_url(url).database in (None, "", ":memory:")  # one connection a thread: no pool to size
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}, **({} if in_memory else pool)
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        engine = create_engine(url, **pool)
    except ImportError as exc:
        raise ConfigError(
            f"{mask_database_url(url)} needs the PostgreSQL driver ({exc.name}): pip install 'kiwoom-etl[postgres]'"
        ) from None
    dialect = engine.dialect
    event.listen(engine, "checkin", _idle_from)
    event.listen(engine, "checkout", lambda connection, record, _proxy: _ping_if_stale(dialect, connection, record))
    return engine


# A pooled connection is pinged (SELECT 1, a round trip) before use only when it may be dead: when the server has
# written to it while it sat idle — a restart or shutdown, an idle timeout or pg_terminate_backend each end with an
# error message and the socket closed, which makes it readable — or when it sat idle this long (a firewall may
# drop a quiet connection without a word). A dead one is replaced before the transaction begins, as
# pool_pre_ping would; a connection handed from one load to the next is used without a round trip.
PING_AFTER_IDLE_SECONDS = 30.0
_IDLE_SINCE = "kiwoom_etl_idle_since"


def _idle_from(_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_stale(dialect: Dialect, connection: Any, record: Any) -> None:
    idle_since = record.info.pop(_IDLE_SINCE, None)
    if idle_since is None:  # a new connection
        return
    if time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS and not _has_news(connection):
        return
    try:
        dialect.do_ping(connection)
    except Exception as exc:  # the pool replaces it with a new connection and tries again
        raise DisconnectionError(f"a pooled connection was dead: {exc}") from exc


def _has_news(connection: Any) -> bool:
    """Whether the server wrote to this idle connection (or its socket is gone): nothing is expected on it."""
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError, AttributeError):
        return True
    return bool(readable)


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
        # A lost connection, a server that is down or shutting down, a locked file, every pooled connection busy:
        # none is the data's fault.
        sqlstate = str(getattr(getattr(exc, "orig", None), "sqlstate", None) or "")
        unavailable = (
            isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeout)
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
