"""Migrations: upgrade to head, one head, models match the migrated schema, downgrade to base."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from etl.store.engine import make_engine
from etl.store.models import Base
from etl.store.schema import alembic_config, current_revision, head_revision, migrate

TABLES = {"etl_runs", "raw_responses", "account_snapshots", "position_snapshots"}


def test_there_is_a_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_upgrade_matches_the_models_and_downgrades_to_nothing(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert migrate(engine) == (None, head_revision())
        assert migrate(engine) == (head_revision(), head_revision())  # again: nothing to do
        inspector = inspect(engine)
        assert TABLES <= set(inspector.get_table_names())
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
        unique = inspector.get_unique_constraints("account_snapshots")
        assert {
            "name": "uq_account_snapshots_account_no_exchange_scheduled_for",
            "column_names": ["account_no", "exchange", "scheduled_for"],
        }.items() <= unique[0].items()
        indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("position_snapshots")}
        assert {("account_no", "exchange", "captured_at"), ("stock_code", "captured_at"), ("trade_date",)} <= indexes

        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        assert current_revision(engine) is None
        assert not TABLES & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_postgres_types_are_the_contracts(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        migrate(engine)
        columns = {c["name"]: c["type"] for c in inspect(engine).get_columns("account_snapshots")}
        raw = {c["name"]: c["type"] for c in inspect(engine).get_columns("raw_responses")}
    finally:
        engine.dispose()
    assert str(columns["captured_at"]) == "TIMESTAMP" and columns["captured_at"].timezone  # type: ignore[attr-defined]
    assert str(columns["total_profit_loss_rate"]) == "NUMERIC(12, 4)"
    assert str(columns["deposit"]) == "BIGINT" and str(columns["trade_date"]) == "DATE"
    assert str(raw["payload"]) == "JSONB"
