"""Comments where BI tools read them: COMMENT ON every table, view and column, from etl.read.dictionary.

PostgreSQL only (SQLite has no comments; docs/data-dictionary.md says the same there). Metabase and Superset show
a comment as the description of a table or column. The downgrade removes them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from etl.read.dictionary import apply_comments

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    apply_comments(op.get_bind())


def downgrade() -> None:
    apply_comments(op.get_bind(), clear=True)
