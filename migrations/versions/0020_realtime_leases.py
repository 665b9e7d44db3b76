"""realtime_leases: which replica listens to an app key's real-time feed, until when (etl.store.lease). A row per
app key, named by a digest of the key; no view reads it, so the views stay as they are.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.read.dictionary import apply_comments
from etl.store.sqltypes import UtcDateTime

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "realtime_leases",
        sa.Column("app_key_id", sa.Text(), nullable=False),
        sa.Column("holder", sa.Text(), nullable=False),
        sa.Column("acquired_at", UtcDateTime(), nullable=False),
        sa.Column("renewed_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("account_nos", sa.Text(), nullable=True),
        sa.Column("connected_at", UtcDateTime(), nullable=True),
        sa.Column("last_message_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("app_key_id", name=op.f("pk_realtime_leases")),
    )
    apply_comments(op.get_bind(), ["realtime_leases"])


def downgrade() -> None:
    op.drop_table("realtime_leases")
