"""daily_closes: each account × exchange × trade_date's close and the previous day's, derived from account_snapshots.

A day's close is its last snapshot (greatest captured_at, then greatest id); the previous day is the account ×
exchange's previous trade_date that has a snapshot. The table is what the daily views read, so that a filter on one
account and one day reaches an index instead of window functions over every day. It is kept exact by `refresh`,
which the load calls once for the snapshots it wrote, in the load's own transaction: a snapshot changes its own
day's row and, through previous_*, the next day's (an older day imported late, or a replay that rebuilds a
snapshot, included). `rebuild` computes the whole table from account_snapshots (migration 0007 fills it that way).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import Connection, Date, Text, bindparam, select, text

from etl.store.models import AccountSnapshot

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
_TYPED = (
    bindparam("account_no", type_=Text()),
    bindparam("exchange", type_=Text()),
    bindparam("trade_date", type_=Date()),
)

# One day's row from scratch: its close and count, and the newest earlier row of the pair (already exact).
_INSERT_DAY = text(
    f"""INSERT INTO daily_closes ({_COLUMNS})
SELECT s.account_no, s.exchange, s.trade_date, s.id, s.captured_at,
       (SELECT COUNT(*) FROM account_snapshots n
        WHERE n.account_no = :account_no AND n.exchange = :exchange AND n.trade_date = :trade_date),
       p.trade_date, p.snapshot_id
FROM account_snapshots s
LEFT JOIN daily_closes p
  ON p.account_no = :account_no AND p.exchange = :exchange
 AND p.trade_date = (SELECT MAX(q.trade_date) FROM daily_closes q
                     WHERE q.account_no = :account_no AND q.exchange = :exchange AND q.trade_date < :trade_date)
WHERE s.account_no = :account_no AND s.exchange = :exchange AND s.trade_date = :trade_date
ORDER BY s.captured_at DESC, s.id DESC
LIMIT 1"""
).bindparams(*_TYPED)
_DELETE_DAY = text(f"DELETE FROM daily_closes WHERE {_PAIR} AND trade_date = :trade_date").bindparams(*_TYPED)
# The pair's next day after :trade_date points at its newest earlier row, which may be the day just refreshed.
_UPDATE_NEXT_DAY = text(
    f"""UPDATE daily_closes
SET previous_trade_date = (SELECT MAX(q.trade_date) FROM daily_closes q
                           WHERE q.account_no = :account_no AND q.exchange = :exchange
                             AND q.trade_date < daily_closes.trade_date),
    previous_snapshot_id = (SELECT q.snapshot_id FROM daily_closes q
                            WHERE q.account_no = :account_no AND q.exchange = :exchange
                              AND q.trade_date < daily_closes.trade_date
                            ORDER BY q.trade_date DESC LIMIT 1)
WHERE {_PAIR}
  AND trade_date = (SELECT MIN(q.trade_date) FROM daily_closes q
                    WHERE q.account_no = :account_no AND q.exchange = :exchange AND q.trade_date > :trade_date)"""
).bindparams(*_TYPED)
# A transaction-scoped lock per account × exchange on PostgreSQL, so that two loads of one pair committing at once
# cannot each miss the other's snapshot (SQLite writes one transaction at a time anyway).
_LOCK = text(
    "SELECT pg_advisory_xact_lock(20261202, hashtext(CAST(:account_no AS text) || ' ' || CAST(:exchange AS text)))"
)


def refresh(connection: Connection, snapshot_ids: Iterable[int]) -> None:
    """Make daily_closes exact again for the days of `snapshot_ids` (just written) and the day after each."""
    ids = list(snapshot_ids)
    if not ids:
        return
    days = connection.execute(
        select(AccountSnapshot.account_no, AccountSnapshot.exchange, AccountSnapshot.trade_date)
        .where(AccountSnapshot.id.in_(ids))
        .distinct()
    ).all()
    refresh_days(connection, [(row.account_no, row.exchange, row.trade_date) for row in days])


def refresh_days(connection: Connection, days: Iterable[tuple[str, str, date]]) -> None:
    """Recompute the row of each (account_no, exchange, trade_date) in `days`, and the previous_* of the day after."""
    locked: set[tuple[str, str]] = set()
    for account_no, exchange, trade_date in sorted(set(days)):  # earlier days first: a later one reads them
        values = {"account_no": account_no, "exchange": exchange, "trade_date": trade_date}
        if connection.dialect.name == "postgresql" and (account_no, exchange) not in locked:
            connection.execute(_LOCK, values)
            locked.add((account_no, exchange))
        for statement in (_DELETE_DAY, _INSERT_DAY, _UPDATE_NEXT_DAY):
            connection.execute(statement, values)


def rebuild(connection: Connection) -> None:
    """Empty daily_closes and fill it again from account_snapshots."""
    connection.execute(text("DELETE FROM daily_closes"))
    connection.execute(text(f"INSERT INTO daily_closes ({_COLUMNS})\n{CLOSES_SELECT}"))
