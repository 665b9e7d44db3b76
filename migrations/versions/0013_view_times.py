"""The views give every time column as RFC 3339 UTC text on SQLite, as `time` already was (captured_at and
scheduled_for of account_history, latest_accounts and latest_positions, etl_freshness's last_*_at, ledger_checks'
captured_at): they are created again as the code defines them. PostgreSQL's are timestamptz either way.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

from etl.read.views import views_set_aside

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with views_set_aside(op.get_bind()):
        pass


def downgrade() -> None:
    # The views are the code's, not a revision's: there are no older definitions to go back to, so they stay as
    # this code writes them.
    with views_set_aside(op.get_bind()):
        pass
