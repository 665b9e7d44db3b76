"""Tables of one row per account and day (the day totals, the daily estimates): a later answer for a day replaces an
earlier one; an older one (a replay of an older page) leaves it. Everything happens in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

_KEY = ("account_no", "trade_date")


def store_daily(connection: Connection, table: Table, rows: Iterable[dict[str, Any]], *, run_id: int) -> int:
    """Write one account's rows into `table` (one insert for the new days); return how many were written."""
    rows = list(rows)
    if not rows:
        return 0
    account = rows[0]["account_no"]
    days = [row["trade_date"] for row in rows]
    stored = dict(
        connection.execute(
            select(table.c.trade_date, table.c.captured_at).where(
                table.c.account_no == account, table.c.trade_date.between(min(days), max(days))
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
            where = (table.c.account_no == account) & (table.c.trade_date == row["trade_date"])
            connection.execute(update(table).where(where).values({k: v for k, v in values.items() if k not in _KEY}))
        else:
            continue
        written += 1
    if new:
        connection.execute(insert(table), new)
    return written
