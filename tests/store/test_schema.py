"""Migrations: upgrade to head, one head, models match the migrated schema, downgrade to base."""

from __future__ import annotations

from collections.abc import Iterator
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
from tests.support.schema import migrated, postgres_base_url, postgres_schema

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


# What a schema is made of, in a form two schemas of different names compare in: every table and view with its
# columns, types, defaults and comments, every constraint and index by definition, the views' text, the rows of the
# version table.
_POSTGRES_CATALOG = (
    """SELECT c.relname, c.relkind, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum), obj_description(c.oid, 'pg_class')
       FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
       WHERE c.relnamespace = current_schema()::regnamespace
       ORDER BY 1, 3""",
    """SELECT r.relname, o.conname, pg_get_constraintdef(o.oid)
       FROM pg_constraint o JOIN pg_class r ON r.oid = o.conrelid
       WHERE o.connamespace = current_schema()::regnamespace ORDER BY 1, 2""",
    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 1, 2",
    "SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema() ORDER BY 1",
    "SELECT version_num FROM alembic_version",
)
_SQLITE_CATALOG = ("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY 1, 2", "SELECT * FROM alembic_version")


def _lines(value: object) -> object:
    """A statement's lines in order of text: Alembic's batch mode rebuilds a SQLite table with its constraints in
    an order that differs from run to run (it keeps them in a set)."""
    return tuple(sorted(value.splitlines())) if isinstance(value, str) and "\n" in value else value


def _catalog(engine: Engine) -> list[list[tuple[object, ...]]]:
    postgres = engine.dialect.name == "postgresql"
    with engine.connect() as connection:
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar() if postgres else None

        def unnamed(value: object) -> object:  # the schemas' own names differ
            return str(value).replace(f"{schema}.", "") if schema and value is not None else _lines(value)

        return [
            [tuple(unnamed(value) for value in row) for row in connection.exec_driver_sql(query)]
            for query in (_POSTGRES_CATALOG if postgres else _SQLITE_CATALOG)
        ]


@pytest.fixture
def other_urls(db_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two more empty databases on db_url's backend."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'first.db'}", f"sqlite:///{tmp_path / 'second.db'}"
        return
    with postgres_schema(postgres_base_url()) as first, postgres_schema(postgres_base_url()) as second:
        yield first, second


def test_a_copied_migration_is_the_migrated_schema(db_url: str, other_urls: tuple[str, str]) -> None:
    """tests/support/schema.py's `migrated`, which most tests' databases come from, builds what `migrate` builds: a
    test session's first call migrates and later ones copy, so the second call here is a copy."""
    engines = [make_engine(url) for url in (db_url, *other_urls)]
    real, first, copied = engines
    try:
        migrated(first)
        migrated(copied)
        migrate(real)
        catalog = _catalog(real)
        assert len(catalog[0]) > 50 and catalog[-1] == [(head_revision(),)]
        assert _catalog(copied) == catalog
    finally:
        for engine in engines:
            engine.dispose()
