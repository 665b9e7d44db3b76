"""daily_closes: each account × exchange × trade_date's close and the previous day's, filled from the existing
snapshots and kept by every load (etl.store.closes); the daily views are created again to read it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store import closes
from etl.store.sqltypes import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):
        op.create_table(
            "daily_closes",
            sa.Column("account_no", sa.Text(), nullable=False),
            sa.Column("exchange", sa.Text(), nullable=False),
            sa.Column("trade_date", sa.Date(), nullable=False),
            sa.Column("snapshot_id", _ID, nullable=False),
            sa.Column("captured_at", UtcDateTime(), nullable=False),
            sa.Column("snapshots", sa.Integer(), nullable=False),
            sa.Column("previous_trade_date", sa.Date(), nullable=True),
            sa.Column("previous_snapshot_id", _ID, nullable=True),
            sa.ForeignKeyConstraint(
                ["snapshot_id"],
                ["account_snapshots.id"],
                name=op.f("fk_daily_closes_snapshot_id_account_snapshots"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["previous_snapshot_id"],
                ["account_snapshots.id"],
                name=op.f("fk_daily_closes_previous_snapshot_id_account_snapshots"),
                ondelete="SET NULL",
            ),
            sa.PrimaryKeyConstraint("account_no", "exchange", "trade_date", name=op.f("pk_daily_closes")),
            sa.UniqueConstraint("snapshot_id", name=op.f("uq_daily_closes_snapshot_id")),
        )
        op.create_index(op.f("ix_daily_closes_previous_snapshot_id"), "daily_closes", ["previous_snapshot_id"])
        closes.rebuild(connection)
    apply_comments(connection, ["daily_closes"])


def downgrade() -> None:
    with views_set_aside(op.get_bind()):
        op.drop_index(op.f("ix_daily_closes_previous_snapshot_id"), table_name="daily_closes")
        op.drop_table("daily_closes")
