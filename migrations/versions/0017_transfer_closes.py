"""A securities transfer without an amount on a day no snapshot lists its stock is valued at stock_daily's close of
that day (etl.store.valuation): account_flows_daily and the realised views are created again as the code defines
them, and daily_returns, which reads the flows, is computed again.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from etl.read.views import views_set_aside
from etl.store import returns

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    with views_set_aside(connection):
        pass
    returns.rebuild(connection)  # the flows of such a transfer's day changed


def downgrade() -> None:
    # The views are the code's, not a revision's: there are no older definitions to go back to, so they stay as
    # this code writes them, and daily_returns with them.
    with views_set_aside(op.get_bind()):
        pass
