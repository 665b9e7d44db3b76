"""raw_responses' pages compressed with lz4 on PostgreSQL: payload and body_text (pglz where the server lacks lz4).

The server stores a kt00005 page compressed by lz4 in less than half the time pglz takes, for about 4 % more disk
per snapshot (benchmarks/bench_disk.py, docs/scaling.md), and every load writes a page. PostgreSQL compresses a
value with the column's method when it stores it, so pages already stored stay as they are until rewritten. A
server built without lz4 keeps pglz, its default, and a warning says so. SQLite compresses nothing: a no-op there.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("payload", "body_text")

log = logging.getLogger(__name__)


def lz4_available(connection: sa.Connection) -> bool:
    """Whether the server was built with lz4: default_toast_compression then lists it among its values."""
    values = connection.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar_one_or_none()
    return values is not None and "lz4" in values


def _set_compression(method: str) -> None:
    for column in COLUMNS:
        op.execute(f"ALTER TABLE raw_responses ALTER COLUMN {column} SET COMPRESSION {method}")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "postgresql":
        return
    if lz4_available(connection):
        _set_compression("lz4")
    else:
        log.warning("this PostgreSQL is built without lz4: raw pages stay compressed with pglz")
        _set_compression("pglz")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _set_compression("default")
