"""Migrations: upgrade to head, one head, models match the migrated schema, downgrade to base."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from etl.apis import Base
from etl.store.engine import make_engine
from etl.store.schema import alembic_config, current_revision, downgrade, head_revision, migrate

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

        downgrade(engine, "base")
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


OLD_ROWS = [  # (status, trigger, reason, error, spool_id) as revision 0003 wrote them
    ("skipped", "scheduled", "Chuseok", None, None),
    ("missed", "scheduled", "the daemon was not running", None, None),
    (
        "missed",
        "scheduled",
        "no snapshot was started for this slot (the machine slept, or the daemon was paused)",
        None,
        None,
    ),
    ("missed", "scheduled", "the previous snapshot of this account and exchange was still running", None, None),
    ("success", "replay", "3 rebuilt, 0 unchanged, 0 refused by today's transform, 0 incomplete", None, None),
    ("success", "manual", "replayed 2026-11-20 06:00Z; it had failed: dnca_tot: not an integer: 'x'", None, None),
    ("failed", "scheduled", None, "abandoned: the process stopped before it finished", None),
    ("failed", "manual", None, "kt00005: HTTP 500", None),
    ("failed", "manual", None, "cannot read the account number: ka00001: HTTP 200, return_code 3", None),
    ("failed", "manual", None, "internal error: KeyError: 'x'", None),
    ("failed", "manual", None, "database sqlite:///x: loading a snapshot failed: disk I/O error", None),
    ("failed", "manual", None, "dnca_tot: not an integer: '00000001753X'", None),
    ("success", "scheduled", None, None, "abc"),
    ("success", "manual", None, None, None),
]
EXPECTED = [  # (reason, detail) after 0004
    ("market_closed", "Chuseok"),
    ("daemon_down", None),
    ("not_started", None),
    ("still_running", None),
    ("replayed", OLD_ROWS[4][2]),
    ("replayed", OLD_ROWS[5][2]),
    ("abandoned", None),
    ("api_error", None),
    ("api_error", None),
    ("internal_error", None),
    ("database_error", None),
    ("payload_refused", None),
    ("spooled", None),
    (None, None),
]


def test_0004_gives_old_rows_their_reason_keeps_their_text_and_downgrades_back(db_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0003")
            for n, (status, trigger, reason, error, spool_id) in enumerate(OLD_ROWS):
                connection.execute(
                    text(
                        "INSERT INTO etl_runs (id, trigger, status, account_no, exchange, started_at, reason, error, "
                        "spool_id) VALUES (:id, :trigger, :status, 'a', 'KRX', '2026-11-20 00:00:00+00:00', :reason, "
                        ":error, :spool_id)"
                    ),
                    {
                        "id": n + 1,
                        "trigger": trigger,
                        "status": status,
                        "reason": reason,
                        "error": error,
                        "spool_id": spool_id,
                    },
                )
        migrate(engine)
        with engine.connect() as connection:
            got = connection.execute(text("SELECT reason, detail FROM etl_runs ORDER BY id")).all()
        assert [tuple(row) for row in got] == EXPECTED
        with pytest.raises(IntegrityError), engine.begin() as connection:  # a reason outside the enum
            connection.execute(text("UPDATE etl_runs SET reason = 'because' WHERE id = 1"))
        downgrade(engine, "0003")
        with engine.connect() as connection:
            back = connection.execute(text("SELECT reason FROM etl_runs ORDER BY id")).scalars().all()
        assert back[:6] == [row[2] for row in OLD_ROWS[:6]]
    finally:
        engine.dispose()


def test_views_survive_a_round_trip_and_a_table_rebuilt_under_them(engine: Engine, tmp_path: Path) -> None:
    """Down to 0004 and up again with a history loaded, then a later migration's shape: a table the views read
    rebuilt by copy and rename (SQLite's batch mode) inside views_set_aside, and the views take its new column."""
    import sqlalchemy as sa
    from alembic.operations import Operations

    from etl.read.views import VIEW_NAMES, views_set_aside
    from tests.support.books import week

    week().load(engine, tmp_path)

    def answers() -> list[dict[str, object]]:
        with engine.connect() as connection:
            return [
                {"view": name} | {k: v for k, v in row._mapping.items() if k != "note"}
                for name in ("account_daily", "position_changes", "latest_positions")
                for row in connection.execute(sa.text(f"SELECT * FROM {name} ORDER BY 1, 2, 3, 4, 5"))
            ]

    before = answers()
    assert before
    downgrade(engine, "0004")
    assert not set(VIEW_NAMES) & set(inspect(engine).get_view_names())
    migrate(engine)
    assert answers() == before

    with engine.begin() as connection:
        operations = Operations(MigrationContext.configure(connection, opts={"render_as_batch": True}))
        with views_set_aside(connection), operations.batch_alter_table("position_snapshots", recreate="always") as b:
            b.add_column(sa.Column("note", sa.Text()))
    assert "note" in {c["name"] for c in inspect(engine).get_columns("latest_positions")}
    assert answers() == before  # the same answers, and the rows survived the copy
    if engine.dialect.name == "postgresql":  # dropping a view dropped its comments: created again, it has them
        with engine.connect() as connection:
            comments = connection.execute(
                sa.text(
                    "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
                    "WHERE a.attrelid = 'latest_positions'::regclass AND a.attnum > 0"
                )
            ).all()
        assert all(comment for name, comment in comments if name != "note") and len(comments) == 23
