"""kt00017's totals of the day into account_day_totals, and the days ledger_checks finds in disagreement.

The day's figures only grow, so a later taking of the same account and day replaces the row; an earlier one (a
replay of an older page) leaves it. Everything happens in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, insert, select, update

from etl.store.models import AccountDayTotals
from etl.store.views import LEDGER_CHECKS

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


@dataclass(frozen=True)
class Disagreements:
    """An account's days whose kt00017 totals the ledger does not bear out (ledger_checks)."""

    days: int
    newest: date | None
    mismatches: str | None  # the newest such day's


def disagreements(connection: Connection, accounts: Iterable[str]) -> dict[str, Disagreements]:
    """Per account of `accounts` that has day totals: how many days disagree, and the newest."""
    wanted = list(accounts)
    if not wanted:
        return {}
    checks = LEDGER_CHECKS.table()
    query = select(checks.c.account_no, checks.c.trade_date, checks.c.mismatches).where(
        checks.c.result == "disagrees", checks.c.account_no.in_(wanted)
    )
    found: dict[str, list[tuple[date, str]]] = {}
    for account, day, mismatches in connection.execute(query):
        found.setdefault(account, []).append((day, mismatches))
    taken = connection.execute(
        select(AccountDayTotals.account_no).where(AccountDayTotals.account_no.in_(wanted)).distinct()
    ).scalars()
    result = {}
    for account in taken:
        days = sorted(found.get(account, []))
        result[account] = Disagreements(len(days), days[-1][0] if days else None, days[-1][1] if days else None)
    return result
