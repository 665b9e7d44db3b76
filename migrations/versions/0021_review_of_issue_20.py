"""After issue 20's review, what a database already at 0020 keeps of its defects, made right: realized_sales is
filled again with the walk anchored on the later of the account's first day's KRX and NXT closes (a buy done on NXT
after KRX's close that day had no cost at its next sale); daily_returns is computed again, an account's first day
counting from its first deposit's start only when no other flow is booked before its first value; and
account_benchmark_daily is defined again (the index from the close before the account's first booking day when its
first deposit comes before its first valued day). No table changes, and no view's columns: account_benchmark_daily
alone is replaced in place, the other views left alone, so that a view of the user's own that reads one of them
does not stop the upgrade on PostgreSQL. The downgrade leaves the rows and views as they are (the older revision's
were those of the defects).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from etl.read.views import ACCOUNT_BENCHMARK_DAILY, replace_views
from etl.store import realized, returns

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    realized.rebuild(connection)  # tables: the views that read them need not be set aside
    returns.rebuild(connection)
    replace_views(connection, [ACCOUNT_BENCHMARK_DAILY])


def downgrade() -> None:
    pass
