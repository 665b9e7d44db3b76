"""The market data: instruments (ka10099, ka10100), index_daily (ka20006) and stock_daily (ka10081); etl_runs.api_id
takes their ids, a market run (no account's) claims its day by its API alone, and raw_responses says what a market
request asked (`asked`).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store.sqltypes import ExactDecimal, UtcDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_BEFORE = ("kt00005", "kt00015", "kt00017", "kt00002")
_MARKET = ("ka10099", "ka10100", "ka20006", "ka10081")
_MARKETS = ("KOSPI", "KOSDAQ", "KONEX", "ETF", "ETN", "OTHER")
_NO_ACCOUNT = "account_no IS NULL AND exchange IS NULL"


def _api_ids(batch: BatchOperations, *names: str) -> None:
    batch.drop_constraint(op.f("ck_etl_runs_api_id"), type_="check")
    batch.create_check_constraint(op.f("ck_etl_runs_api_id"), f"api_id IN ({', '.join(map(repr, names))})")


def _bars(name: str, code: str, price: sa.types.TypeEngine) -> None:  # type: ignore[type-arg]
    op.create_table(
        name,
        sa.Column(code, sa.Text(), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("run_id", _ID, nullable=False),
        sa.Column("captured_at", UtcDateTime(), nullable=False),
        sa.Column("open", price, nullable=True),
        sa.Column("high", price, nullable=True),
        sa.Column("low", price, nullable=True),
        sa.Column("close", price, nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=True),
        *((sa.Column("trading_value", sa.BigInteger(), nullable=True),) if name == "index_daily" else ()),
        sa.ForeignKeyConstraint(["run_id"], ["etl_runs.id"], name=op.f(f"fk_{name}_run_id_etl_runs")),
        sa.PrimaryKeyConstraint(code, "trade_date", name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_run_id"), name, ["run_id"])


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):
        with op.batch_alter_table("etl_runs") as batch:
            _api_ids(batch, *_BEFORE, *_MARKET)
        op.create_index(
            "uq_etl_runs_market_day",
            "etl_runs",
            ["api_id", "scheduled_for"],
            unique=True,
            sqlite_where=sa.text(_NO_ACCOUNT),
            postgresql_where=sa.text(_NO_ACCOUNT),
        )
        with op.batch_alter_table("raw_responses") as batch:
            batch.add_column(sa.Column("asked", sa.Text(), nullable=True))
        op.create_table(
            "instruments",
            sa.Column("stock_code", sa.Text(), nullable=False),
            sa.Column("name", sa.Text(), nullable=False),
            sa.Column("market", sa.Text(), nullable=False),
            sa.Column("market_name", sa.Text(), nullable=True),
            sa.Column("sector", sa.Text(), nullable=True),
            sa.Column("listed_on", sa.Date(), nullable=True),
            sa.Column("run_id", _ID, nullable=False),
            sa.Column("updated_at", UtcDateTime(), nullable=False),
            sa.CheckConstraint(f"market IN ({', '.join(map(repr, _MARKETS))})", name=op.f("ck_instruments_market")),
            sa.ForeignKeyConstraint(["run_id"], ["etl_runs.id"], name=op.f("fk_instruments_run_id_etl_runs")),
            sa.PrimaryKeyConstraint("stock_code", name=op.f("pk_instruments")),
        )
        op.create_index(op.f("ix_instruments_run_id"), "instruments", ["run_id"])
        _bars("index_daily", "index_code", ExactDecimal(12, 2))
        _bars("stock_daily", "stock_code", sa.BigInteger())
    apply_comments(connection, ["etl_runs", "raw_responses", "instruments", "index_daily", "stock_daily"])


def downgrade() -> None:
    connection = op.get_bind()
    # The market runs and pages go with their tables: the older schema does not know their APIs.
    with views_set_aside(connection):
        for name in ("stock_daily", "index_daily", "instruments"):
            op.drop_table(name)
        ids = ", ".join(map(repr, _MARKET))
        op.execute(f"DELETE FROM raw_responses WHERE run_id IN (SELECT id FROM etl_runs WHERE api_id IN ({ids}))")
        op.execute(f"DELETE FROM etl_runs WHERE api_id IN ({ids})")
        with op.batch_alter_table("raw_responses") as batch:
            batch.drop_column("asked")
        op.drop_index("uq_etl_runs_market_day", table_name="etl_runs")
        with op.batch_alter_table("etl_runs") as batch:
            _api_ids(batch, *_BEFORE)
    apply_comments(connection, ["etl_runs", "raw_responses"])
