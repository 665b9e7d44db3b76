"""Fills from the real-time feed into `executions`: each `00` push item normalised (etl.normalize.executions), filed
under the configured account its FID 9201 names, and stored in a transaction of its own.

A push for an account number none of the session's accounts has is refused, never filed under a guess. Fills the
database cannot take now (it is away) are held in memory, in order, and stored with the next push or the next
`retry`; the feed does not send them again, so they are only lost if the process ends before the database is back
(the ledger still has the trades, and `execution_checks` shows the gap).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from etl.clock import KST
from etl.errors import DatabaseUnavailable, StorageError, TransformError
from etl.normalize.executions import Execution, execution_of
from etl.store.engine import transaction
from etl.store.executions import ExecutionLoad, store_executions

log = logging.getLogger(__name__)

HELD_AT_MOST = 100_000  # fills kept while the database is away; beyond, the oldest are dropped with an error


@dataclass
class Recorded:
    """What one call did: the fills read, the load (None while the database is away), and the items refused."""

    fills: list[Execution] = field(default_factory=list)
    load: ExecutionLoad | None = None
    refused: list[str] = field(default_factory=list)  # why, one line each
    held: int = 0  # fills waiting for the database


class Fills:
    """Stores the fills of one feed session's accounts, holding them while the database is away."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._held: list[Execution] = []

    @property
    def held(self) -> int:
        return len(self._held)

    def record(self, items: Sequence[dict[str, Any]], received_at: datetime, numbers: Mapping[str, str]) -> Recorded:
        """Read the fills among a REAL message's `00` items (other order events are no fills) and store them with
        any held before; `numbers` maps an account number (FID 9201) to the account_no the tables use (its
        configured name, else the number). Items off the contract are refused, each named, and the others stored."""
        done = Recorded()
        trade_date = received_at.astimezone(KST).date()  # pushes arrive in trading hours: the Seoul day is theirs
        for item in items:
            try:
                fill = execution_of(item, trade_date=trade_date, received_at=received_at)
            except TransformError as exc:
                done.refused.append(_cut(f"a 00 push refused: {exc}"))
                continue
            if fill is None:
                continue
            number = fill.values["account_no"]
            account_no = numbers.get(number)
            if account_no is None:
                mine = ", ".join(sorted(numbers)) or "-"
                done.refused.append(_cut(f"a fill for account {number!r}, which is not this session's ({mine})"))
                continue
            done.fills.append(Execution({**fill.values, "account_no": account_no}, fill.message))
        self._held.extend(done.fills)
        done.load = self.retry(done.refused)
        done.held = len(self._held)
        return done

    def retry(self, refused: list[str] | None = None) -> ExecutionLoad | None:
        """Store the fills held; None (they stay held) when the database cannot take them now. When it refuses
        them (a value it cannot hold), each is tried alone: only the ones it refuses are dropped, said in
        `refused`."""
        if not self._held:
            return ExecutionLoad()
        try:
            load = self._store(self._held)
        except DatabaseUnavailable as exc:
            if len(self._held) > HELD_AT_MOST:
                dropped = len(self._held) - HELD_AT_MOST
                del self._held[:dropped]
                log.error("%d fill(s) dropped: the database has been away for %d more", dropped, HELD_AT_MOST)
            log.warning("%d fill(s) held until the database is back: %s", len(self._held), exc)
            return None
        except StorageError:
            load = ExecutionLoad()
            for fill in list(self._held):
                try:
                    one = self._store([fill])
                except DatabaseUnavailable:
                    return None  # the ones stored are gone from the held; the rest wait
                except StorageError as exc:
                    (refused if refused is not None else []).append(_cut(f"a fill the database refused: {exc}"))
                    log.error("a fill refused by the database and not stored: %s", _cut(str(exc)))
                else:
                    load.added, load.unchanged = load.added + one.added, load.unchanged + one.unchanged
                    load.conflicts += one.conflicts
                self._held.remove(fill)
            return load
        self._held.clear()
        return load

    def _store(self, fills: list[Execution]) -> ExecutionLoad:
        with transaction(self._engine, "storing fills") as connection:
            return store_executions(connection, fills)


def _cut(text: str, limit: int = 300) -> str:
    """A line for the log: a hostile push may carry a megabyte in one FID."""
    return text if len(text) <= limit else text[:limit] + "…"
