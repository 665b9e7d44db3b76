"""The day's totals: kt00017 for every configured account, once a day after the close, into account_day_totals.

kt00017 answers for today only, so it is taken on KRX trading days after `[ledger] at` (20:15 by default: NXT has
closed) — by the daemon with its daily ledger run, and by `kiwoom-etl ledger` when run after that time. The page
goes to raw_responses with the row, in one transaction; a value off the contract refuses the page (kept, counted
in `status`, loaded by `replay` once the transform reads it). What every account job does besides (runs, 8104 and
8200) is etl.jobs.account_job's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert

from etl.clock import KST, KrxCalendar, utc_now
from etl.errors import TransformError
from etl.jobs.account_job import AccountJob, AccountResult
from etl.jobs.replay import heal_runs, kept_pages, stored_page
from etl.kiwoom.client import KiwoomClient
from etl.normalize.totals import DayTotals, day_totals
from etl.settings import Settings
from etl.store.engine import transaction
from etl.store.load import page_row
from etl.store.models import RawResponse, Reason, RunStatus
from etl.store.runs import Run
from etl.store.totals import store_totals

log = logging.getLogger(__name__)

API_ID = "kt00017"


@dataclass
class TotalsResult(AccountResult):
    """How one account's day-totals run ended."""

    trade_date: date | None = None
    stored: bool = False  # False after a success: a later taking of the day was stored already

    @property
    def count(self) -> int:
        return 1


def not_due(settings: Settings, now: datetime, calendar: KrxCalendar) -> str | None:
    """Why today's totals are not to be taken at `now`, or None when they are: after `[ledger] at` on a KRX
    trading day (kt00017 answers for today only; earlier, the day is not over)."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    day = now.astimezone(KST).date()
    if not calendar.is_trading_day(day):
        return f"{day} is no KRX trading day: no totals of the day are taken"
    if local.time() < settings.ledger_at:
        return f"today's totals (kt00017) are taken after the close, from {settings.ledger_at:%H:%M}"
    return None


class DayTotalsJob(AccountJob[TotalsResult]):
    """Today's totals of every configured account; remembers, for this process, a server that does not offer them."""

    api_id = API_ID
    what = "day totals"
    result_type = TotalsResult

    def _work(self, client: KiwoomClient, run: Run, result: TotalsResult) -> None:
        page = client.day_totals()
        result.pages = 1
        refused: TransformError | None = None
        totals: DayTotals | None = None
        try:
            totals = day_totals(page, account_no=result.account, captured_at=page.received_at)
        except TransformError as exc:
            refused = exc
            log.warning("%s day totals: page refused: %s", result.account, exc)
        with transaction(self.engine, "loading the day's totals") as connection:
            connection.execute(insert(RawResponse), [page_row(page, run.id, result.account, None)])
            if totals is not None:
                result.trade_date = totals.row["trade_date"]
                result.stored = store_totals(connection, totals.row, run_id=run.id)
        if totals is None:
            result.failed(Reason.PAYLOAD_REFUSED, str(refused))
            return
        if totals.unknown_fields:
            log.info(
                "kt00017 sent field(s) the contract does not know, kept in raw_responses: %s",
                sorted(totals.unknown_fields),
            )
        result.status = RunStatus.SUCCESS


def replay_totals(
    engine: Engine, *, since: date | None = None, account: str | None = None, clock: Callable[[], datetime] = utc_now
) -> tuple[int, int]:
    """Store the kept kt00017 pages again with today's transform (a later taking of a day still wins); a run that
    had failed because its page was refused, and whose page reads now, becomes a success (reason replayed).
    Returns (pages read, pages refused)."""
    query = kept_pages(API_ID, since=since, account=account)
    now = clock()
    read, healed, refused = 0, set(), 0
    with transaction(engine, "replaying the day totals") as connection:
        for row in connection.execute(query.order_by(RawResponse.id)).all():
            read += 1
            try:
                totals = day_totals(stored_page(row), account_no=str(row.account_no), captured_at=row.received_at)
            except TransformError as exc:
                log.warning("run %d: today's transform refuses a kt00017 page (%s)", row.run_id, exc)
                refused += 1
                continue
            store_totals(connection, totals.row, run_id=row.run_id)
            healed.add(row.run_id)
        heal_runs(connection, healed, now)
    return read, refused
