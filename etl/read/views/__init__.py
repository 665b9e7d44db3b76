"""The analyst views (docs/data-dictionary.md, "Views"): each family's SQL beside its column docs, on SQLite and
PostgreSQL, and the one helper that creates and drops them, for the migration that adds them and for any later one
that alters a table they read.

- `view`: what a view is (`View`: its docs, its SELECT per dialect, its typed selectable) and the shared columns.
- `accounts`: account_history, latest_accounts, account_daily.
- `positions`: latest_positions, position_daily, position_changes.
- `freshness`: etl_freshness.
- `ledger`: ledger_checks and the kt00017 figures it compares.
- `returns`: account_flows_daily, account_returns_daily.
- `benchmark`: account_benchmark_daily.
- `realized`: realized_pnl, position_pnl, realized_checks (the moving-average cost and Kiwoom's own figures).
- `dividends`: dividends, dividends_monthly.
- `executions`: execution_checks (the real-time feed's fills against the ledger's trades).

A new view goes in its family's module (or a new one) and in VIEWS below. The definitions are the contract's: no view
ever adds KRX and NXT rows together.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection, inspect, text

from etl.read.views.accounts import ACCOUNT_DAILY, ACCOUNT_HISTORY, LATEST_ACCOUNTS
from etl.read.views.benchmark import ACCOUNT_BENCHMARK_DAILY
from etl.read.views.dividends import DIVIDENDS, DIVIDENDS_MONTHLY
from etl.read.views.executions import EXECUTION_CHECKS
from etl.read.views.freshness import ETL_FRESHNESS
from etl.read.views.ledger import LEDGER_CHECKS
from etl.read.views.positions import LATEST_POSITIONS, POSITION_CHANGES, POSITION_DAILY
from etl.read.views.realized import POSITION_PNL, REALIZED_CHECKS, REALIZED_PNL
from etl.read.views.returns import ACCOUNT_FLOWS_DAILY, ACCOUNT_RETURNS_DAILY
from etl.read.views.view import View
from etl.store.closes import CLOSES_SELECT
from etl.store.dictionary import write_comments

__all__ = [
    "ACCOUNT_BENCHMARK_DAILY",
    "ACCOUNT_DAILY",
    "ACCOUNT_FLOWS_DAILY",
    "ACCOUNT_HISTORY",
    "ACCOUNT_RETURNS_DAILY",
    "DIVIDENDS",
    "DIVIDENDS_MONTHLY",
    "ETL_FRESHNESS",
    "EXECUTION_CHECKS",
    "LATEST_ACCOUNTS",
    "LATEST_POSITIONS",
    "LEDGER_CHECKS",
    "POSITION_CHANGES",
    "POSITION_DAILY",
    "POSITION_PNL",
    "REALIZED_CHECKS",
    "REALIZED_PNL",
    "VIEWS",
    "VIEW_NAMES",
    "View",
    "create_views",
    "drop_views",
    "replace_views",
    "views_set_aside",
]

# In creation order: each view reads only tables and the views before it.
VIEWS: tuple[View, ...] = (
    ACCOUNT_HISTORY,
    LATEST_ACCOUNTS,
    LATEST_POSITIONS,
    ACCOUNT_DAILY,
    POSITION_DAILY,
    POSITION_CHANGES,
    ETL_FRESHNESS,
    LEDGER_CHECKS,
    ACCOUNT_FLOWS_DAILY,
    ACCOUNT_RETURNS_DAILY,
    ACCOUNT_BENCHMARK_DAILY,
    REALIZED_PNL,
    POSITION_PNL,
    REALIZED_CHECKS,
    DIVIDENDS,
    DIVIDENDS_MONTHLY,
    EXECUTION_CHECKS,
)
VIEW_NAMES = tuple(view.name for view in VIEWS)
_LISTED = ("account_snapshots", "position_snapshots")  # the tables views take every column of


def create_views(connection: Connection) -> None:
    """Create every analyst view whose tables exist, with its comments on PostgreSQL."""
    dialect = connection.dialect.name
    # Before migration 0007 (a fresh database runs 0005 first) the closes are computed where they are read.
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    closes = "daily_closes" if "daily_closes" in tables else f"({CLOSES_SELECT})"
    columns = {name: [c["name"] for c in inspector.get_columns(name)] for name in _LISTED}
    for view in VIEWS:
        if tables.issuperset(view.requires):  # else the revision that adds its tables creates it
            connection.execute(text(f"CREATE VIEW {view.name} AS\n{view.sql(dialect, columns, closes)}"))
    write_comments(connection, [view.relation for view in VIEWS])  # a dropped view lost its comments


def replace_views(connection: Connection, views: Sequence[View]) -> None:
    """Define `views` again as the code defines them, for a migration that changes their SQL and none of their
    columns: PostgreSQL replaces each in place, so that a view of the user's own that reads one stays (dropping it
    would be refused); SQLite, which has no CREATE OR REPLACE VIEW and refuses no drop, drops and creates it. Their
    comments are written again."""
    dialect = connection.dialect.name
    inspector = inspect(connection)
    columns = {name: [c["name"] for c in inspector.get_columns(name)] for name in _LISTED}
    for view in views:
        sql = view.sql(dialect, columns)
        if dialect == "postgresql":
            connection.execute(text(f"CREATE OR REPLACE VIEW {view.name} AS\n{sql}"))
        else:
            connection.execute(text(f"DROP VIEW IF EXISTS {view.name}"))
            connection.execute(text(f"CREATE VIEW {view.name} AS\n{sql}"))
    write_comments(connection, [view.relation for view in views])


def drop_views(connection: Connection) -> None:
    """Drop every analyst view that exists, dependants first."""
    for view in reversed(VIEWS):
        connection.execute(text(f"DROP VIEW IF EXISTS {view.name}"))


@contextmanager
def views_set_aside(connection: Connection) -> Iterator[None]:
    """For a migration that alters a table a view reads: the views are dropped before and created again after.

    SQLite's batch mode rebuilds a table by copy and rename, which a view reading it would not survive, and
    PostgreSQL refuses to alter a column a view depends on; created again, the views take in a new column.
    """
    drop_views(connection)
    yield
    create_views(connection)
