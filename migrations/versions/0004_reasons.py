"""Typed reasons: etl_runs.reason holds one of a fixed set of names, and the free text moves to etl_runs.detail.

Before, `reason` held sentences (a holiday's name, "the daemon was not running", "replayed …; it had failed: …").
Each existing row is given the name its sentence meant, and the sentence is kept in `detail`, so nothing that was
shown is lost. Failed runs get the reason their error text shows. The downgrade puts the sentences back.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REASONS = (
    "market_closed",
    "claimed_elsewhere",
    "payload_refused",
    "api_error",
    "database_error",
    "spooled",
    "abandoned",
    "still_running",
    "daemon_down",
    "not_started",
    "replayed",
    "internal_error",
)
# The sentences 0002/0003 wrote, and the name each becomes (the downgrade writes them back).
MISSED = {
    "the daemon was not running": "daemon_down",
    "no snapshot was started for this slot (the machine slept, or the daemon was paused)": "not_started",
    "the previous snapshot of this account and exchange was still running": "still_running",
}
ABANDONED = "abandoned: the process stopped before it finished"
API_PREFIXES = ("au10001:", "au10002:", "ka00001:", "kt00005:", "cannot read the account number")


def upgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.add_column(sa.Column("detail", sa.Text()))
    op.execute("UPDATE etl_runs SET detail = reason WHERE reason IS NOT NULL")
    op.execute("UPDATE etl_runs SET reason = 'market_closed' WHERE status = 'skipped'")
    for sentence, name in MISSED.items():
        op.execute(
            sa.text(
                "UPDATE etl_runs SET reason = :name, detail = NULL WHERE status = 'missed' AND detail = :s"
            ).bindparams(name=name, s=sentence)
        )
    op.execute(
        "UPDATE etl_runs SET reason = 'daemon_down' WHERE status = 'missed' AND reason NOT IN ('not_started', "
        "'still_running', 'daemon_down')"
    )
    op.execute("UPDATE etl_runs SET reason = 'replayed' WHERE trigger = 'replay' OR detail LIKE 'replayed %'")
    failed = "status = 'failed' AND reason IS NULL"
    op.execute(
        sa.text(f"UPDATE etl_runs SET reason = 'abandoned' WHERE {failed} AND error = :e").bindparams(e=ABANDONED)
    )
    op.execute(f"UPDATE etl_runs SET reason = 'internal_error' WHERE {failed} AND error LIKE 'internal error:%'")
    op.execute(f"UPDATE etl_runs SET reason = 'database_error' WHERE {failed} AND error LIKE 'database %'")
    for prefix in API_PREFIXES:
        op.execute(
            sa.text(f"UPDATE etl_runs SET reason = 'api_error' WHERE {failed} AND error LIKE :p").bindparams(
                p=prefix + "%"
            )
        )
    op.execute(f"UPDATE etl_runs SET reason = 'payload_refused' WHERE {failed} AND error IS NOT NULL")
    op.execute(
        "UPDATE etl_runs SET reason = 'spooled' WHERE status = 'success' AND reason IS NULL AND spool_id IS NOT NULL"
    )
    with op.batch_alter_table("etl_runs") as batch:
        batch.create_check_constraint(op.f("ck_etl_runs_reason"), f"reason IN ({', '.join(repr(r) for r in REASONS)})")


def downgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.drop_constraint(op.f("ck_etl_runs_reason"), type_="check")
    for sentence, name in MISSED.items():
        op.execute(
            sa.text("UPDATE etl_runs SET detail = :s WHERE reason = :name AND detail IS NULL").bindparams(
                name=name, s=sentence
            )
        )
    op.execute("UPDATE etl_runs SET reason = detail")
    with op.batch_alter_table("etl_runs") as batch:
        batch.drop_column("detail")
