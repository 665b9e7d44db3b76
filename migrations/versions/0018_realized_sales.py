"""realized_sales: each sell line of the ledger at its moving-average cost, filled from the existing ledger and
snapshots and kept by every load (etl.store.realized); the realised views are created again to read it (a downgrade
leaves them out: the older revision's computed the walk whole). Every view is created again as the code defines it,
account_benchmark_daily with it: on a first deposit day counted from its start, its index is measured from the close
before that day.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store import realized

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Exact on PostgreSQL; on SQLite the decimal text realized_pnl showed (SQLite's NUMERIC is a float).
_AVERAGE = sa.Numeric(24, 4, asdecimal=True).with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):
        op.create_table(
            "realized_sales",
            sa.Column("account_no", sa.Text(), nullable=False),
            sa.Column("trade_date", sa.Date(), nullable=False),
            sa.Column("stock_code", sa.Text(), nullable=False),
            sa.Column("stock_name", sa.Text(), nullable=True),
            sa.Column("quantity", sa.BigInteger(), nullable=False),
            sa.Column("sell_amount", sa.BigInteger(), nullable=True),
            sa.Column("cost_basis", sa.BigInteger(), nullable=True),
            sa.Column("commission", sa.BigInteger(), nullable=False),
            sa.Column("tax", sa.BigInteger(), nullable=False),
            sa.Column("realized_pnl", sa.BigInteger(), nullable=True),
            sa.Column("average_cost", _AVERAGE, nullable=True),
            sa.Column("transaction_id", sa.BigInteger(), nullable=False),
            sa.PrimaryKeyConstraint("account_no", "trade_date", "transaction_id", name=op.f("pk_realized_sales")),
        )
        realized.rebuild(connection)
    apply_comments(connection, ["realized_sales"])


def downgrade() -> None:
    with views_set_aside(op.get_bind()):
        op.drop_table("realized_sales")
