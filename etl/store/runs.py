"""etl_runs bookkeeping: claiming a slot, recording slots that were missed or skipped, closing runs cut off by a
killed process, and adopting a row for a spooled snapshot. The load (`etl.store.load`) finishes what is claimed here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Engine, Insert, func, select, update

from etl.errors import ConfigError, SlotClaimed
from etl.schedule import Due
from etl.store.capture import Capture
from etl.store.engine import driver_cursor, transaction
from etl.store.models import EtlRun, Reason, RunStatus
from etl.store.sqltypes import binders

ABANDONED_AFTER = timedelta(hours=1)  # a run still `running` after this long was cut off (kill -9, power loss)
ABANDONED = "abandoned: the process stopped before it finished"  # the error such a run is closed with
WAIT, CONFLICT, ALREADY_LOADED = "wait", "conflict", "already loaded"


@dataclass(frozen=True)
class Run:
    """An etl_runs row that has begun."""

    id: int
    started_at: datetime


def accounts_with_runs(connection: Connection) -> list[str]:
    """Every account this database has runs of (each snapshot has its run), sorted."""
    query = select(EtlRun.account_no).where(EtlRun.account_no.is_not(None)).distinct()
    return sorted(str(account) for account in connection.execute(query).scalars())


def require_account(connection: Connection, account: str) -> None:
    """ConfigError naming the accounts there are, unless `account` has runs here: a typo is not an empty history."""
    known = accounts_with_runs(connection)
    if account not in known:
        there = ", ".join(known) if known else "none yet"
        raise ConfigError(f"--account {account}: no such account in this database (accounts: {there})")


def insert_unless_taken(connection: Connection) -> Insert:
    """INSERT INTO etl_runs … ON CONFLICT DO NOTHING: a slot already claimed is left to its owner."""
    # Each dialect imported here: a daemon carries only its own.
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(EtlRun).on_conflict_do_nothing()
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(EtlRun).on_conflict_do_nothing()


def _running(
    trigger: str,
    account_no: str | None,
    exchange: str | None,
    scheduled_for: datetime | None,
    started_at: datetime,
    api_id: str = "kt00005",
) -> dict[str, Any]:
    """The etl_runs row of a run that begins now."""
    return {
        "api_id": api_id,
        "trigger": trigger,
        "status": RunStatus.RUNNING,
        "account_no": account_no,
        "exchange": exchange,
        "scheduled_for": scheduled_for,
        "started_at": started_at,
    }


def start_run(
    engine: Engine,
    *,
    trigger: str,
    started_at: datetime,
    account_no: str | None,
    exchange: str | None,
    scheduled_for: datetime | None = None,
    api_id: str = "kt00005",
) -> Run:
    """Record that a run began (status running), in a commit of its own. For a scheduled slot (or a ledger's day)
    this claims it: SlotClaimed if another process has it."""
    values = _running(trigger, account_no, exchange, scheduled_for, started_at, api_id)
    with transaction(engine, "recording a run") as connection:
        run_id = connection.execute(insert_unless_taken(connection).returning(EtlRun.id), values).scalar()
    if run_id is None:
        where = exchange or api_id
        raise SlotClaimed(f"{account_no} {where} {scheduled_for:%Y-%m-%d %H:%M:%S %Z}" if scheduled_for else "")
    return Run(id=int(run_id), started_at=started_at)


class SlotClaims:
    """The runs of one slot, claimed together in one commit before the accounts are fanned out: (account_no,
    exchange) → its run, handed out once. A pair that was asked for and has no run left here is another
    process's, or already another worker's (two configured accounts that turn out to be one)."""

    def __init__(self, runs: dict[tuple[str, str], Run], asked: frozenset[tuple[str, str]]) -> None:
        self._runs = runs
        self.asked = asked
        self._lock = threading.Lock()

    def take(self, account_no: str, exchange: str) -> Run | None:
        """The pair's claimed run, once; None when it was not asked for (claim it alone); SlotClaimed when another
        process, or another worker, has it."""
        if (account_no, exchange) not in self.asked:
            return None
        with self._lock:
            run = self._runs.pop((account_no, exchange), None)
        if run is None:
            raise SlotClaimed(f"{account_no} {exchange}")
        return run


def claim_slot(
    engine: Engine, *, trigger: str, started_at: datetime, scheduled_for: datetime, pairs: Iterable[tuple[str, str]]
) -> SlotClaims:
    """Claim the slot of every (account_no, exchange) in `pairs` at once, as start_run claims one: a thousand
    accounts cost one commit instead of a thousand."""
    asked = frozenset(pairs)
    rows = [
        _running(trigger, account_no, exchange, scheduled_for, started_at) for account_no, exchange in sorted(asked)
    ]
    if not rows:
        return SlotClaims({}, asked)
    with transaction(engine, "claiming a slot") as connection:
        claimed = connection.execute(
            insert_unless_taken(connection).returning(EtlRun.id, EtlRun.account_no, EtlRun.exchange), rows
        ).all()
    return SlotClaims(
        {(row.account_no, row.exchange): Run(id=int(row.id), started_at=started_at) for row in claimed}, asked
    )


def unrun_rows(
    slot: datetime,
    due: Sequence[Due],
    status: RunStatus,
    reason: Reason,
    accounts: Sequence[tuple[str, Sequence[str]]],
    at: datetime,
) -> list[dict[str, Any]]:
    """The etl_runs rows of a slot that did not run, recorded at `at`: one per account (its account_no and its
    exchanges) × exchange `due`, `status` for `reason`; a skipped one carries the holiday's name."""
    return [
        {
            "trigger": item.trigger,
            "status": status,
            "account_no": account_no,
            "exchange": item.exchange,
            "scheduled_for": slot,
            "started_at": at,
            "finished_at": at,
            "reason": reason,
            "detail": item.skip,  # the holiday's name
        }
        for account_no, exchanges in accounts
        for item in due
        if item.exchange in exchanges
    ]


def record_unrun(engine: Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Record runs that fetched nothing (missed or skipped slots, a replay's summary), leaving any slot already
    claimed alone. Returns how many rows were written."""
    rows = list(rows)
    if not rows:
        return 0
    with transaction(engine, "recording runs") as connection:
        written = connection.execute(insert_unless_taken(connection).returning(EtlRun.id), rows).all()
    return len(written)


def close_abandoned(engine: Engine, now: datetime) -> tuple[int, datetime | None]:
    """Mark runs still `running` long after they began as failed (abandoned); return how many, and the newest slot
    any run serves (where a restarted daemon counts its missed slots from)."""
    with transaction(engine, "reading etl_runs") as connection:
        abandoned = connection.execute(
            update(EtlRun)
            .where(EtlRun.status == RunStatus.RUNNING, EtlRun.started_at < now - ABANDONED_AFTER)
            .values(status=RunStatus.FAILED, finished_at=now, error=ABANDONED, reason=Reason.ABANDONED)
        ).rowcount
        # Snapshot slots only: a ledger run claims its day at 20:15, which is no snapshot slot.
        newest = connection.execute(select(func.max(EtlRun.scheduled_for)).where(EtlRun.api_id == "kt00005")).scalar()
    return abandoned, newest


def adopt(connection: Connection, capture: Capture, now: datetime) -> Run | str:
    """The run a spooled (or imported) snapshot is loaded into, claimed atomically in the caller's transaction; or
    why it is not loaded now.

    Loaded before from this very file: ALREADY_LOADED. Its own run (begun before the database went away), or a
    row of its slot that holds no snapshot (missed, skipped, failed, or cut off: still running an hour after it
    began, by the capture's time or `now`): adopted. A slot already served by a successful snapshot: CONFLICT (the
    file is kept aside, never deleted). A slot another process is taking right now: WAIT.
    """
    sql = _claim_sql(connection.dialect)
    with driver_cursor(connection) as cursor:
        cursor.execute(sql.loaded, (sql.text(capture.spool_id),))
        if cursor.fetchone() is not None:
            return ALREADY_LOADED
    row = _row_of(connection, capture)
    if row is None:
        values = (
            sql.text(capture.trigger),
            sql.text(RunStatus.RUNNING.value),
            sql.text(capture.account_no),
            sql.text(capture.exchange),
            sql.moment(capture.scheduled_for),
            sql.moment(capture.captured_at),
            sql.text(capture.spool_id),
        )
        with driver_cursor(connection) as cursor:
            cursor.execute(sql.insert, values)
            inserted = cursor.fetchone()
        return WAIT if inserted is None else Run(id=int(inserted[0]), started_at=capture.captured_at)
    if row.status == RunStatus.SUCCESS:
        return CONFLICT
    ours = row.id == capture.run_id
    # By `now` too: a claim whose commit landed though its daemon was told it failed (the server died before it
    # answered) is nobody's, and would otherwise hold the file until a daemon restarts and closes abandoned runs.
    began_long_ago = row.started_at < max(capture.captured_at, now) - ABANDONED_AFTER
    cut_off = began_long_ago or row.reason == Reason.ABANDONED
    if row.status == RunStatus.RUNNING and not (ours or cut_off):
        return WAIT
    # Adopt the row, unless another flush did in the meantime: the condition makes the claim atomic.
    claimed = connection.execute(
        update(EtlRun)
        .where(EtlRun.id == row.id, EtlRun.spool_id.is_(None), EtlRun.status == row.status)
        .values(
            spool_id=capture.spool_id,
            status=RunStatus.RUNNING,
            error=None,
            reason=None,
            detail=None,
            finished_at=None,
            duration_ms=None,
        )
    ).rowcount
    return Run(id=int(row.id), started_at=row.started_at) if claimed == 1 else WAIT


@dataclass(frozen=True)
class _ClaimSql:
    """adopt's two statements in the driver's SQL, and how their values bind (as the columns' types bind them)."""

    loaded: str
    insert: str
    text: Callable[[Any], Any]
    moment: Callable[[Any], Any]


@lru_cache(maxsize=16)  # per dialect: one per engine
def _claim_sql(dialect: Dialect) -> _ClaimSql:
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    columns = ("trigger", "status", "account_no", "exchange", "scheduled_for", "started_at", "spool_id")
    table = EtlRun.__table__
    return _ClaimSql(
        loaded=f"SELECT id FROM etl_runs WHERE spool_id = {marker}",
        insert=f"INSERT INTO etl_runs ({', '.join(columns)}) VALUES ({', '.join(marker for _ in columns)}) "
        "ON CONFLICT DO NOTHING RETURNING id",
        text=binders(dialect, table)["spool_id"],
        moment=binders(dialect, table)["started_at"],
    )


def _row_of(connection: Connection, capture: Capture) -> Any:
    """The run the capture began, unless this is another database with a namesake; else its slot's row."""
    if capture.run_id is None and capture.scheduled_for is None:  # an import's capture: no row to look for
        return None
    columns = (EtlRun.id, EtlRun.status, EtlRun.started_at, EtlRun.reason)
    pair = (EtlRun.account_no == capture.account_no, EtlRun.exchange == capture.exchange)
    if capture.run_id is not None:
        row = connection.execute(select(*columns).where(EtlRun.id == capture.run_id, *pair)).first()
        if row is not None:
            return row
    if capture.scheduled_for is None:
        return None
    return connection.execute(select(*columns).where(*pair, EtlRun.scheduled_for == capture.scheduled_for)).first()
