"""executions: each fill of Kiwoom's real-time feed (a `00` push whose order status is 체결) once under its natural
key (account_no, trade_date, order_no, execution_no), with the push as received; execution_conflicts: a fill that
came again with different content. The views are created again as the code defines them, execution_checks with them
(each day's fills against the ledger's buy and sell lines).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store.sqltypes import RawJson, UtcDateTime

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fill_key() -> list[sa.Column[object]]:
    return [
        sa.Column("id", _ID, nullable=False),
        sa.Column("account_no", sa.Text(), nullable=False),
        sa.Column("trade_date", sa.Date(), nullable=False),
        sa.Column("order_no", sa.Text(), nullable=False),
        sa.Column("execution_no", sa.Text(), nullable=False),
    ]


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):
        op.create_table(
            "executions",
            *_fill_key(),
            sa.Column("exchange", sa.Text(), nullable=False),
            sa.Column("stock_code", sa.Text(), nullable=False),
            sa.Column("stock_name", sa.Text(), nullable=True),
            sa.Column("side", sa.Text(), nullable=False),
            sa.Column("quantity", sa.BigInteger(), nullable=False),
            sa.Column("price", sa.BigInteger(), nullable=False),
            sa.Column("commission", sa.BigInteger(), nullable=True),
            sa.Column("tax", sa.BigInteger(), nullable=True),
            sa.Column("executed_at", UtcDateTime(), nullable=False),
            sa.Column("received_at", UtcDateTime(), nullable=False),
            sa.Column("message", RawJson(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
            sa.UniqueConstraint(
                "account_no", "trade_date", "order_no", "execution_no", name=op.f("uq_executions_natural_key")
            ),
            sa.CheckConstraint("exchange IN ('KRX', 'NXT')", name=op.f("ck_executions_exchange")),
            sa.CheckConstraint("side IN ('buy', 'sell')", name=op.f("ck_executions_side")),
        )
        op.create_table(
            "execution_conflicts",
            *_fill_key(),
            sa.Column("execution_id", _ID, nullable=False),
            sa.Column("differences", sa.Text(), nullable=False),
            sa.Column("message", RawJson(), nullable=False),
            sa.Column("received_at", UtcDateTime(), nullable=False),
            sa.ForeignKeyConstraint(
                ["execution_id"], ["executions.id"], name=op.f("fk_execution_conflicts_execution_id_executions")
            ),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_execution_conflicts")),
        )
        op.create_index(op.f("ix_execution_conflicts_execution_id"), "execution_conflicts", ["execution_id"])
    apply_comments(connection, ["executions", "execution_conflicts"])


def downgrade() -> None:
    # The views are set aside first: execution_checks, which reads executions, is not created again without it.
    with views_set_aside(op.get_bind()):
        op.drop_table("execution_conflicts")
        op.drop_table("executions")
