"""daily_closes: each account × exchange × trade_date's close and the previous day's, derived from account_snapshots.

A day's close is its last snapshot (greatest captured_at, then greatest id); the previous day is the account ×
exchange's previous trade_date that has a snapshot. The table is what the daily views read, so that a filter on one
account and one day reaches an index instead of window functions over every day. It is kept exact by the
`day_statements` that the load runs for the days it wrote, in the load's own transaction: a snapshot changes its own
day's row and, through previous_*, the next day's (an older day imported late, or a replay that rebuilds a
snapshot, included). `rebuild` computes the whole table from account_snapshots (migration 0007 fills it that way).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Dialect, text

from etl.clock import KST
from etl.store.engine import pyformat
from etl.store.models import AccountSnapshot
from etl.store.sqltypes import binders

# Every close from account_snapshots, set-based: what the table holds, and what the views read before migration 0007
# created it (a fresh database runs revision 0005 first).
CLOSES_SELECT = """SELECT c.account_no, c.exchange, c.trade_date, c.id AS snapshot_id, c.captured_at, c.snapshots,
       LAG(c.trade_date) OVER day AS previous_trade_date,
       LAG(c.id) OVER day AS previous_snapshot_id
FROM (SELECT s.account_no, s.exchange, s.trade_date, s.id, s.captured_at,
             ROW_NUMBER() OVER (PARTITION BY s.account_no, s.exchange, s.trade_date
                                ORDER BY s.captured_at DESC, s.id DESC) AS newest,
             COUNT(*) OVER (PARTITION BY s.account_no, s.exchange, s.trade_date) AS snapshots
      FROM account_snapshots s) c
WHERE c.newest = 1
WINDOW day AS (PARTITION BY c.account_no, c.exchange ORDER BY c.trade_date)"""

_COLUMNS = (
    "account_no, exchange, trade_date, snapshot_id, captured_at, snapshots, previous_trade_date, previous_snapshot_id"
)

_PAIR = "account_no = :account_no AND exchange = :exchange"

# One day's close and count, and the newest earlier row of the pair (already exact). A trade_date is the Korean
# date of captured_at, so the day's snapshots are also those captured between :day_start and :day_end (its
# midnights in UTC): that range reads the pair's (account_no, exchange, captured_at) index for just the day, where
# trade_date alone would read every account's snapshots of the day, and the pair alone its whole history.
_DAY = """SELECT s.account_no, s.exchange, s.trade_date, s.id, s.captured_at,
       (SELECT COUNT(*) FROM account_snapshots n
        WHERE n.account_no = :account_no AND n.exchange = :exchange
          AND n.captured_at >= :day_start AND n.captured_at < :day_end AND n.trade_date = :trade_date),
       p.trade_date, p.snapshot_id
FROM account_snapshots s
LEFT JOIN daily_closes p
  ON p.account_no = :account_no AND p.exchange = :exchange
 AND p.trade_date = (SELECT MAX(q.trade_date) FROM daily_closes q
                     WHERE q.account_no = :account_no AND q.exchange = :exchange AND q.trade_date < :trade_date)
WHERE s.account_no = :account_no AND s.exchange = :exchange
  AND s.captured_at >= :day_start AND s.captured_at < :day_end AND s.trade_date = :trade_date
ORDER BY s.captured_at DESC, s.id DESC
LIMIT 1"""
# The pair's next day after :trade_date, which points at its newest earlier row (the day just refreshed, if any).
_NEXT_DAY = """(SELECT MIN(q.trade_date) FROM daily_closes q
 WHERE q.account_no = :account_no AND q.exchange = :exchange AND q.trade_date > :trade_date)"""

# SQLite: the day's row from scratch, then the next day's previous_* from the rows as they now are.
_SQLITE_REFRESH_DAY = (
    f"DELETE FROM daily_closes WHERE {_PAIR} AND trade_date = :trade_date",
    f"INSERT INTO daily_closes ({_COLUMNS})\n{_DAY}",
    f"""UPDATE daily_closes
SET previous_trade_date = (SELECT MAX(q.trade_date) FROM daily_closes q
                           WHERE q.account_no = :account_no AND q.exchange = :exchange
                             AND q.trade_date < daily_closes.trade_date),
    previous_snapshot_id = (SELECT q.snapshot_id FROM daily_closes q
                            WHERE q.account_no = :account_no AND q.exchange = :exchange
                              AND q.trade_date < daily_closes.trade_date
                            ORDER BY q.trade_date DESC LIMIT 1)
