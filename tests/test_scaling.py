"""Migration 0008 compresses raw pages with lz4 where the server has it (pglz where not, nothing on SQLite)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Engine, text

from etl.store.engine import make_engine, transaction
from etl.store.schema import alembic_config, current_revision, migrate


def scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def compression(engine: Engine) -> dict[str, str]:
    """raw_responses' columns and their compression method ('' for the server's default)."""
    query = (
        "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = 'raw_responses'::regclass "
        "AND attname IN ('payload', 'body_text')"
    )
    with engine.connect() as connection:
        return {str(name): str(method) for name, method in connection.execute(text(query))}


@pytest.mark.postgres
def test_0008_compresses_raw_pages_with_lz4_where_the_server_has_it_and_downgrades_to_the_default(
    postgres_url: str,
) -> None:
    engine = make_engine(postgres_url)
    try:
        migrate(engine)
        lz4 = "lz4" in str(scalar(engine, "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'"))
        method = "l" if lz4 else "p"  # without lz4 on the server: pglz, said so by the column
        assert compression(engine) == {"payload": method, "body_text": method}
        with transaction(engine, "downgrading") as connection:
            command.downgrade(alembic_config(connection), "0008-1")
        assert compression(engine) == {"payload": "", "body_text": ""}
    finally:
        engine.dispose()


def test_0008_changes_nothing_on_sqlite(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        migrate(engine)
        with engine.connect() as connection:
            schema = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'raw_responses'")
            assert "COMPRESSION" not in schema.scalar_one().upper()
        with transaction(engine, "downgrading") as connection:
            command.downgrade(alembic_config(connection), "0008-1")
        assert current_revision(engine) != "0008"
    finally:
        engine.dispose()
