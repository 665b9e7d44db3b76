"""The ledger: account_transactions holds every kt00015 line once under its natural key, and
account_transaction_conflicts a line that came again with different content. etl_runs gains `api_id` (kt00005 for
every existing row), a unique claim of a ledger run's day (its exchange is NULL, and NULLs never collide in the old
key) and the reason `not_supported`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store.sqltypes import ExactDecimal, RawJson, UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_QUANTITY = ExactDecimal(15, 6)
_FOREIGN = ExactDecimal(15, 4)
_OLD_REASONS = (
    "market_closed",
    "claimed_elsewhere",
    "payload_refused",
    "api_error",
    "database_error",
    "spooled",
    "abandoned",
    "still_running",
    "daemon_down",
    "not_started",
    "replayed",
    "internal_error",
)
_REASONS = (*_OLD_REASONS, "not_supported")
_KINDS = (
    "deposit",
    "withdrawal",
    "securities_in",
    "securities_out",
    "dividend",
    "buy",
    "sell",
    "fee",
    "tax",
    "interest",
    "loan",
    "other",
)


def _one_of(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):  # the views read etl_runs, which SQLite's batch mode rebuilds
        with op.batch_alter_table("etl_runs") as batch:
            batch.add_column(sa.Column("api_id", sa.Text(), server_default=sa.text("'kt00005'"), nullable=False))
            batch.create_check_constraint(op.f("ck_etl_runs_api_id"), "api_id IN ('kt00005', 'kt00015')")
            batch.drop_constraint(op.f("ck_etl_runs_reason"), type_="check")
            batch.create_check_constraint(op.f("ck_etl_runs_reason"), _one_of("reason", _REASONS))
        op.create_index(
            "uq_etl_runs_ledger_day",
            "etl_runs",
            ["api_id", "account_no", "scheduled_for"],
            unique=True,
            sqlite_where=sa.text("exchange IS NULL"),
            postgresql_where=sa.text("exchange IS NULL"),
        )
        op.create_table(
            "account_transactions",
            sa.Column("id", _ID, nullable=False),
            sa.Column("run_id", _ID, nullable=False),
            sa.Column("account_no", sa.Text(), nullable=False),
            sa.Column("settlement_date", sa.Date(), nullable=False),
            sa.Column("transaction_no", sa.Text(), nullable=False),
            sa.Column("original_transaction_no", sa.Text(), nullable=False),
            sa.Column("kind", sa.Text(), nullable=False),
            sa.Column("contract_date", sa.Date(), nullable=True),
            sa.Column("processed_time", sa.Time(), nullable=True),
            sa.Column("remark", sa.Text(), nullable=True),
            sa.Column("io_type", sa.Text(), nullable=True),
            sa.Column("io_type_name", sa.Text(), nullable=True),
            sa.Column("stock_code", sa.Text(), nullable=True),
            sa.Column("stock_name", sa.Text(), nullable=True),
            sa.Column("isin_code", sa.Text(), nullable=True),
            sa.Column("quantity", _QUANTITY, nullable=True),
            sa.Column("unit_price", _FOREIGN, nullable=True),
            sa.Column("trade_amount", sa.BigInteger(), nullable=True),
            sa.Column("settled_amount", sa.BigInteger(), nullable=True),
            sa.Column("commission", sa.BigInteger(), nullable=True),
            sa.Column("transaction_tax", sa.BigInteger(), nullable=True),
            sa.Column("income_tax", sa.BigInteger(), nullable=True),
            sa.Column("tax_fee_total", sa.BigInteger(), nullable=True),
            sa.Column("cash_balance", sa.BigInteger(), nullable=True),
            sa.Column("securities_balance", _QUANTITY, nullable=True),
            sa.Column("credit_deal_type_name", sa.Text(), nullable=True),
            sa.Column("loan_repayment", sa.BigInteger(), nullable=True),
            sa.Column("loan_date", sa.Date(), nullable=True),
            sa.Column("repayment_difference", sa.BigInteger(), nullable=True),
            sa.Column("overdue_total", sa.BigInteger(), nullable=True),
            sa.Column("interest_lending_fee", sa.BigInteger(), nullable=True),
            sa.Column("uncollected", _QUANTITY, nullable=True),
            sa.Column("repayment_total", _QUANTITY, nullable=True),
            sa.Column("currency", sa.Text(), nullable=True),
            sa.Column("fc_trade_amount", _FOREIGN, nullable=True),
            sa.Column("fc_settled_amount", _FOREIGN, nullable=True),
            sa.Column("fc_transaction_tax", _FOREIGN, nullable=True),
            sa.Column("fc_commission", _FOREIGN, nullable=True),
            sa.Column("fc_overdue_total", _FOREIGN, nullable=True),
            sa.Column("fc_cash_balance", _FOREIGN, nullable=True),
            sa.Column("fc_uncollected", _FOREIGN, nullable=True),
            sa.Column("fc_repayment_total", _FOREIGN, nullable=True),
            sa.Column("foreign_tax_paid", _FOREIGN, nullable=True),
            sa.Column("tax_base_price", _FOREIGN, nullable=True),
            sa.Column("transaction_class", sa.Text(), nullable=True),
            sa.Column("transaction_class_name", sa.Text(), nullable=True),
            sa.Column("history_type", sa.Text(), nullable=True),
            sa.Column("trade_style", sa.Text(), nullable=True),
            sa.Column("channel_name", sa.Text(), nullable=True),
            sa.Column("exchange_code", sa.Text(), nullable=True),
            sa.Column("exchange_name", sa.Text(), nullable=True),
            sa.Column("cash_slip_no", sa.Text(), nullable=True),
            sa.Column("processor", sa.Text(), nullable=True),
            sa.Column("processing_branch", sa.Text(), nullable=True),
            sa.Column("depositor", sa.Text(), nullable=True),
            sa.Column("loaded_at", UtcDateTime(), nullable=False),
            sa.ForeignKeyConstraint(["run_id"], ["etl_runs.id"], name=op.f("fk_account_transactions_run_id_etl_runs")),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_account_transactions")),
            sa.UniqueConstraint(
                "account_no",
                "settlement_date",
                "transaction_no",
                "original_transaction_no",
                name=op.f("uq_account_transactions_natural_key"),
            ),
            sa.CheckConstraint(_one_of("kind", _KINDS), name=op.f("ck_account_transactions_kind")),
        )
        op.create_index(op.f("ix_account_transactions_kind"), "account_transactions", ["kind"])
        op.create_index(op.f("ix_account_transactions_run_id"), "account_transactions", ["run_id"])
        op.create_table(
            "account_transaction_conflicts",
            sa.Column("id", _ID, nullable=False),
            sa.Column("run_id", _ID, nullable=False),
            sa.Column("account_no", sa.Text(), nullable=False),
            sa.Column("settlement_date", sa.Date(), nullable=False),
            sa.Column("transaction_no", sa.Text(), nullable=False),
            sa.Column("original_transaction_no", sa.Text(), nullable=False),
            sa.Column("transaction_id", _ID, nullable=False),
            sa.Column("differences", sa.Text(), nullable=False),
            sa.Column("line", RawJson(), nullable=False),
            sa.Column("received_at", UtcDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["run_id"], ["etl_runs.id"], name=op.f("fk_account_transaction_conflicts_run_id_etl_runs")
            ),
            sa.ForeignKeyConstraint(
                ["transaction_id"],
                ["account_transactions.id"],
                name=op.f("fk_account_transaction_conflicts_transaction_id"),
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_account_transaction_conflicts")),
        )
        op.create_index(
            op.f("ix_account_transaction_conflicts_transaction_id"),
            "account_transaction_conflicts",
            ["transaction_id"],
        )
    apply_comments(connection, ["etl_runs", "raw_responses", "account_transactions", "account_transaction_conflicts"])


def downgrade() -> None:
    connection = op.get_bind()
    # The ledger's runs and pages go with it: the older schema has no way to tell them from snapshots. The views
    # are set aside first: those reading the ledger (the returns views) are not created again without it.
    with views_set_aside(connection):
        op.drop_table("account_transaction_conflicts")
        op.drop_table("account_transactions")
        op.execute("DELETE FROM raw_responses WHERE run_id IN (SELECT id FROM etl_runs WHERE api_id <> 'kt00005')")
        op.execute("DELETE FROM etl_runs WHERE api_id <> 'kt00005'")
        op.execute("UPDATE etl_runs SET reason = 'api_error' WHERE reason = 'not_supported'")
        op.drop_index("uq_etl_runs_ledger_day", table_name="etl_runs")
        with op.batch_alter_table("etl_runs") as batch:
            batch.drop_constraint(op.f("ck_etl_runs_reason"), type_="check")
            batch.create_check_constraint(op.f("ck_etl_runs_reason"), _one_of("reason", _OLD_REASONS))
            batch.drop_constraint(op.f("ck_etl_runs_api_id"), type_="check")
            batch.drop_column("api_id")
    apply_comments(connection, ["etl_runs", "raw_responses"])
