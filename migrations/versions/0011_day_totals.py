"""kt00017's totals of the day: account_day_totals, one row per account and trade_date, and the ledger_checks view
that holds them against the ledger; etl_runs.api_id takes kt00017. The views are created again, account_flows_daily
with them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store.sqltypes import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# kt00017's fields in the order of its page, as this revision's columns.
_AMOUNTS = (
    "cash_d2",
    "unpaid_credit_interest",
    "other_loan_amount",
    "stock_evaluation_d2",
    "deposit_collateral_loan_d2",
    "collateral_stock_evaluation_d2",
    "credit_loan_d2",
    "credit_loan_evaluation_d2",
    "short_sale_collateral_d2",
    "short_sale_evaluation_d2",
    "deposits",
    "withdrawals",
    "securities_in_amount",
    "securities_out_amount",
    "sell_amount",
    "buy_amount",
    "commission",
    "tax",
    "stock_purchase_loan",
    "rp_evaluation",
    "bond_evaluation",
    "els_evaluation",
    "credit_interest",
    "sale_collateral_loan_interest",
    "dividends",
)


def _api_ids(batch: BatchOperations, *names: str) -> None:
    batch.drop_constraint(op.f("ck_etl_runs_api_id"), type_="check")
    batch.create_check_constraint(op.f("ck_etl_runs_api_id"), f"api_id IN ({', '.join(map(repr, names))})")


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):  # the views read etl_runs, which SQLite's batch mode rebuilds
        with op.batch_alter_table("etl_runs") as batch:
            _api_ids(batch, "kt00005", "kt00015", "kt00017")
        op.create_table(
            "account_day_totals",
            sa.Column("account_no", sa.Text(), nullable=False),
            sa.Column("trade_date", sa.Date(), nullable=False),
            sa.Column("run_id", _ID, nullable=False),
            sa.Column("captured_at", UtcDateTime(), nullable=False),
            *(sa.Column(name, sa.BigInteger(), nullable=True) for name in _AMOUNTS),
            sa.ForeignKeyConstraint(["run_id"], ["etl_runs.id"], name=op.f("fk_account_day_totals_run_id_etl_runs")),
            sa.PrimaryKeyConstraint("account_no", "trade_date", name=op.f("pk_account_day_totals")),
        )
        op.create_index(op.f("ix_account_day_totals_run_id"), "account_day_totals", ["run_id"])
    apply_comments(connection, ["etl_runs", "account_day_totals"])


def downgrade() -> None:
    connection = op.get_bind()
    # The day totals' runs and pages go with them: the older schema does not know kt00017.
    with views_set_aside(connection):
        op.drop_table("account_day_totals")
        op.execute("DELETE FROM raw_responses WHERE run_id IN (SELECT id FROM etl_runs WHERE api_id = 'kt00017')")
        op.execute("DELETE FROM etl_runs WHERE api_id = 'kt00017'")
        with op.batch_alter_table("etl_runs") as batch:
            _api_ids(batch, "kt00005", "kt00015")
    apply_comments(connection, ["etl_runs"])
