"""The backfill: the days before the daemon started. kt00002's daily estimated assets (etl.apis.estimates, a calendar
month at a time, with continuation) into account_daily_estimates, then the ledger (kt00015) over the same range, so
that the returns and the equity curve reach back before the first snapshot: account_returns_daily takes an estimate
for a KRX day without a snapshot, marked `source = 'estimate'` (estimates fill the KRX series only).

What every account job does besides (runs, pages, refusals, 8104 and 8200) is etl.jobs.account_job's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from etl.apis.api import RowsApi
from etl.apis.estimates import ESTIMATES
from etl.clock import KST
from etl.jobs.account_job import AccountJob, RangeResult
from etl.store.models import RunStatus


@dataclass
class EstimatesResult(RangeResult):
    """How one account's kt00002 run ended."""

    api: ClassVar[RowsApi] = ESTIMATES

    @property
    def days(self) -> int:
        """The days received."""
        return self.rows


class EstimatesJob(AccountJob[EstimatesResult]):
    """kt00002 for every configured account over [since, until]."""

    result_type = EstimatesResult

    def _begin(
        self, account_no: str, *, since: date | None = None, until: date | None = None, **options: Any
    ) -> EstimatesResult:
        if since is None:
            raise ValueError("a backfill needs its first day")
        last = until or self.clock().astimezone(KST).date()
        return EstimatesResult(account_no, RunStatus.RUNNING, since=since, until=last)
