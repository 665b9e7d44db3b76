"""etl_runs.duration_ms becomes BIGINT on PostgreSQL: an imported or spooled capture weeks old made a run whose
finished_at − started_at passed INTEGER's 2^31 milliseconds (24.8 days), and its load failed with "integer out of
range". SQLite's INTEGER is 64-bit already: nothing changes there.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from etl.read.views import views_set_aside

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with views_set_aside(op.get_bind()):  # the views read etl_runs
        op.alter_column("etl_runs", "duration_ms", type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with views_set_aside(op.get_bind()):
        op.execute("UPDATE etl_runs SET duration_ms = NULL WHERE duration_ms > 2147483647")  # INTEGER cannot hold it
        op.alter_column("etl_runs", "duration_ms", type_=sa.Integer(), existing_type=sa.BigInteger())
