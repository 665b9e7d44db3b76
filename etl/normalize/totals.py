"""The pure kt00017 transform: one answer → one account_day_totals row.

kt00017 (계좌별당일현황요청) has no date input and one flat record: today's totals. Every field is a KRW-12 amount
(zero-padded, signed), read as an int; an absent or empty field is NULL; a value that does not match is refused with
its field named, and nothing of the answer is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from etl.errors import TransformError
from etl.kiwoom.pages import Page
from etl.normalize.transform import ENVELOPE_FIELDS, parse_amount, trade_date_of

# kt00017 body field → account_day_totals column, in the order of the API page.
TOTALS_FIELDS: dict[str, str] = {
    "d2_entra": "cash_d2",
    "crd_int_npay_gold": "unpaid_credit_interest",
    "etc_loana": "other_loan_amount",
    "gnrl_stk_evlt_amt_d2": "stock_evaluation_d2",
    "dpst_grnt_use_amt_d2": "deposit_collateral_loan_d2",
    "crd_stk_evlt_amt_d2": "collateral_stock_evaluation_d2",
    "crd_loan_d2": "credit_loan_d2",
    "crd_loan_evlta_d2": "credit_loan_evaluation_d2",
    "crd_ls_grnt_d2": "short_sale_collateral_d2",
    "crd_ls_evlta_d2": "short_sale_evaluation_d2",
    "ina_amt": "deposits",
    "outa": "withdrawals",
    "inq_amt": "securities_in_amount",
    "outq_amt": "securities_out_amount",
    "sell_amt": "sell_amount",
    "buy_amt": "buy_amount",
    "cmsn": "commission",
    "tax": "tax",
    "stk_pur_cptal_loan_amt": "stock_purchase_loan",
    "rp_evlt_amt": "rp_evaluation",
    "bd_evlt_amt": "bond_evaluation",
    "elsevlt_amt": "els_evaluation",
    "crd_int_amt": "credit_interest",
    "sel_prica_grnt_loan_int_amt_amt": "sale_collateral_loan_interest",
    "dvida_amt": "dividends",
}


@dataclass(frozen=True)
class DayTotals:
    """The account_day_totals row of one answer, and the field names the contract does not know."""

    row: dict[str, Any]
    unknown_fields: frozenset[str]


def day_totals(page: Page, *, account_no: str, captured_at: datetime) -> DayTotals:
    """The row of one kt00017 page, dated by the KST day of `captured_at`; TransformError when a value does not
    match the contract."""
    if captured_at.tzinfo is None:
        raise ValueError("captured_at must be timezone-aware")
    body = page.data
    if body is None:
        raise TransformError("the page is not a JSON object", field="body", value=page.text[:80])
    row: dict[str, Any] = {
        "account_no": account_no,
        "trade_date": trade_date_of(captured_at),
        "captured_at": captured_at.astimezone(UTC),
    }
    for field, column in TOTALS_FIELDS.items():
        value = body.get(field)
        row[column] = None if value is None else parse_amount(value, field)
    return DayTotals(row, frozenset(body.keys() - TOTALS_FIELDS.keys() - ENVELOPE_FIELDS))
