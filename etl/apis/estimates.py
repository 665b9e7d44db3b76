"""kt00002 (일별추정예탁자산현황요청), the daily estimated assets, declared once: a range of days, a line a day under
daly_prsm_dpst_aset_amt_prst with continuation, read by the backfill a calendar month at a time into
account_daily_estimates (described and declared here), where a later answer for a day replaces an earlier one."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnClause

from etl.apis.api import Claim, Rows, RowsApi
from etl.kiwoom.endpoints import Endpoint
from etl.kiwoom.pages import Page
from etl.normalize.estimates import ESTIMATES_KEY, estimate_rows
from etl.store.daily import key_columns, key_docs
from etl.store.dictionary import DATE, DATE_TYPE, Counted, Relation, amount
from etl.store.dictionary import Column as Described  # a documented column, beside SQLAlchemy's Column
from etl.store.estimates import store_estimates
from etl.store.models import Base, DailyReturn

ACCOUNT_DAILY_ESTIMATES = Relation(
    "account_daily_estimates",
    "일별추정예탁자산",
    "One row per account × day (the primary key) of kt00002's daily estimated assets, loaded by `kiwoom-etl"
    " backfill`: the values of the days before the first snapshot (a later answer for a day replaces an earlier"
    " one).",
    (
        *key_docs(
            Described("trade_date", DATE_TYPE, "dt", "일자", DATE, "The day the line estimates."),
            run="The kt00002 run that loaded it.",
            arrived="When its page arrived.",
        ),
        amount("cash", "entr", "예수금", "Cash deposit on the day."),
        amount("collateral_loan", "grnt_use_amt", "담보대출금", "Loans against securities on the day."),
        amount("credit_loan", "crd_loan", "신용융자금", "Credit (margin) loans on the day."),
        amount("short_sale_collateral", "ls_grnt", "대주담보금", "Collateral of stock loans on the day."),
        amount("substitute_amount", "repl_amt", "대용금", "Collateral value of the securities held."),
        amount("estimated_assets", "prsm_dpst_aset_amt", "추정예탁자산", "Kiwoom's estimate of the assets on deposit."),
        amount(
            "estimated_assets_excluding_funds",
            "prsm_dpst_aset_amt_bncr_skip",
            "추정예탁자산수익증권제외",
            "The same without beneficiary certificates (funds).",
        ),
    ),
)


class AccountDailyEstimate(Base):
    """kt00002's estimate of one account's assets on one day, loaded by backfill; a later answer replaces it."""

    __tablename__ = "account_daily_estimates"
    __relation__ = ACCOUNT_DAILY_ESTIMATES

    account_no, trade_date, run_id, captured_at = key_columns()
    cash: ColumnClause[int] = Column(BigInteger)
    collateral_loan: ColumnClause[int] = Column(BigInteger)
    credit_loan: ColumnClause[int] = Column(BigInteger)
    short_sale_collateral: ColumnClause[int] = Column(BigInteger)
    substitute_amount: ColumnClause[int] = Column(BigInteger)
    estimated_assets: ColumnClause[int] = Column(BigInteger)
    estimated_assets_excluding_funds: ColumnClause[int] = Column(BigInteger)


def _body(start: date, end: date) -> dict[str, Any]:
    return {"start_dt": f"{start:%Y%m%d}", "end_dt": f"{end:%Y%m%d}"}


def _read(page: Page, account_no: str, first_line: int) -> Rows:
    read = estimate_rows(page, account_no=account_no, first_line=first_line)
    return Rows(read.rows, read.unknown_fields)


ESTIMATES = RowsApi(
    # Not on the mock server (8104), nor for a company's account (8200).
    endpoint=Endpoint("kt00002", body=_body, list_key=ESTIMATES_KEY, no_data_is_empty=True),
    what="estimates",
    fetched="daily estimates, by backfill",
    counted=Counted("estimated days", "received"),
    claim=Claim.RANGE,
    table=AccountDailyEstimate.__table__,
    also_writes=(DailyReturn.__table__,),  # daily_returns: an estimate values a KRX day
    read=_read,
    store=store_estimates,
)
