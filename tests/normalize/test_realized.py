"""The ka10074 transform: a day's line read exactly (plain integers, a signed profit that may carry two decimals), an
absent field NULL, a single object or no list at all accepted, and a value off the contract refusing the page with
its field and line named."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from etl.errors import TransformError
from etl.kiwoom.pages import Page, parse_json_object
from etl.normalize.realized import realized_rows

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LINE = {
    "dt": "20241128",
    "buy_amt": "158200",
    "sell_amt": "316400",
    "tdy_sel_pl": "59813.04",
    "tdy_trde_cmsn": "500",
    "tdy_trde_tax": "284",
}


def page_of(lines: Any, **top: Any) -> Page:
    text = json.dumps({"dt_rlzt_pl": lines, **top, "return_code": 0, "return_msg": "OK"}, ensure_ascii=False)
    return Page("ka10074", 0, NOW, 200, text, parse_json_object(text))


def test_a_day_reads_exactly_and_the_profit_keeps_its_decimals() -> None:
    loss = LINE | {"dt": "20241129", "tdy_sel_pl": "-1200", "tdy_trde_tax": ""}
    read = realized_rows(page_of([LINE, loss], tot_sell_amt="316400"), account_no="acct")
    assert read.rows == (
        {
            "account_no": "acct",
            "trade_date": date(2024, 11, 28),
            "captured_at": NOW,
            "buy_amount": 158200,
            "sell_amount": 316400,
            "realized_pnl": Decimal("59813.04"),
            "commission": 500,
            "tax": 284,
        },
        {
            "account_no": "acct",
            "trade_date": date(2024, 11, 29),
            "captured_at": NOW,
            "buy_amount": 158200,
            "sell_amount": 316400,
            "realized_pnl": Decimal("-1200.00"),
            "commission": 500,
            "tax": None,
        },
    )
    assert read.unknown_fields == frozenset()


def test_a_single_object_an_absent_list_and_unknown_fields() -> None:
    one = realized_rows(page_of({"dt": "20241128", "tdy_sel_pl": "+0.5", "new_fld": "1"}), account_no="a")
    assert [(r["realized_pnl"], r["sell_amount"]) for r in one.rows] == [(Decimal("0.50"), None)]
    assert one.unknown_fields == {"dt_rlzt_pl.new_fld"}
    assert realized_rows(page_of(None), account_no="a").rows == ()


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("tdy_sel_pl", "59813.041", "more than 2 decimal places"),
        ("tdy_sel_pl", "1,000", "not a decimal number"),
        ("tdy_sel_pl", "１２", "not a decimal number"),
        ("tdy_sel_pl", "1" * 14, "too large for NUMERIC(15,2)"),
        ("sell_amt", "316400.5", "not an integer"),
        ("buy_amt", 158200, "expected a JSON string"),
        ("dt", "2024-11-28", "not a YYYYMMDD date"),
        ("dt", "", "a line needs its day"),
        ("dt", "20241128", "a day an earlier line of the page lists"),  # which would stand is no one's guess
        ("dt", "20261121", "after 2026-11-20, the day the page arrived"),  # tomorrow in Seoul
    ],
)
def test_a_value_off_the_contract_refuses_the_page_naming_it(field: str, value: Any, problem: str) -> None:
    with pytest.raises(TransformError) as refused:
        realized_rows(page_of([LINE, LINE | {"dt": "20241129", field: value}]), account_no="a")
    assert (refused.value.field, refused.value.line, refused.value.page) == (field, 1, 0)
    assert problem in str(refused.value) and "realised profit line 1" in str(refused.value)


def test_a_negative_amount_is_kept_as_sent_for_realized_checks_to_hold_against_the_ledger() -> None:
    """The spec says nothing of a sign on ka10074's amounts (a correction might carry one): kept, not guessed."""
    (read,) = realized_rows(page_of([LINE | {"buy_amt": "-158200", "tdy_trde_cmsn": "-500"}]), account_no="a").rows
    assert (read["buy_amount"], read["commission"]) == (-158200, -500)
