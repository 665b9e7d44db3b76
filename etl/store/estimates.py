"""kt00002's daily estimates into account_daily_estimates: one row per account and day; a later answer for a day
replaces an earlier one, an older one (a replay of an older page) leaves it. In the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from etl.store.models import AccountDailyEstimate, AccountSnapshot

_KEY = ("account_no", "trade_date")


def store_estimates(connection: Connection, rows: Iterable[dict[str, Any]], *, run_id: int) -> int:
    """Write the rows (one insert for the new days); return how many were written."""
    rows = list(rows)
    if not rows:
        return 0
    table = AccountDailyEstimate
    account = rows[0]["account_no"]
    days = [row["trade_date"] for row in rows]
    stored = dict(
        connection.execute(
            select(table.trade_date, table.captured_at).where(
                table.account_no == account, table.trade_date.between(min(days), max(days))
            )
        ).all()
    )
    new, written = [], 0
    for row in rows:
        values = {**row, "run_id": run_id}
        if row["trade_date"] not in stored:
            new.append(values)
            stored[row["trade_date"]] = row["captured_at"]
        elif stored[row["trade_date"]] <= row["captured_at"]:
            where = (table.account_no == account) & (table.trade_date == row["trade_date"])
            connection.execute(update(table).where(where).values({k: v for k, v in values.items() if k not in _KEY}))
        else:
            continue
        written += 1
    if new:
        connection.execute(insert(table), new)
    return written


def first_snapshot_day(connection: Connection, account_no: str) -> date | None:
    """The trade_date of the account's first KRX snapshot, or None."""
    return connection.execute(
        select(func.min(AccountSnapshot.trade_date)).where(
            AccountSnapshot.account_no == account_no, AccountSnapshot.exchange == "KRX"
        )
    ).scalar_one()
