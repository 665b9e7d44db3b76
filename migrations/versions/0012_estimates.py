"""kt00002's daily estimated assets: account_daily_estimates, one row per account and day, loaded by `kiwoom-etl
backfill`; etl_runs.api_id takes kt00002, and the views are created again (account_returns_daily reads the
estimates on KRX days without a snapshot).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store.sqltypes import UtcDateTime

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AMOUNTS = (
    "cash",
    "collateral_loan",
    "credit_loan",
    "short_sale_collateral",
    "substitute_amount",
    "estimated_assets",
    "estimated_assets_excluding_funds",
)


def _api_ids(batch: BatchOperations, *names: str) -> None:
    batch.drop_constraint(op.f("ck_etl_runs_api_id"), type_="check")
    batch.create_check_constraint(op.f("ck_etl_runs_api_id"), f"api_id IN ({', '.join(map(repr, names))})")


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):
        with op.batch_alter_table("etl_runs") as batch:
            _api_ids(batch, "kt00005", "kt00015", "kt00017", "kt00002")
        op.create_table(
            "account_daily_estimates",
            sa.Column("account_no", sa.Text(), nullable=False),
            sa.Column("trade_date", sa.Date(), nullable=False),
            sa.Column("run_id", _ID, nullable=False),
            sa.Column("captured_at", UtcDateTime(), nullable=False),
            *(sa.Column(name, sa.BigInteger(), nullable=True) for name in _AMOUNTS),
            sa.ForeignKeyConstraint(
                ["run_id"], ["etl_runs.id"], name=op.f("fk_account_daily_estimates_run_id_etl_runs")
            ),
            sa.PrimaryKeyConstraint("account_no", "trade_date", name=op.f("pk_account_daily_estimates")),
        )
        op.create_index(op.f("ix_account_daily_estimates_run_id"), "account_daily_estimates", ["run_id"])
    apply_comments(connection, ["etl_runs", "account_daily_estimates"])


def downgrade() -> None:
    connection = op.get_bind()
    # The estimates' runs and pages go with them: the older schema does not know kt00002.
    with views_set_aside(connection):
        op.drop_table("account_daily_estimates")
        op.execute("DELETE FROM raw_responses WHERE run_id IN (SELECT id FROM etl_runs WHERE api_id = 'kt00002')")
        op.execute("DELETE FROM etl_runs WHERE api_id = 'kt00002'")
        with op.batch_alter_table("etl_runs") as batch:
            _api_ids(batch, "kt00005", "kt00015", "kt00017")
    apply_comments(connection, ["etl_runs"])
