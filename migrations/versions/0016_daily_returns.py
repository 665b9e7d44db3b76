"""daily_returns: each account × exchange × day with a value, its equity, flows and time-weighted index chained from
the first day, filled from the existing history and kept by every load (etl.store.returns); account_returns_daily
is created again to read it (a downgrade leaves that view out: the older revision's computed it whole).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.read.dictionary import apply_comments
from etl.read.views import views_set_aside
from etl.store import returns
from etl.store.sqltypes import UtcDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHAIN = sa.Numeric(38, 18, asdecimal=True).with_variant(sa.Float(), "sqlite")
_AMOUNTS = ("net_assets", "collateral_loans", "equity", "external_flow", "dividends")


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):
        op.create_table(
            "daily_returns",
            sa.Column("account_no", sa.Text(), nullable=False),
            sa.Column("exchange", sa.Text(), nullable=False),
            sa.Column("trade_date", sa.Date(), nullable=False),
            sa.Column("captured_at", UtcDateTime(), nullable=False),
            sa.Column("source", sa.Text(), nullable=False),
            *(sa.Column(name, sa.BigInteger(), nullable=False) for name in _AMOUNTS),
            sa.Column("daily_return", _CHAIN, nullable=True),
            sa.Column("twr_index", _CHAIN, nullable=False),
            sa.Column("peak_index", _CHAIN, nullable=False),
            sa.Column("drawdown", _CHAIN, nullable=False),
            sa.PrimaryKeyConstraint("account_no", "exchange", "trade_date", name=op.f("pk_daily_returns")),
        )
    returns.rebuild(connection)  # the flows are read from account_flows_daily, created again just now
    apply_comments(connection, ["daily_returns"])


def downgrade() -> None:
    with views_set_aside(op.get_bind()):
        op.drop_table("daily_returns")
