"""The engine's pool: bounded on both backends, its users waiting for a connection; a pool timeout is the
database being busy, not the data being wrong."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, text

from etl.errors import DatabaseUnavailable
from etl.store.engine import POOL_MAX_OVERFLOW, POOL_SIZE, make_engine, storage_errors, transaction
from tests.support import PoolWatch, wait_until_true


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
