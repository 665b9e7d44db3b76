"""kt00017's totals of the day into account_day_totals.

The day's figures only grow, so a later taking of the same account and day replaces the row; an earlier one (a
replay of an older page) leaves it. Everything happens in the caller's transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from etl.store.models import AccountDayTotals

_KEY = ("account_no", "trade_date")


def store_totals(connection: Connection, row: dict[str, Any], *, run_id: int) -> bool:
    """Write one day's totals of one account; False when a later taking of that day is already stored."""
    table = AccountDayTotals
    where = (table.account_no == row["account_no"]) & (table.trade_date == row["trade_date"])
    stored = connection.execute(select(table.captured_at).where(where)).scalar()
    values = {**row, "run_id": run_id}
    if stored is None:
        connection.execute(insert(table), values)
        return True
    if stored > row["captured_at"]:
        return False
    connection.execute(update(table).where(where).values({k: v for k, v in values.items() if k not in _KEY}))
    return True
