"""ka10074 (일자별실현손익요청), Kiwoom's own daily realised profit, declared once: a range of days (strt_dt, end_dt), a
line a day under dt_rlzt_pl with continuation — only the days with realised profit — read a calendar month at a time
by the backfill and by the account's evening day into account_realized_daily (described and declared here), where a
later answer for a day replaces an earlier one. realized_checks holds it against the ledger and realized_pnl."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnClause

from etl.apis.api import Claim, Rows, RowsApi, RunsMetric
from etl.kiwoom.endpoints import Endpoint
from etl.kiwoom.pages import Page
from etl.normalize.realized import PNL_PRECISION, PNL_SCALE, REALIZED_KEY, check_range, realized_rows
from etl.store.daily import key_columns, key_docs, store_daily
from etl.store.dictionary import DATE, DATE_TYPE, KRW, Counted, Relation, amount
from etl.store.dictionary import Column as Described  # a documented column, beside SQLAlchemy's Column
from etl.store.models import Base
from etl.store.sqltypes import ExactDecimal

PNL_TYPE = f"numeric({PNL_PRECISION},{PNL_SCALE})"

ACCOUNT_REALIZED_DAILY = Relation(
    "account_realized_daily",
    "일자별실현손익",
    "One row per account × day (the primary key) of ka10074's daily realised profit: Kiwoom's own figures, only for"
    " the days with realised profit (a later answer for a day replaces an earlier one); realized_checks holds them"
    " against the ledger.",
    (
        *key_docs(
            Described("trade_date", DATE_TYPE, "dt", "일자", DATE, "The day the line totals (the trades' day)."),
            run="The ka10074 run that loaded it.",
            arrived="When its page arrived.",
        ),
        amount("buy_amount", "buy_amt", "매수금액", "Amount bought on the day."),
        amount("sell_amount", "sell_amt", "매도금액", "Amount sold on the day."),
        Described(
            "realized_pnl",
            PNL_TYPE,
            "tdy_sel_pl",
            "당일매도손익",
            KRW,
            "Kiwoom's realised profit of the day's sales, by its own cost (undocumented method); may carry decimals.",
        ),
        amount("commission", "tdy_trde_cmsn", "당일매매수수료", "Commissions of the day's trades."),
        amount("tax", "tdy_trde_tax", "당일매매세금", "Taxes of the day's trades."),
    ),
)


class AccountRealizedDaily(Base):
    """ka10074's realised profit of one account's day; a later answer replaces it."""

    __tablename__ = "account_realized_daily"
    __relation__ = ACCOUNT_REALIZED_DAILY

    account_no, trade_date, run_id, captured_at = key_columns()
    buy_amount: ColumnClause[int] = Column(BigInteger)
    sell_amount: ColumnClause[int] = Column(BigInteger)
    realized_pnl: ColumnClause[Decimal] = Column(ExactDecimal(PNL_PRECISION, PNL_SCALE))
    commission: ColumnClause[int] = Column(BigInteger)
    tax: ColumnClause[int] = Column(BigInteger)


def _body(start: date, end: date) -> dict[str, Any]:
    return {"strt_dt": f"{start:%Y%m%d}", "end_dt": f"{end:%Y%m%d}"}


def _read(page: Page, account_no: str, first_line: int) -> Rows:
    read = realized_rows(page, account_no=account_no, first_line=first_line)
    return Rows(read.rows, read.unknown_fields)


REALIZED = RowsApi(
    endpoint=Endpoint("ka10074", body=_body, list_key=REALIZED_KEY, no_data_is_empty=True),
    what="realised profit",
    fetched="Kiwoom's daily realised profit",
    counted=Counted("days with realised profit", "received"),
    claim=Claim.RANGE,
    table=AccountRealizedDaily.__table__,
    runs_metric=RunsMetric("realized", "Daily realised profit"),
    read=_read,
    store=store_daily,
    check=check_range,  # Kiwoom's lines need not be of the month asked: one that is not is refused
)
