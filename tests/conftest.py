"""Shared fixtures: a clean environment, the simulator on loopback, a SQLite file and a PostgreSQL schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from etl.sim.accounts import make_account
from etl.sim.feed import serve_feed
from etl.sim.simulator import Simulator, serve
from etl.store.engine import make_engine
from tests.support.schema import POSTGRES_VARIABLE, migrated, postgres_base_url, postgres_schema


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's own Kiwoom settings (the test database variable stays)."""
    for name in list(os.environ):
        if name.startswith("KIWOOM_") and name != POSTGRES_VARIABLE:
            monkeypatch.delenv(name)


@pytest.fixture
def simulator() -> Simulator:
    """Two accounts: the first holds the API page's example line first, 7 positions on KRX, 2 on NXT."""
    return Simulator(
        accounts=[make_account(1, 7), make_account(2, 3)], page_size=3, rate_per_second=200, burst=50, retry_after=None
    )


@pytest.fixture
def sim_url(simulator: Simulator) -> Iterator[str]:
    with serve(simulator) as url:
        yield url


@pytest.fixture
def feed_url(simulator: Simulator) -> Iterator[str]:
    """The simulator's WebSocket feed on a loopback port of its own, as Kiwoom serves it beside the REST API."""
    with serve_feed(simulator.feed) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL, dropped afterwards; a server that cannot be reached fails the test."""
    with postgres_schema(postgres_base_url()) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on both backends."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on each backend (copied: tests/support/schema.py)."""
    engine = migrated(make_engine(db_url))
    yield engine
    engine.dispose()
