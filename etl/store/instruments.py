"""The instrument master's load (a later answer about a code replaces an earlier one; an older one, a replay of an
older page, leaves it) and the codes the accounts have held or traded, whose bars and instrument rows the market
jobs fetch. Everything happens in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, insert, select, union, update

from etl.store.models import AccountTransaction, PositionSnapshot

_CHUNK = 500  # codes per SELECT … IN: far below every backend's limit on bound parameters


def store_instruments(connection: Connection, table: Table, rows: Iterable[dict[str, Any]], *, run_id: int) -> int:
    """Upsert `rows` into `table` by stock_code, the newest `updated_at` standing; how many were written."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:  # within one page a code listed twice: its later row stands
        latest[row["stock_code"]] = {**row, "run_id": run_id}
    codes = list(latest)
    stored: dict[str, Any] = {}
    for first in range(0, len(codes), _CHUNK):
        chunk = codes[first : first + _CHUNK]
        query = select(table.c.stock_code, table.c.updated_at).where(table.c.stock_code.in_(chunk))
        stored.update((row[0], row[1]) for row in connection.execute(query))
    new = [values for code, values in latest.items() if code not in stored]
    written = len(new)
    for code, values in latest.items():
        if code in stored and stored[code] <= values["updated_at"]:
            changes = {k: v for k, v in values.items() if k != "stock_code"}
            connection.execute(update(table).where(table.c.stock_code == code).values(changes))
            written += 1
    if new:
        connection.execute(insert(table), new)
    return written


def held_or_traded(connection: Connection) -> list[str]:
    """Every stock code a snapshot held or a ledger line traded, transferred or paid a dividend on, sorted."""
    codes = union(
        select(PositionSnapshot.stock_code.label("code")).where(PositionSnapshot.stock_code.is_not(None)),
        select(AccountTransaction.stock_code.label("code")).where(AccountTransaction.stock_code.is_not(None)),
    )
    found = connection.execute(codes).scalars()
    return sorted({str(code) for code in found if str(code).strip()})


def known_codes(connection: Connection, table: Table) -> set[str]:
    """The codes `table` (the instrument master) already holds."""
    return {str(code) for code in connection.execute(select(table.c.stock_code)).scalars()}
