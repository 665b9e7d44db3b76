"""The load: the one door through which data enters the snapshot tables.

A fetched snapshot, a spooled one, an import and a replay all become a `Capture` (the raw pages, and whose, when
and for which slot) and go through `load`, which transforms the pages and writes the run's raw pages, its summary
and positions, and finishes the run (success, or failed with the reason). It runs inside the caller's transaction
(`etl.store.engine.transaction`), so that a snapshot is committed whole or not at all; the slot claim is an
earlier commit of its own (`etl.store.runs`), whose run the load receives.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, FromClause, delete, select, update

from etl.errors import TransformError
from etl.kiwoom.pages import Page
from etl.normalize.transform import COMMON_COLUMNS, LINE_COLUMNS, Snapshot, transform
from etl.store import closes, realized, returns
from etl.store.capture import Capture
from etl.store.engine import driver_cursor
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse, Reason, RunStatus
from etl.store.runs import Run
from etl.store.sqltypes import binders, unchanged

# How far ahead of the clock a capture may be dated: a Kiwoom page is stamped by this clock as it arrives, so only a
# skewed clock elsewhere or a wrong import is ahead, and it would be every view's "latest" until the day came.
FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True)
class Loaded:
    """How one capture was written."""

    run_id: int
    status: RunStatus
    reason: Reason | None
    snapshot_id: int | None = None
    positions: int | None = None
    error: str | None = None
    unknown_fields: frozenset[str] = frozenset()
    written: bool = True  # False when a rebuild found nothing to change, or was refused


def load(
    connection: Connection,
    items: Sequence[tuple[Run, Capture]],
    *,
    finished_at: datetime,
    replace_snapshot: bool = False,
) -> list[Loaded]:
    """Write each capture into its run: transform, raw pages, summary, positions, and the run's end.

    A capture that failed to fetch, whose pages the transform refuses, or dated more than FUTURE_TOLERANCE after
    `finished_at` (now), is recorded as failed with its pages (a later replay reads them). With `replace_snapshot`
    (a replay), the run's snapshot is rebuilt: the old one is deleted and the pages, already stored, are linked to
    the new one; a run that already reads the same, or whose pages today's transform refuses, is left as it is
    (`Loaded.written` is False).
    """
    writes = _Writes()
    with driver_cursor(connection) as cursor:
        results = [
            _load_one(connection, cursor, run, capture, finished_at, replace_snapshot, writes) for run, capture in items
        ]
    writes.flush(connection)
    return results


@dataclass
class _Writes:
    """What the load's captures write after their summaries, sent together at the end of the load (in its
    transaction, so nothing changes for what commits): every position in one COPY or executemany, then the raw
    pages and the runs' ends, each in one executemany, the daily_closes rows of the days written and the reads of
    the daily_returns refresh from those days on — on PostgreSQL these in one round trip (psycopg's pipeline) —,
    then the daily_returns rows computed, and realized_sales of an account whose first close or transfers those
    days may change."""

    positions: list[tuple[Any, ...]] = field(default_factory=list)
    pages: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    ends: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    days: list[tuple[str, str, date]] = field(default_factory=list)

    def flush(self, connection: Connection) -> None:
        if self.positions:
            _insert_positions(connection, self.positions)
        with driver_cursor(connection, pipelined=True) as cursor:
            for statements in (self.pages, self.ends):
                for statement, rows in statements.items():
                    cursor.executemany(statement, rows)
            for statement, values in closes.day_statements(connection.dialect, self.days):
                cursor.execute(statement, values)
            # After the closes it reads: the returns of the days written and of every day after them.
            returns.refresh(connection, ((account_no, day) for account_no, _, day in self.days), cursor)
        realized.refresh_days(connection, ((account_no, day) for account_no, _, day in self.days))


def _load_one(
    connection: Connection,
    cursor: Any,
    run: Run,
    capture: Capture,
    finished_at: datetime,
    rebuild: bool,
    writes: _Writes,
) -> Loaded:
    error, reason = capture.error, capture.reason
    snapshot: Snapshot | None = None
    if error is None and capture.captured_at > finished_at + FUTURE_TOLERANCE:
        error, reason = _from_the_future(capture.captured_at, finished_at), Reason.PAYLOAD_REFUSED
    if error is None:
        try:
            snapshot = transform(
                [page.data or {} for page in capture.pages],
                account_no=capture.account_no,
                exchange=capture.exchange,
                captured_at=capture.captured_at,
                scheduled_for=capture.scheduled_for,
            )
        except TransformError as exc:
            error, reason = str(exc), Reason.PAYLOAD_REFUSED
    if rebuild:
        if snapshot is None:  # today's transform refuses what was loaded before: the tables stay as they are
            return Loaded(run.id, RunStatus.FAILED, reason, error=error, written=False)
        if _same(connection, run.id, snapshot):
            return Loaded(run.id, RunStatus.SUCCESS, capture.reason, written=False)
        connection.execute(delete(AccountSnapshot).where(AccountSnapshot.run_id == run.id))  # positions go with it
    snapshot_id = None if snapshot is None else _insert_snapshot(connection, cursor, run, snapshot)
    if snapshot is not None and snapshot_id is not None:
        writes.positions += _position_rows(connection.dialect, snapshot_id, snapshot)
        writes.days.append(
            (snapshot.account["account_no"], snapshot.account["exchange"], snapshot.account["trade_date"])
        )
    if rebuild:
        connection.execute(
            update(RawResponse)
            .where(RawResponse.run_id == run.id, RawResponse.api_id == "kt00005")
            .values(snapshot_id=snapshot_id)
        )
    else:
        _insert_pages(connection, run.id, snapshot_id, capture, writes)
    status = RunStatus.FAILED if snapshot is None else RunStatus.SUCCESS
    positions = None if snapshot is None else len(snapshot.lines)
    values: dict[str, Any] = {
        "status": status,
        "page_count": len(capture.pages),
        "position_count": positions,
        "error": error,
        "reason": reason,
        "detail": capture.detail,
    }
    if not rebuild:  # a rebuilt run keeps when it first ended
        values.update(finished_at=finished_at, duration_ms=int((finished_at - run.started_at).total_seconds() * 1000))
    statement = _update_run_sql(connection.dialect, tuple(values))
    writes.ends.setdefault(statement, []).append((*_bound(connection, EtlRun.__table__, values), run.id))
    unknown = frozenset() if snapshot is None else snapshot.unknown_fields
    return Loaded(run.id, status, reason, snapshot_id, positions, error, unknown)


def _from_the_future(captured_at: datetime, now: datetime) -> str:
    limit = int(FUTURE_TOLERANCE.total_seconds() // 60)
    return f"captured_at: {captured_at.isoformat()} is more than {limit} minutes ahead of the clock ({now.isoformat()})"


def _insert_snapshot(connection: Connection, cursor: Any, run: Run, snapshot: Snapshot) -> int:
    values = {"run_id": run.id, **snapshot.account}
    statement = _insert_sql(connection.dialect, "account_snapshots", tuple(values), " RETURNING id")
    cursor.execute(statement, _bound(connection, AccountSnapshot.__table__, values))
    return int(cursor.fetchone()[0])


# position_snapshots' columns but id, in the order _position_rows builds its tuples: the snapshot id, what every line
# shares with the account row, then each line's own values as the transform holds them.
POSITION_COLUMNS = ("snapshot_id", *COMMON_COLUMNS, *LINE_COLUMNS)
assert sorted(POSITION_COLUMNS) == sorted(c.name for c in PositionSnapshot.__table__.columns if c.name != "id")


def _insert_positions(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Every position in one go, as driver-native tuples: COPY on PostgreSQL, one executemany elsewhere.

    Per-row statement building and type processing cost more than the database's own work (benchmarks/
    bench_load.py): each column's conversion is taken from its SQLAlchemy type once per snapshot, the values
    shared by every line are converted once, and the rows go to the driver as they are.
    """
    with driver_cursor(connection) as cursor:
        if connection.dialect.name != "postgresql":
            cursor.executemany(_insert_sql(connection.dialect, "position_snapshots", POSITION_COLUMNS), rows)
            return
        with cursor.copy(f"COPY position_snapshots ({', '.join(POSITION_COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _position_rows(dialect: Dialect, snapshot_id: int, snapshot: Snapshot) -> list[tuple[Any, ...]]:
    """The snapshot's positions as tuples in POSITION_COLUMNS' order, each value as the column's type binds it."""

    bind = binders(dialect, PositionSnapshot.__table__)
    account, lines = snapshot.account, snapshot.lines
    head = (snapshot_id, *(bind[column](account[column]) for column in COMMON_COLUMNS))
    day, rate = bind["loan_date"], bind["profit_loss_rate"]
    if day is unchanged and rate is unchanged:  # the driver takes dates and Decimals as they are (psycopg)
        return [head + line for line in lines]
    # A snapshot holds a handful of distinct loan and expiry dates: each is bound once, then looked up. The other
    # columns of a line (integers and texts) go to every driver as they are.
    days = {d: day(d) for d in {line[2] for line in lines} | {line[3] for line in lines}}
    return [
        head + (line_no, credit, days[loan], days[expiry], code, name, *amounts, rate(profit_rate))
        for line_no, credit, loan, expiry, code, name, *amounts, profit_rate in lines
    ]


# _position_rows unpacks a line in this order.
assert LINE_COLUMNS[:6] == ("line_no", "credit_type", "loan_date", "expiry_date", "stock_code", "stock_name")
assert LINE_COLUMNS[-1] == "profit_loss_rate"


def _bound(connection: Connection, table: FromClause, values: dict[str, Any]) -> tuple[Any, ...]:
    """`values` in order, each as its column's type binds it: the parameters of a statement in driver SQL."""
    bind = binders(connection.dialect, table)
    return tuple([bind[column](value) for column, value in values.items()])


def _marker(dialect: Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


@lru_cache(maxsize=64)  # a few statements per dialect, built once
def _insert_sql(dialect: Dialect, table: str, columns: tuple[str, ...], tail: str = "") -> str:
    """INSERT INTO table (columns) VALUES (…) in the driver's parameter style; JSON text is cast on PostgreSQL."""
    marker = _marker(dialect)
    jsonb = dialect.name == "postgresql"
    values = ", ".join(f"CAST({marker} AS JSONB)" if jsonb and c == "payload" else marker for c in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values}){tail}"


@lru_cache(maxsize=16)
def _update_run_sql(dialect: Dialect, columns: tuple[str, ...]) -> str:
    """UPDATE etl_runs SET columns … WHERE id = … in the driver's parameter style."""
    marker = _marker(dialect)
    return f"UPDATE etl_runs SET {', '.join(f'{column} = {marker}' for column in columns)} WHERE id = {marker}"


def _insert_pages(
    connection: Connection, run_id: int, snapshot_id: int | None, capture: Capture, writes: _Writes
) -> None:
    if not capture.pages:
        return
    rows = [page_row(page, run_id, capture.account_no, capture.exchange, snapshot_id) for page in capture.pages]
    writes.pages.setdefault(_insert_sql(connection.dialect, "raw_responses", tuple(rows[0])), []).extend(
        _bound(connection, RawResponse.__table__, row) for row in rows
    )


def page_row(
    page: Page,
    run_id: int,
    account_no: str | None,
    exchange: str | None,
    snapshot_id: int | None = None,
    asked: str | None = None,
) -> dict[str, Any]:
    """The raw_responses row of one page as received (`asked`: what a market API's request asked)."""
    return {
        "asked": asked,
        "run_id": run_id,
        "snapshot_id": snapshot_id,
        "api_id": page.api_id,
        "account_no": account_no,
        "exchange": exchange,
        "page_no": page.page_no,
        "http_status": page.http_status,
        "cont_yn": page.cont_yn,
        "next_key": page.next_key,
        "received_at": page.received_at,
        **_body_columns(page),
    }


def _body_columns(page: Page) -> dict[str, str | None]:
    """A JSON object goes to `payload`; anything else, or JSON that PostgreSQL's JSONB cannot hold (a NUL, or a UTF-16
    surrogate, which JSONB takes only in pairs: any escaped one is sent aside), to body_text."""
    # Both can only be written escaped; most pages hold no backslash at all, found at memchr's speed.
    if page.data is not None and not ("\\" in page.text and _JSONB_REFUSES.search(page.text)):
        return {"payload": page.text, "body_text": None}
    return {"payload": None, "body_text": page.text}


_JSONB_REFUSES = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def _same(connection: Connection, run_id: int, snapshot: Snapshot) -> bool:
    """Whether the run's stored snapshot already holds exactly these rows."""
    existing = connection.execute(select(AccountSnapshot.__table__).where(AccountSnapshot.run_id == run_id)).all()
    if len(existing) != 1 or any(getattr(existing[0], c) != v for c, v in snapshot.account.items()):
        return False
    positions = connection.execute(
        select(PositionSnapshot.__table__)
        .where(PositionSnapshot.snapshot_id == existing[0].id)
        .order_by(PositionSnapshot.line_no)
    ).all()
    return len(positions) == len(snapshot.positions) and all(
        getattr(row, column) == value
        for row, new in zip(positions, snapshot.positions, strict=True)
        for column, value in new.items()
    )
