"""Where the estimates meet the snapshots: the first day an account has a KRX snapshot (the backfill's estimates
are of the days before it). kt00002's rows load by etl.store.daily."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from etl.store.models import AccountSnapshot


def first_snapshot_day(connection: Connection, account_no: str) -> date | None:
    """The trade_date of the account's first KRX snapshot, or None."""
    return connection.execute(
        select(func.min(AccountSnapshot.trade_date)).where(
            AccountSnapshot.account_no == account_no, AccountSnapshot.exchange == "KRX"
        )
    ).scalar_one()
