"""Realised profit: ka10074's daily figures in account_realized_daily (one row per account and day, loaded by
`kiwoom-etl backfill` and the account's evening day); etl_runs.api_id takes ka10074; the views are created again
with realized_pnl, position_pnl, realized_checks, dividends and dividends_monthly.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store.sqltypes import ExactDecimal, UtcDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ACCOUNTS = ("kt00005", "kt00015", "kt00017", "kt00002")
_MARKET = ("ka10099", "ka10100", "ka20006", "ka10081")  # 0014's


def _api_ids(batch: BatchOperations, *names: str) -> None:
    batch.drop_constraint(op.f("ck_etl_runs_api_id"), type_="check")
    batch.create_check_constraint(op.f("ck_etl_runs_api_id"), f"api_id IN ({', '.join(map(repr, names))})")


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):
        with op.batch_alter_table("etl_runs") as batch:
            _api_ids(batch, *_ACCOUNTS, "ka10074", *_MARKET)  # as etl.apis.APIS lists them
        op.create_table(
            "account_realized_daily",
            sa.Column("account_no", sa.Text(), nullable=False),
            sa.Column("trade_date", sa.Date(), nullable=False),
            sa.Column("run_id", _ID, nullable=False),
            sa.Column("captured_at", UtcDateTime(), nullable=False),
            sa.Column("buy_amount", sa.BigInteger(), nullable=True),
            sa.Column("sell_amount", sa.BigInteger(), nullable=True),
            sa.Column("realized_pnl", ExactDecimal(15, 2), nullable=True),
            sa.Column("commission", sa.BigInteger(), nullable=True),
            sa.Column("tax", sa.BigInteger(), nullable=True),
            sa.ForeignKeyConstraint(
                ["run_id"], ["etl_runs.id"], name=op.f("fk_account_realized_daily_run_id_etl_runs")
            ),
            sa.PrimaryKeyConstraint("account_no", "trade_date", name=op.f("pk_account_realized_daily")),
        )
        op.create_index(op.f("ix_account_realized_daily_run_id"), "account_realized_daily", ["run_id"])
    apply_comments(connection, ["etl_runs", "account_realized_daily"])


def downgrade() -> None:
    connection = op.get_bind()
    # ka10074's runs and pages go with its table: the older schema does not know it.
    with views_set_aside(connection):
        op.drop_table("account_realized_daily")
        op.execute("DELETE FROM raw_responses WHERE run_id IN (SELECT id FROM etl_runs WHERE api_id = 'ka10074')")
        op.execute("DELETE FROM etl_runs WHERE api_id = 'ka10074'")
        with op.batch_alter_table("etl_runs") as batch:
            _api_ids(batch, *_ACCOUNTS, *_MARKET)
    apply_comments(connection, ["etl_runs"])
