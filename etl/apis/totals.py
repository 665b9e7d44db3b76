"""kt00017 (계좌별당일현황요청), the account's totals of today, declared once: no input and one flat record, taken
once a trading day after the close into account_day_totals (described and declared here), where a later taking of the
day replaces an earlier one."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ColumnClause

from etl.apis.api import Claim, Rows, RowsApi, RunsMetric
from etl.kiwoom.endpoints import Endpoint
from etl.kiwoom.pages import Page
from etl.normalize.totals import day_totals
from etl.store.daily import key_columns, key_docs, store_daily
from etl.store.dictionary import ACCOUNT_SNAPSHOTS, TRADE_DATE, Counted, Relation, amount, with_meaning
from etl.store.models import Base

ACCOUNT_DAY_TOTALS = Relation(
    "account_day_totals",
    "계좌별 당일현황",
    "One row per account × trade_date (the primary key): kt00017's totals of the day, taken after the close (the"
    " newest taking of the day replaces an earlier one); ledger_checks holds them against the ledger.",
    (
        *key_docs(
            with_meaning(
                TRADE_DATE, "The Asia/Seoul date of captured_at: kt00017 has no date input and answers for today only."
            ),
            run="The kt00017 run that took them.",
            arrived="When the answer arrived.",
        ),
        amount("cash_d2", "d2_entra", "D+2추정예수금", "Estimated cash after D+2 settlement."),
        # The same fields as kt00005's, meaning the same.
        ACCOUNT_SNAPSHOTS.column("unpaid_credit_interest"),
        ACCOUNT_SNAPSHOTS.column("other_loan_amount"),
        amount("stock_evaluation_d2", "gnrl_stk_evlt_amt_d2", "일반주식평가금액D+2", "Value of the stocks held (D+2)."),
        amount(
            "deposit_collateral_loan_d2",
            "dpst_grnt_use_amt_d2",
            "예탁담보대출금D+2",
            "Loans against deposited securities (D+2).",
        ),
        amount(
            "collateral_stock_evaluation_d2",
            "crd_stk_evlt_amt_d2",
            "예탁담보주식평가금액D+2",
            "Value of the securities pledged for those loans (D+2).",
        ),
        amount("credit_loan_d2", "crd_loan_d2", "신용융자금D+2", "Credit (margin) loans outstanding (D+2)."),
        amount(
            "credit_loan_evaluation_d2",
            "crd_loan_evlta_d2",
            "신용융자평가금D+2",
            "Value of the stocks bought on credit.",
        ),
        amount("short_sale_collateral_d2", "crd_ls_grnt_d2", "신용대주담보금D+2", "Collateral of stock loans (D+2)."),
        amount("short_sale_evaluation_d2", "crd_ls_evlta_d2", "신용대주평가금D+2", "Value of the stocks lent (D+2)."),
        amount("deposits", "ina_amt", "입금금액", "Cash deposited today."),
        amount("withdrawals", "outa", "출금금액", "Cash withdrawn today."),
        amount("securities_in_amount", "inq_amt", "입고금액", "Securities transferred in today, valued by Kiwoom."),
        amount("securities_out_amount", "outq_amt", "출고금액", "Securities transferred out today, valued by Kiwoom."),
        amount("sell_amount", "sell_amt", "매도금액", "Amount sold."),
        amount("buy_amount", "buy_amt", "매수금액", "Amount bought."),
        amount("commission", "cmsn", "수수료", "Commissions charged today."),
        amount("tax", "tax", "세금", "Taxes charged today."),
        amount("stock_purchase_loan", "stk_pur_cptal_loan_amt", "주식매입자금대출금", "Stock purchase loans."),
        amount("rp_evaluation", "rp_evlt_amt", "RP평가금액", "Value of the repurchase agreements held."),
        amount("bond_evaluation", "bd_evlt_amt", "채권평가금액", "Value of the bonds held."),
        amount("els_evaluation", "elsevlt_amt", "ELS평가금액", "Value of the equity-linked securities held."),
        amount("credit_interest", "crd_int_amt", "신용이자금액", "Credit interest."),
        amount(
            "sale_collateral_loan_interest",
            "sel_prica_grnt_loan_int_amt_amt",
            "매도대금담보대출이자금액",
            "Interest on loans against sale proceeds.",
        ),
        amount("dividends", "dvida_amt", "배당금액", "Dividends paid today."),
    ),
)


class AccountDayTotals(Base):
    """kt00017's totals of one account's day, taken after the close; a later taking of the day replaces it."""

    __tablename__ = "account_day_totals"
    __relation__ = ACCOUNT_DAY_TOTALS

    account_no, trade_date, run_id, captured_at = key_columns()
    cash_d2: ColumnClause[int] = Column(BigInteger)
    unpaid_credit_interest: ColumnClause[int] = Column(BigInteger)
    other_loan_amount: ColumnClause[int] = Column(BigInteger)
    stock_evaluation_d2: ColumnClause[int] = Column(BigInteger)
    deposit_collateral_loan_d2: ColumnClause[int] = Column(BigInteger)
    collateral_stock_evaluation_d2: ColumnClause[int] = Column(BigInteger)
    credit_loan_d2: ColumnClause[int] = Column(BigInteger)
    credit_loan_evaluation_d2: ColumnClause[int] = Column(BigInteger)
    short_sale_collateral_d2: ColumnClause[int] = Column(BigInteger)
    short_sale_evaluation_d2: ColumnClause[int] = Column(BigInteger)
    deposits: ColumnClause[int] = Column(BigInteger)
    withdrawals: ColumnClause[int] = Column(BigInteger)
    securities_in_amount: ColumnClause[int] = Column(BigInteger)
    securities_out_amount: ColumnClause[int] = Column(BigInteger)
    sell_amount: ColumnClause[int] = Column(BigInteger)
    buy_amount: ColumnClause[int] = Column(BigInteger)
    commission: ColumnClause[int] = Column(BigInteger)
    tax: ColumnClause[int] = Column(BigInteger)
    stock_purchase_loan: ColumnClause[int] = Column(BigInteger)
    rp_evaluation: ColumnClause[int] = Column(BigInteger)
    bond_evaluation: ColumnClause[int] = Column(BigInteger)
    els_evaluation: ColumnClause[int] = Column(BigInteger)
    credit_interest: ColumnClause[int] = Column(BigInteger)
    sale_collateral_loan_interest: ColumnClause[int] = Column(BigInteger)
    dividends: ColumnClause[int] = Column(BigInteger)


def _read(page: Page, account_no: str, first_line: int) -> Rows:
    # The answer is today's: its day is the KST day it was received on.
    totals = day_totals(page, account_no=account_no, captured_at=page.received_at)
    return Rows((totals.row,), totals.unknown_fields)


DAY_TOTALS = RowsApi(
    endpoint=Endpoint("kt00017"),
    what="day totals",
    fetched="the day's totals",
    counted=Counted("1"),  # its one record
    claim=Claim.DAY,
    table=AccountDayTotals.__table__,
    runs_metric=RunsMetric("day_totals", "Day totals"),
    read=_read,
    store=store_daily,
)
