"""The pure kt00002 transform: one page of daily estimated assets → account_daily_estimates rows.

kt00002 (일별추정예탁자산현황요청) lists one line a day under daly_prsm_dpst_aset_amt_prst; `dt` is the day
(YYYYMMDD) and every other field a KRW-12 amount, read as an int. A line without its day, or a value that does not
match, refuses the page with the field and line named.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import Any

from etl.errors import TransformError
from etl.kiwoom.pages import Page
from etl.normalize.transform import listed, parse_amount, parse_date

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


@dataclass(frozen=True)
class EstimatesPage:
    """The rows of one kt00002 page and the field names the contract does not know (kept in the raw page)."""

    rows: tuple[dict[str, Any], ...]
    unknown_fields: frozenset[str]


def estimate_rows(page: Page, *, account_no: str, first_line: int = 0) -> EstimatesPage:
    """The rows of one kt00002 page, lines numbered on from `first_line` in errors; TransformError when a value
    does not match the contract (nothing of the page is used then)."""
    if page.data is None:
        raise TransformError("the page is not a JSON object", field="body", value=page.text[:80], page=page.page_no)
    items = listed(page.data, ESTIMATES_KEY, page.page_no)
    captured_at = page.received_at.astimezone(UTC)
    rows = []
    unknown: set[str] = set()
    for number, item in enumerate(items, start=first_line):
        if not isinstance(item, dict):
            raise TransformError("expected an object", field=ESTIMATES_KEY, value=item, line=number, lines=_LINES)
        unknown.update(f"{ESTIMATES_KEY}.{name}" for name in item.keys() - ESTIMATE_FIELDS.keys() - {"dt"})
        try:
            day = parse_date(item.get("dt", ""), "dt", number)
            if day is None:
                raise TransformError("a line needs its day", field="dt", value=item.get("dt"), line=number)
            row: dict[str, Any] = {"account_no": account_no, "trade_date": day, "captured_at": captured_at}
            for field, column in ESTIMATE_FIELDS.items():
                value = item.get(field)
                row[column] = None if value is None else parse_amount(value, field, number)
        except TransformError as exc:
            exc.lines, exc.page = _LINES, page.page_no
            raise
        rows.append(row)
    return EstimatesPage(tuple(rows), frozenset(unknown))
