"""The fills' load: executions from the real-time feed into executions, each natural key once.

A fill already stored with the same content adds nothing (Kiwoom may push a fill again, and a listener may read it
twice across a reconnect); a key that comes again with different content is kept in execution_conflicts, once per
difference, and the stored fill stays as it was. Everything happens in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select

from etl.normalize.executions import COLUMNS, KEY_COLUMNS, Execution
from etl.store import conflicts
from etl.store.models import Execution as ExecutionRow
from etl.store.models import ExecutionConflict

# What makes two pushes of one fill differ: every column of the fill; when it arrived, and the FIDs that are not
# columns (the current price, the order's remaining quantity), do not.
_COMPARED = tuple(column for column in COLUMNS if column not in (*KEY_COLUMNS, "received_at"))


@dataclass
class ExecutionLoad:
    """What one load did: fills added, fills already stored as they are, conflicts recorded."""

    added: int = 0
    unchanged: int = 0
    conflicts: int = 0


def store_executions(connection: Connection, executions: Sequence[Execution]) -> ExecutionLoad:
    """Load `executions` (one multi-row insert for the new ones); return what was done."""
    load = ExecutionLoad()
    if not executions:
        return load
    stored = _stored(connection, executions)
    new: dict[tuple[Any, ...], Execution] = {}
    repeats: list[Execution] = []
    for execution in executions:
        if execution.key in stored or execution.key in new:
            repeats.append(execution)
        else:
            new[execution.key] = execution
    if new:
        connection.execute(insert(ExecutionRow), [{**fill.values, "message": fill.message} for fill in new.values()])
        load.added = len(new)
        # A repeat within this batch is compared with the first of its key, as stored just now.
        if any(repeat.key in new for repeat in repeats):
            stored.update(_stored(connection, list(new.values())))
    for repeat in repeats:
        known = stored[repeat.key]
        differences = conflicts.differences(known, repeat.values, _COMPARED)
        if not differences:
            load.unchanged += 1
        elif not conflicts.conflict_known(connection, ExecutionConflict.execution_id, known["id"], differences):
            connection.execute(
                insert(ExecutionConflict).values(
                    **{column: repeat.values[column] for column in KEY_COLUMNS},
                    execution_id=known["id"],
                    differences=differences,
                    message=repeat.message,
                    received_at=repeat.values["received_at"],
                )
            )
            load.conflicts += 1
    return load


def _stored(connection: Connection, executions: Sequence[Execution]) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The stored fills of the accounts and days of `executions`, by natural key."""
    days = {(fill.values["account_no"], fill.values["trade_date"]) for fill in executions}
    table = ExecutionRow.__table__
    rows = connection.execute(
        select(table).where(
            or_(*(and_(table.c.account_no == account, table.c.trade_date == day) for account, day in sorted(days)))
        )
    ).mappings()
    return {tuple(row[column] for column in KEY_COLUMNS): dict(row) for row in rows}
