"""The analyst views: account_history, latest_accounts, latest_positions, account_daily, position_daily,
position_changes and etl_freshness (their SQL is in etl.read.views, the one place it lives).

A later migration that alters a table these views read calls etl.read.views.drop_views() first and
create_views() last.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from etl.read.views import create_views, drop_views

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_views(op.get_bind())


def downgrade() -> None:
    drop_views(op.get_bind())
