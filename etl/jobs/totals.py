"""The day's totals: kt00017 (etl.apis.totals) for every configured account, once a day after the close.

kt00017 answers for today only, so it is taken on KRX trading days after `[ledger] at` (20:15 by default: NXT has
closed) — by the daemon with its daily ledger run, and by `kiwoom-etl ledger` when run after that time. What every
account job does besides (runs, pages, refusals, 8104 and 8200) is etl.jobs.account_job's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from etl.apis.api import RowsApi
from etl.apis.totals import DAY_TOTALS
from etl.clock import KST, KrxCalendar
from etl.jobs.account_job import AccountJob, AccountResult
from etl.kiwoom.pages import Page
from etl.settings import Settings
from etl.store.runs import Run


@dataclass
class TotalsResult(AccountResult):
    """How one account's day-totals run ended."""

    api: ClassVar[RowsApi] = DAY_TOTALS
    trade_date: date | None = None

    @property
    def stored(self) -> bool:
        """False after a success when a later taking of the day was stored already."""
        return self.written > 0


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

    result_type = TotalsResult

    def _store(
        self, connection: Connection, run: Run, rows: Sequence[Any], pages: Sequence[Page], result: TotalsResult
    ) -> None:
        super()._store(connection, run, rows, pages, result)
        result.trade_date = rows[0]["trade_date"]