WHERE {_PAIR} AND trade_date = {_NEXT_DAY}""",
)


# PostgreSQL: one statement, one round trip. Every part reads the rows as they were when it began (the day's own
# row aside, which no part reads): the day's row is upserted, or deleted when the day has no snapshot left, and the
# next day's previous_* is the day's close, or else the pair's newest row before the day.
_PG_REFRESH_DAY = pyformat(
    f"""WITH day ({_COLUMNS}) AS (
{_DAY}
), upserted AS (
INSERT INTO daily_closes ({_COLUMNS}) SELECT * FROM day
ON CONFLICT (account_no, exchange, trade_date) DO UPDATE
SET snapshot_id = EXCLUDED.snapshot_id, captured_at = EXCLUDED.captured_at, snapshots = EXCLUDED.snapshots,
    previous_trade_date = EXCLUDED.previous_trade_date, previous_snapshot_id = EXCLUDED.previous_snapshot_id
), deleted AS (
DELETE FROM daily_closes WHERE {_PAIR} AND trade_date = :trade_date AND NOT EXISTS (SELECT 1 FROM day)
)
UPDATE daily_closes
SET (previous_trade_date, previous_snapshot_id) = (
    SELECT e.trade_date, e.snapshot_id
    FROM (SELECT d.trade_date, d.snapshot_id FROM day d
          UNION ALL
          SELECT q.trade_date, q.snapshot_id FROM daily_closes q
          WHERE q.account_no = :account_no AND q.exchange = :exchange AND q.trade_date < :trade_date) e
    ORDER BY e.trade_date DESC LIMIT 1)
WHERE {_PAIR} AND trade_date = {_NEXT_DAY}"""
)
# A transaction-scoped lock per account × exchange on PostgreSQL, so that two loads of one pair committing at once
# cannot each miss the other's snapshot (SQLite writes one transaction at a time anyway).
_PG_LOCK = pyformat(
    "SELECT pg_advisory_xact_lock(20261202, hashtext(CAST(:account_no AS text) || ' ' || CAST(:exchange AS text)))"
)


def day_statements(dialect: Dialect, days: Iterable[tuple[str, str, date]]) -> list[tuple[str, dict[str, Any]]]:
    """The statements, in the driver's SQL and in order, that recompute the days' rows and the next days' previous_*.

    On PostgreSQL each pair's lock, then one statement a day (sent in one round trip, they still run one after the
    other, each seeing the ones before); on SQLite three statements a day, each a few microseconds of the
    database's own work.
    """
    bind = binders(dialect, AccountSnapshot.__table__)
    day, moment = bind["trade_date"], bind["captured_at"]
    statements: list[tuple[str, dict[str, Any]]] = []
    locked: set[tuple[str, str]] = set()
    for account_no, exchange, trade_date in sorted(set(days)):  # earlier days first: a later one reads them
        start, end = utc_day(trade_date)
        values = {
            "account_no": account_no,
            "exchange": exchange,
            "trade_date": day(trade_date),
            "day_start": moment(start),
            "day_end": moment(end),
        }
        if dialect.name != "postgresql":
            statements += [(statement, values) for statement in _SQLITE_REFRESH_DAY]
            continue
        if (account_no, exchange) not in locked:
            statements.append((_PG_LOCK, values))
            locked.add((account_no, exchange))
        statements.append((_PG_REFRESH_DAY, values))
    return statements


def utc_day(trade_date: date) -> tuple[datetime, datetime]:
    """The day's first and next day's first moment in Seoul, in UTC; the ends of Python's calendar are open."""
    midnight = datetime.combine(trade_date, time(), KST)
    try:
        start = midnight.astimezone(UTC)
    except OverflowError:  # 0001-01-01 in Seoul began before 0001-01-01 in UTC
        start = datetime.min.replace(tzinfo=UTC)
    try:
        end = (midnight + timedelta(days=1)).astimezone(UTC)
    except OverflowError:  # 9999-12-31 has no next day
        end = datetime.max.replace(tzinfo=UTC)
    return start, end


def rebuild(connection: Connection) -> None:
    """Empty daily_closes and fill it again from account_snapshots."""
    connection.execute(text("DELETE FROM daily_closes"))
    connection.execute(text(f"INSERT INTO daily_closes ({_COLUMNS})\n{CLOSES_SELECT}"))
