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

from sqlalchemy import Connection, Engine, Row, select

from etl.clock import KST, utc_now
from etl.errors import EtlError
from etl.jobs.flush import flush_item
from etl.kiwoom.pages import Page, parse_json_object
from etl.store.capture import Capture
from etl.store.engine import storage_errors, transaction
from etl.store.load import load
from etl.store.models import EtlRun, RawResponse, Reason, RunStatus
from etl.store.runs import Run, record_unrun

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
    finished = clock()
    summary = {
        "trigger": "replay",
        "status": RunStatus.SUCCESS,
        "started_at": started,
        "finished_at": finished,
        "duration_ms": int((finished - started).total_seconds() * 1000),
        "reason": Reason.REPLAYED,
        "detail": str(report),
    }
    record_unrun(engine, [summary])
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
    was = f"; it had failed: {run.error}" if run.status != RunStatus.SUCCESS else ""
    capture = Capture(
        account_no=str(rows[0].account_no),
        exchange=str(rows[0].exchange),
        trigger=run.trigger,
        captured_at=rows[0].received_at,
        pages=tuple(_page(row) for row in rows),
        scheduled_for=run.scheduled_for,
        run_id=run_id,
        reason=Reason.REPLAYED,
        detail=f"replayed {clock():%Y-%m-%d %H:%M}Z{was}",
    )
    (loaded,) = load(connection, [(Run(run_id, run.started_at), capture)], finished_at=clock(), replace_snapshot=True)
    if loaded.written:
        return "rebuilt"
    if loaded.error is not None:
        log.warning(
            "run %d: today's transform refuses its pages (%s); its tables are left as they are", run_id, loaded.error
        )
        return "refused"
    return "unchanged"


def _page(row: Row[Any]) -> Page:
    """A stored raw page as the Page it was received as."""
    return Page(
        api_id=row.api_id,
        page_no=row.page_no,
        received_at=row.received_at,
        http_status=row.http_status,
        text=row.payload or "",
        data=parse_json_object(row.payload or ""),
        cont_yn=row.cont_yn,
        next_key=row.next_key,
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
    item = Capture(
        account_no=account_no,
        exchange=exchange,
        trigger="import",
        captured_at=captured_at,
        pages=pages,
        scheduled_for=scheduled_for,
        error=f"not a JSON object: {', '.join(broken)}" if broken else None,
        reason=Reason.PAYLOAD_REFUSED if broken else None,
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
