"""The pure kt00002 transform: one page of daily estimated assets → account_daily_estimates rows.

kt00002 (일별추정예탁자산현황요청) lists one line a day under daly_prsm_dpst_aset_amt_prst; `dt` is the day
(YYYYMMDD) and every other field a KRW-12 amount, read as an int. A line without its day, or a value that does not
match, refuses the page with the field and line named.
"""

from __future__ import annotations

from etl.kiwoom.pages import Page
from etl.normalize.transform import DayLines, day_lines, parse_amount

ESTIMATES_KEY = "daly_prsm_dpst_aset_amt_prst"
_LINES = "estimate"
# kt00002 line field → account_daily_estimates column, in the order of the API page (dt first).
ESTIMATE_FIELDS: dict[str, str] = {
    "entr": "cash",
    "grnt_use_amt": "collateral_loan",
    "crd_loan": "credit_loan",
    "ls_grnt": "short_sale_collateral",
    "repl_amt": "substitute_amount",
    "prsm_dpst_aset_amt": "estimated_assets",
    "prsm_dpst_aset_amt_bncr_skip": "estimated_assets_excluding_funds",
}
_READ = {field: (column, parse_amount) for field, column in ESTIMATE_FIELDS.items()}


def estimate_rows(page: Page, *, account_no: str, first_line: int = 0) -> DayLines:
    """The rows of one kt00002 page, lines numbered on from `first_line` in errors; TransformError when a value
    does not match the contract (nothing of the page is used then)."""
    return day_lines(page, ESTIMATES_KEY, _READ, _LINES, account_no=account_no, first_line=first_line)
