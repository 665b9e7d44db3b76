"""The scheduler's bookkeeping: missed and skipped runs, a reason, a duration, and one run per slot.

etl_runs gains `reason` (why a slot was skipped or missed) and `duration_ms`; its status may now also be `missed`
or `skipped`; and (account_no, exchange, scheduled_for) becomes unique, which is how daemons sharing a database
claim a slot before fetching it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.add_column(sa.Column("reason", sa.Text()))
        batch.add_column(sa.Column("duration_ms", sa.Integer()))
        batch.drop_constraint(op.f("ck_etl_runs_status"), type_="check")
        batch.create_check_constraint(
            op.f("ck_etl_runs_status"), "status IN ('running', 'success', 'failed', 'missed', 'skipped')"
        )
        batch.create_unique_constraint(
            op.f("uq_etl_runs_account_no_exchange_scheduled_for"), ["account_no", "exchange", "scheduled_for"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM etl_runs WHERE status IN ('missed', 'skipped')")
    with op.batch_alter_table("etl_runs") as batch:
        batch.drop_constraint(op.f("uq_etl_runs_account_no_exchange_scheduled_for"), type_="unique")
        batch.drop_constraint(op.f("ck_etl_runs_status"), type_="check")
        batch.create_check_constraint(op.f("ck_etl_runs_status"), "status IN ('running', 'success', 'failed')")
        batch.drop_column("duration_ms")
        batch.drop_column("reason")
