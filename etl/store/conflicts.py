"""What the loads that keep each natural key once share (the ledger, etl.store.ledger; the real-time feed's fills,
etl.store.executions): how a repeat that differs from the stored row is described, and whether that very difference
is already recorded, so that a key that comes again and again keeps one conflict per difference."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnClause, Connection, func, select


def differences(
    stored: Mapping[str, Any], received: Mapping[str, Any], columns: Iterable[str], *, blank_is_null: bool = False
) -> str:
    """`column: stored → received` for each of `columns` that differs, joined by `; `; "" when none does. With
    `blank_is_null`, an empty text and NULL are the same (Kiwoom's ledger sends either for nothing)."""
    return "; ".join(
        f"{column}: {_shown(stored[column])} → {_shown(received[column])}"
        for column in columns
        if stored[column] != received[column]
        and not (blank_is_null and {stored[column], received[column]} == {None, ""})
    )


def _shown(value: Any) -> str:
    return "NULL" if value is None else str(value)


def conflict_known(connection: Connection, reference: ColumnClause[int], row_id: int, found: str) -> bool:
    """Whether the conflicts table `reference` belongs to (its column naming the stored row) already holds the
    difference `found` for the row `row_id`."""
    conflicts = reference.table
    assert conflicts is not None, reference
    held = connection.execute(
        select(func.count()).select_from(conflicts).where(reference == row_id, conflicts.c.differences == found)
    ).scalar_one()
    return bool(held)
