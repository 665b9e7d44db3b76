"""Where the estimates meet the snapshots: the first day an account has a KRX snapshot (the backfill's estimates
are of the days before it), and the estimates' load: kt00002's rows by etl.store.daily, then the account's returns
from the earliest day written on (an estimate values a KRX day without a snapshot)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Connection, Table, func, select

from etl.store import returns
from etl.store.daily import store_daily
from etl.store.models import AccountSnapshot


def store_estimates(connection: Connection, table: Table, rows: Iterable[dict[str, Any]], *, run_id: int) -> int:
    """Write one account's estimates into `table` as store_daily does, and refresh its returns; how many were
    written."""
    rows = list(rows)
    written = store_daily(connection, table, rows, run_id=run_id)
    if written:
        returns.refresh(connection, [(rows[0]["account_no"], min(row["trade_date"] for row in rows))])
    return written


def first_snapshot_day(connection: Connection, account_no: str) -> date | None:
    """The trade_date of the account's first KRX snapshot, or None."""
    return connection.execute(
        select(func.min(AccountSnapshot.trade_date)).where(
            AccountSnapshot.account_no == account_no, AccountSnapshot.exchange == "KRX"
        )
    ).scalar_one()
