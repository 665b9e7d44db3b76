"""Shared fixtures: a clean environment, the simulator on loopback, a SQLite file and a PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from etl.settings import normalize_database_url
from etl.sim.accounts import make_account
from etl.sim.simulator import Simulator, serve
from etl.store.engine import make_engine
from etl.store.schema import migrate

POSTGRES_VARIABLE = "KIWOOM_ETL_TEST_POSTGRES_URL"


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
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"


def _postgres_base_url() -> str:
    base = os.environ.get(POSTGRES_VARIABLE)
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_VARIABLE} is not set, and CI must run the PostgreSQL tests")
        pytest.skip(f"{POSTGRES_VARIABLE} is not set")
    return normalize_database_url(base, POSTGRES_VARIABLE)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema in the test PostgreSQL, dropped afterwards; a server that cannot be reached fails the test."""
    base = _postgres_base_url()
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


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs on both backends."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    engine = make_engine(db_url)
    migrate(engine)
    yield engine
    engine.dispose()
