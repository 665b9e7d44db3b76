"""Spooled snapshots load at most once: etl_runs.spool_id, unique.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.add_column(sa.Column("spool_id", sa.Text()))
        batch.create_unique_constraint(op.f("uq_etl_runs_spool_id"), ["spool_id"])


def downgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.drop_constraint(op.f("uq_etl_runs_spool_id"), type_="unique")
        batch.drop_column("spool_id")
