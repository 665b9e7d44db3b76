"""The engine's pool: bounded on both backends, its users waiting for a connection; a pool timeout is the
database being busy, not the data being wrong."""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from etl.errors import DatabaseUnavailable
from etl.store.engine import (
    POOL_MAX_OVERFLOW,
    POOL_SIZE,
    POSTGRES_CONNECT_TIMEOUT_SECONDS,
    POSTGRES_LOCK_TIMEOUT,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    make_engine,
    storage_errors,
    transaction,
)
from tests.support import PoolWatch, kiwoom_etl, wait_until_true


def test_more_users_than_connections_wait_for_one_and_all_get_through(db_url: str) -> None:
    engine = make_engine(db_url)
    bound = POOL_SIZE + POOL_MAX_OVERFLOW
    done: list[bool] = []
    release = threading.Event()

    def user() -> None:
        with transaction(engine, "holding a connection") as connection:
            connection.execute(text("SELECT 1"))
            release.wait(60)
        done.append(True)

    pool = PoolWatch(engine)
    users = [threading.Thread(target=user) for _ in range(3 * bound)]
    try:
        for thread in users:
            thread.start()
        wait_until_true(lambda: pool.now == bound)  # the pool is full; the other users queue for it
        assert pool.most == bound and len(done) == 0
    finally:
        release.set()
        for thread in users:
            thread.join()
        engine.dispose()
    assert pool.most == bound and len(done) == 3 * bound  # nobody failed for want of a connection


def test_a_pool_that_stays_busy_is_the_database_unavailable(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url, pool_size=1, max_overflow=0, pool_timeout=0.01)
    try:
        with engine.connect(), pytest.raises(DatabaseUnavailable), storage_errors(engine, "loading"):
            engine.connect()  # the one connection is taken
    finally:
        engine.dispose()


def test_the_sqlite_busy_timeout_is_bounded_and_the_urls_own_timeout_is_honoured(sqlite_url: str) -> None:
    for url, waits in ((sqlite_url, SQLITE_BUSY_TIMEOUT_SECONDS * 1000), (f"{sqlite_url}?timeout=0.25", 250)):
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("PRAGMA busy_timeout")).scalar() == waits
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_lock_wait_is_bounded_unless_the_url_chooses_its_own(postgres_url: str) -> None:
    # PostgreSQL's own default (0) waits forever for a lock: a lock that never frees would hang the daemon.
    chosen = make_url(postgres_url)
    chosen = chosen.update_query_dict({"options": f"{chosen.query['options']} -clock_timeout=250ms"})
    for url, waits in ((postgres_url, POSTGRES_LOCK_TIMEOUT), (chosen.render_as_string(hide_password=False), "250ms")):
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                assert connection.execute(text("SHOW lock_timeout")).scalar() == waits
        finally:
            engine.dispose()


def test_a_postgresql_server_that_accepts_and_never_answers_is_given_up_on() -> None:
    """A stopped server process still accepts on its port: without a bound, status waits for the driver's minutes."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never says a word
    port = silent.getsockname()[1]
    try:
        env = {"KIWOOM_ETL_DATABASE_URL": f"postgresql://kiwoom@127.0.0.1:{port}/history"}
        # The hang guard is far above the bound: a default of minutes fails it, 10 s passes on a busy machine.
        told = kiwoom_etl("status", env=env, timeout=POSTGRES_CONNECT_TIMEOUT_SECONDS * 9)
    finally:
        silent.close()
    assert told.returncode == 1 and "unusable" in told.stderr and "timeout" in told.stderr.lower(), told.stderr
