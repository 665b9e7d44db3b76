"""Replay and import: rebuild the snapshot tables from raw pages with today's transform.

`replay` reads raw_responses (after a parser fix, or into a freshly migrated database) and rebuilds each run's
snapshot in one transaction; a snapshot that already reads the same is left as it is, so a second replay changes
nothing. `import` loads kt00005 pages kept elsewhere, once: the files' content is its identity.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, delete, insert, select, update

from etl.clock import KST, utc_now
from etl.errors import EtlError, TransformError
from etl.jobs.flush import flush_item
from etl.jobs.spool import Spooled
from etl.kiwoom.pages import Page, parse_json_object
from etl.normalize.transform import Snapshot, transform
from etl.store.engine import storage_errors, transaction
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse

log = logging.getLogger(__name__)


@dataclass
class ReplayReport:
    """What a replay did, run by run."""

    rebuilt: int = 0
    unchanged: int = 0
    refused: int = 0
    incomplete: int = 0

    def __str__(self) -> str:
        return (
            f"{self.rebuilt} rebuilt, {self.unchanged} unchanged, {self.refused} refused by today's transform, "
            f"{self.incomplete} incomplete (a page missing or broken)"
        )


def runs_to_replay(engine: Engine, *, since: date | None = None, account: str | None = None) -> list[int]:
    """The runs whose kt00005 pages are kept, oldest first, optionally from a Seoul date on and for one account."""
    query = select(RawResponse.run_id).where(RawResponse.api_id == "kt00005").distinct().order_by(RawResponse.run_id)
    if since is not None:
        query = query.where(RawResponse.received_at >= datetime.combine(since, time(0), tzinfo=KST))
    if account is not None:
        query = query.where(RawResponse.account_no == account)
    with storage_errors(engine, "finding runs to replay"), engine.connect() as connection:
        return [int(run_id) for run_id in connection.execute(query).scalars()]


def replay(
    engine: Engine,
    run_ids: Sequence[int],
    *,
    clock: Callable[[], datetime] = utc_now,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Rebuild the snapshot of each run from its raw pages; record the replay itself as a run."""
    report = ReplayReport()
    started = clock()
    for run_id in run_ids:
        with transaction(engine, f"replaying run {run_id}") as connection:
            outcome = _replay_run(connection, run_id, clock)
        setattr(report, outcome, getattr(report, outcome) + 1)
        if progress is not None:
            progress(1)
    with transaction(engine, "recording the replay") as connection:
        connection.execute(
            insert(EtlRun).values(
                trigger="replay",
                status="success",
                started_at=started,
                finished_at=clock(),
                duration_ms=int((clock() - started).total_seconds() * 1000),
                reason=str(report),
                page_count=None,
                position_count=None,
            )
        )
    return report


def _replay_run(connection: Connection, run_id: int, clock: Callable[[], datetime]) -> str:
    rows = connection.execute(
        select(RawResponse.__table__)
        .where(RawResponse.run_id == run_id, RawResponse.api_id == "kt00005")
        .order_by(RawResponse.page_no, RawResponse.id)
    ).all()
    run = connection.execute(select(EtlRun.__table__).where(EtlRun.id == run_id)).one()
    if not rows or any(r.payload is None for r in rows) or rows[-1].cont_yn == "Y":
        return "incomplete"
    bodies = [parse_json_object(r.payload or "") or {} for r in rows]
    try:
        snapshot = transform(
            bodies,
            account_no=str(rows[0].account_no),
            exchange=str(rows[0].exchange),
            captured_at=rows[0].received_at,
            scheduled_for=run.scheduled_for,
        )
    except TransformError as exc:
        log.warning("run %d: today's transform refuses its pages (%s); its tables are left as they are", run_id, exc)
        return "refused"
    existing = connection.execute(select(AccountSnapshot.__table__).where(AccountSnapshot.run_id == run_id)).all()
    if len(existing) == 1 and _same(connection, existing[0], snapshot):
        return "unchanged"
    connection.execute(delete(AccountSnapshot).where(AccountSnapshot.run_id == run_id))  # positions go with it
    snapshot_id = int(
        connection.execute(
            insert(AccountSnapshot).returning(AccountSnapshot.id), {"run_id": run_id, **snapshot.account}
        ).scalar_one()
    )
    if snapshot.positions:
        connection.execute(insert(PositionSnapshot), [{"snapshot_id": snapshot_id, **p} for p in snapshot.positions])
    connection.execute(
        update(RawResponse)
        .where(RawResponse.run_id == run_id, RawResponse.api_id == "kt00005")
        .values(snapshot_id=snapshot_id)
    )
    if run.status != "success":
        connection.execute(
            update(EtlRun)
            .where(EtlRun.id == run_id)
            .values(
                status="success",
                position_count=len(snapshot.positions),
                page_count=len(rows),
                reason=f"replayed {clock():%Y-%m-%d %H:%M}Z; it had failed: {run.error}",
                error=None,
            )
        )
    return "rebuilt"


def _same(connection: Connection, existing: Row[Any], snapshot: Snapshot) -> bool:
    if any(getattr(existing, column) != value for column, value in snapshot.account.items()):
        return False
    positions = connection.execute(
        select(PositionSnapshot.__table__)
        .where(PositionSnapshot.snapshot_id == existing.id)
        .order_by(PositionSnapshot.line_no)
    ).all()
    return len(positions) == len(snapshot.positions) and all(
        getattr(row, column) == value
        for row, new in zip(positions, snapshot.positions, strict=True)
        for column, value in new.items()
    )


def import_pages(
    engine: Engine,
    files: Sequence[Path],
    *,
    account_no: str,
    exchange: str,
    captured_at: datetime,
    scheduled_for: datetime | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> str:
    """Load kt00005 pages kept elsewhere (one JSON answer a file, in order) as one snapshot, once."""
    texts = []
    for path in files:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise EtlError(f"{path}: cannot be read: {exc}") from None
    identity = hashlib.sha256("\n".join([account_no, exchange, captured_at.isoformat(), *texts]).encode()).hexdigest()
    pages = tuple(
        Page(
            api_id="kt00005",
            page_no=n,
            received_at=captured_at,
            http_status=200,
            text=text,
            data=parse_json_object(text),
            cont_yn="Y" if n < len(texts) - 1 else "N",
            next_key=None,
        )
        for n, text in enumerate(texts)
    )
    broken = [str(path) for path, page in zip(files, pages, strict=True) if page.data is None]
    item = Spooled(
        account_no=account_no,
        exchange=exchange,
        trigger="import",
        captured_at=captured_at,
        pages=pages,
        scheduled_for=scheduled_for,
        error=f"not a JSON object: {', '.join(broken)}" if broken else None,
        spool_id=f"import:{identity[:40]}",
    )
    return flush_item(engine, item, clock)


def parse_moment(text: str, option: str) -> datetime:
    """An ISO 8601 time; without a zone it is read as Korean time (Kiwoom's)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise EtlError(f"{option}: expected a time such as 2026-11-20T15:30:00+09:00, got {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=KST)
