"""Tables of one row per account and day (the day totals, the daily estimates) or per code and day (the index and
stock bars): the key columns they start with, and their load, where a later answer for a day replaces an earlier one
and an older one (a replay of an older page) leaves it. Everything happens in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ColumnClause, Connection, Date, ForeignKey, Table, Text, insert, select, update

from etl.store.dictionary import CAPTURED_AT, LEDGER_ACCOUNT_NO, run_key, with_meaning
from etl.store.dictionary import Column as Described  # a documented column, beside SQLAlchemy's Column
from etl.store.sqltypes import UtcDateTime


def key_columns() -> tuple[ColumnClause[str], ColumnClause[date], ColumnClause[int], ColumnClause[datetime]]:
    """The columns a daily table starts with: account_no and trade_date (its primary key), run_id and captured_at
    (fresh for each table: a column belongs to one)."""
    return (
        Column(Text, primary_key=True),
        Column(Date, primary_key=True),
        Column(ForeignKey("etl_runs.id"), nullable=False, index=True),
        Column(UtcDateTime, nullable=False),
    )


def key_docs(trade_date: Described, run: str, arrived: str) -> tuple[Described, ...]:
    """The data dictionary's words for those columns: `trade_date` as the API dates its lines, what the run did
    (`run`, run_id's meaning) and when its answer came (`arrived`, captured_at's)."""
    return (
        LEDGER_ACCOUNT_NO,
        trade_date,
        run_key(run),
        with_meaning(CAPTURED_AT, arrived),
    )


def store_daily(connection: Connection, table: Table, rows: Iterable[dict[str, Any]], *, run_id: int) -> int:
    """Write one owner's rows into `table` (one insert for the new days); return how many were written. The owner is
    the first column of the table's key (account_no, index_code, stock_code), the day its trade_date."""
    rows = list(rows)
    if not rows:
        return 0
    owner_column = table.primary_key.columns[0]
    key = (owner_column.name, "trade_date")
    owner = rows[0][owner_column.name]
    if any(row[owner_column.name] != owner for row in rows):
        raise ValueError(f"store_daily takes one {owner_column.name}'s rows at a time")
    days = [row["trade_date"] for row in rows]
    stored = dict(
        connection.execute(
            select(table.c.trade_date, table.c.captured_at).where(
                owner_column == owner, table.c.trade_date.between(min(days), max(days))
            )
        ).all()
    )
    new: dict[date, dict[str, Any]] = {}  # the days not stored yet, inserted at the end
    written = 0
    for row in rows:
        values = {**row, "run_id": run_id}
        day = row["trade_date"]
        if day in new:  # a day an earlier page of the same answer listed: the later page's row stands
            if new[day]["captured_at"] <= row["captured_at"]:
                new[day] = values
            continue
        if day not in stored:
            new[day] = values
        elif stored[day] <= row["captured_at"]:
            where = (owner_column == owner) & (table.c.trade_date == row["trade_date"])
            connection.execute(update(table).where(where).values({k: v for k, v in values.items() if k not in key}))
            stored[day] = row["captured_at"]  # a row of an older page listing the day again leaves it
        else:
            continue
        written += 1
    if new:
        connection.execute(insert(table), list(new.values()))
    return written
