"""Loading: run bookkeeping in etl_runs, and one transaction per snapshot for its summary, positions and pages."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Insert, insert, update
from sqlalchemy.dialects import postgresql, sqlite

from etl.errors import SlotClaimed
from etl.kiwoom.pages import Page
from etl.normalize.transform import Snapshot
from etl.store.engine import transaction
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse

RUNNING, SUCCESS, FAILED, MISSED, SKIPPED = "running", "success", "failed", "missed", "skipped"
ABANDONED_AFTER = timedelta(hours=1)  # a run still `running` after this long was cut off (kill -9, power loss)
ABANDONED = "abandoned: the process stopped before it finished"  # the error such a run is closed with


@dataclass(frozen=True)
class Run:
    """An etl_runs row that has begun."""

    id: int
    started_at: datetime


def insert_unless_taken(connection: Connection) -> Insert:
    """INSERT INTO etl_runs … ON CONFLICT DO NOTHING: a slot already claimed is left to its owner."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(EtlRun).on_conflict_do_nothing()
    return sqlite.insert(EtlRun).on_conflict_do_nothing()


def start_run(
    engine: Engine,
    *,
    trigger: str,
    started_at: datetime,
    account_no: str | None,
    exchange: str | None,
    scheduled_for: datetime | None = None,
) -> Run:
    """Record that a run began (status running). For a scheduled slot this claims it: SlotClaimed if it was taken."""
    values = {
        "trigger": trigger,
        "status": RUNNING,
        "account_no": account_no,
        "exchange": exchange,
        "scheduled_for": scheduled_for,
        "started_at": started_at,
    }
    with transaction(engine, "recording a run") as connection:
        run_id = connection.execute(insert_unless_taken(connection).returning(EtlRun.id), values).scalar()
    if run_id is None:
        raise SlotClaimed(f"{account_no} {exchange} {scheduled_for:%Y-%m-%d %H:%M:%S %Z}" if scheduled_for else "")
    return Run(id=int(run_id), started_at=started_at)


def record_unrun(engine: Engine, rows: Iterable[dict[str, Any]]) -> int:
    """Record slots that were missed or skipped (status, reason, ...), leaving any slot already claimed alone.

    Returns how many rows were written.
    """
    rows = list(rows)
    if not rows:
        return 0
    with transaction(engine, "recording missed or skipped slots") as connection:
        written = connection.execute(insert_unless_taken(connection).returning(EtlRun.id), rows).all()
    return len(written)


def write_snapshot(
    connection: Connection, run: Run, snapshot: Snapshot, pages: Sequence[Page], finished_at: datetime
) -> int:
    """Write a snapshot: its account row, every position row, its raw pages, the run's success.

    Called inside one transaction (`etl.db.transaction`), so that all of it is committed or none of it. Returns
    the account_snapshots id.
    """
    snapshot_id = int(
        connection.execute(
            insert(AccountSnapshot).returning(AccountSnapshot.id), {"run_id": run.id, **snapshot.account}
        ).scalar_one()
    )
    if snapshot.positions:
        # One executemany for every position: sqlite3 runs it in C, psycopg 3 pipelines it. Row-by-row ORM
        # flushes take 7-18 times as long (benchmarks/bench_load.py); INSERT..RETURNING batches gained nothing.
        connection.execute(
            insert(PositionSnapshot), [{"snapshot_id": snapshot_id, **row} for row in snapshot.positions]
        )
    account = snapshot.account
    _insert_pages(connection, run.id, snapshot_id, account["account_no"], account["exchange"], pages)
    _finish(connection, run, SUCCESS, finished_at, len(pages), len(snapshot.positions), None)
    return snapshot_id


def write_failure(
    connection: Connection,
    run: Run,
    error: str,
    finished_at: datetime,
    *,
    account_no: str | None = None,
    exchange: str | None = None,
    pages: Sequence[Page] = (),
) -> None:
    """Mark a run failed with its error, keeping the raw pages that were received (a later replay reads them)."""
    _insert_pages(connection, run.id, None, account_no, exchange, pages)
    _finish(connection, run, FAILED, finished_at, len(pages), None, error)


def _insert_pages(
    connection: Connection,
    run_id: int,
    snapshot_id: int | None,
    account_no: str | None,
    exchange: str | None,
    pages: Sequence[Page],
) -> None:
    if not pages:
        return
    rows: list[dict[str, Any]] = [
        {
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
        for page in pages
    ]
    connection.execute(insert(RawResponse), rows)


def _body_columns(page: Page) -> dict[str, str | None]:
    """A JSON object goes to `payload`; anything else, or JSON that PostgreSQL's JSONB cannot hold, to body_text."""
    if page.data is not None and "\\u0000" not in page.text:
        return {"payload": page.text, "body_text": None}
    return {"payload": None, "body_text": page.text}


def _finish(
    connection: Connection,
    run: Run,
    status: str,
    finished_at: datetime,
    page_count: int | None,
    position_count: int | None,
    error: str | None,
) -> None:
    connection.execute(
        update(EtlRun)
        .where(EtlRun.id == run.id)
        .values(
            status=status,
            finished_at=finished_at,
            duration_ms=int((finished_at - run.started_at).total_seconds() * 1000),
            page_count=page_count,
            position_count=position_count,
            error=error,
        )
    )
