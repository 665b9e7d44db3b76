"""kt00017 (계좌별당일현황요청), the account's totals of today, declared once: no input and one flat record, taken
once a trading day after the close into account_day_totals, where a later taking of the day replaces an earlier one."""

from __future__ import annotations

from etl.apis.api import Claim, Rows, RowsApi, RunsMetric
from etl.kiwoom.endpoints import Endpoint
from etl.kiwoom.pages import Page
from etl.normalize.totals import day_totals
from etl.store.daily import store_daily
from etl.store.models import AccountDayTotals


def _read(page: Page, account_no: str, first_line: int) -> Rows:
    # The answer is today's: its day is the KST day it was received on.
    totals = day_totals(page, account_no=account_no, captured_at=page.received_at)
    return Rows((totals.row,), totals.unknown_fields)


DAY_TOTALS = RowsApi(
    endpoint=Endpoint("kt00017"),
    what="day totals",
    claim=Claim.DAY,
    table=AccountDayTotals.__table__,
    runs_metric=RunsMetric("day_totals", "Day totals"),
    read=_read,
    store=store_daily,
)
