"""The chart transforms: Kiwoom's samples read exactly, ×100 index levels as exact Decimals, direction signs dropped,
and values off the contract refused with their field named."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from etl.errors import TransformError
from etl.kiwoom.pages import Page, parse_json_object
from etl.normalize.charts import INDEX_KEY, STOCK_KEY, index_rows, oldest_day, stock_rows

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)

# Kiwoom's own samples (the API pages), their first line.
INDEX_SAMPLE = {
    "inds_cd": "001",
    INDEX_KEY: [
        {
            "cur_prc": "252127",
            "trde_qty": "393564",
            "dt": "20250210",
            "open_pric": "251064",
            "high_pric": "252733",
            "low_pric": "249918",
            "trde_prica": "10582466",
        }
    ],
    "return_code": 0,
    "return_msg": "정상적으로 처리되었습니다",
}
STOCK_SAMPLE = {
    "stk_cd": "005930",
    STOCK_KEY: [
        {
            "cur_prc": "70100",
            "trde_qty": "9263135",
            "trde_prica": "648525",
            "dt": "20250908",
            "open_pric": "69800",
            "high_pric": "70500",
            "low_pric": "69600",
            "pred_pre": "+600",
            "pred_pre_sig": "2",
            "trde_tern_rt": "+0.16",
        }
    ],
    "return_code": 0,
    "return_msg": "정상적으로 처리되었습니다",
}


def page_of(body: dict[str, Any], api_id: str = "ka20006") -> Page:
    text = json.dumps(body, ensure_ascii=False)
    return Page(api_id, 0, NOW, 200, text, parse_json_object(text))


def test_an_index_sample_reads_as_exact_points_and_its_value_in_won() -> None:
    (row,) = index_rows(page_of(INDEX_SAMPLE), asked="001").rows
    assert row == {
        "index_code": "001",
        "trade_date": date(2025, 2, 10),
        "captured_at": NOW,
        "open": Decimal("2510.64"),
        "high": Decimal("2527.33"),
        "low": Decimal("2499.18"),
        "close": Decimal("2521.27"),
        "volume": 393564,
        "trading_value": 10582466 * 1_000_000,
    }
    assert str(row["close"]) == "2521.27"


def test_a_direction_sign_is_dropped_from_levels_and_prices() -> None:
    body = json.loads(json.dumps(INDEX_SAMPLE))
    body[INDEX_KEY][0] |= {"cur_prc": "-252127", "open_pric": "+251064"}
    (row,) = index_rows(page_of(body), asked="001").rows
    assert (row["close"], row["open"]) == (Decimal("2521.27"), Decimal("2510.64"))
    stock = json.loads(json.dumps(STOCK_SAMPLE))
    stock[STOCK_KEY][0]["cur_prc"] = "-70100"
    assert stock_rows(page_of(stock, "ka10081"), asked="005930").rows[0]["close"] == 70100


def test_a_stock_sample_reads_in_whole_won_and_its_derived_fields_are_known() -> None:
    read = stock_rows(page_of(STOCK_SAMPLE, "ka10081"), asked="005930")
    (row,) = read.rows
    assert (row["stock_code"], row["open"], row["high"], row["low"], row["close"], row["volume"]) == (
        "005930",
        69800,
        70500,
        69600,
        70100,
        9263135,
    )
    assert read.unknown_fields == frozenset()


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("cur_prc", "2521.27", "not an integer"),  # a decimal: not the ×100 contract
        ("cur_prc", "", "a bar needs its close"),
        ("cur_prc", "0", "a close must be above 0"),
        ("cur_prc", "-0", "a close must be above 0"),
        ("dt", "2025-02-10", "not a YYYYMMDD date"),
        ("trde_qty", "1,000", "not an integer"),
        ("high_pric", 252733, "expected a JSON string"),
        ("trde_qty", "-393564", "below 0"),  # a volume has no direction to sign
        ("trde_prica", "-10582466", "below 0"),
        ("trde_prica", "9223372036855", "outside the BIGINT range once in won"),  # × 1,000,000 > 2⁶³ − 1
        # 10,000,000,000.00 points: eleven digits before the point, one more than index_daily's NUMERIC(12,2) holds
        ("cur_prc", "1000000000000", "too large for NUMERIC(12,2)"),
        ("low_pric", "-99999999999999999", "too large for NUMERIC(12,2)"),
        ("dt", "20261121", "after 2026-11-20, the day the page arrived"),  # tomorrow in Seoul: no bar yet
        ("dt", "20250211", "a day an earlier line of the page lists"),  # which would stand is no one's guess
    ],
)
def test_a_value_off_the_contract_refuses_the_page_naming_its_field(field: str, value: object, why: str) -> None:
    body = json.loads(json.dumps(INDEX_SAMPLE))
    body[INDEX_KEY].insert(0, {**body[INDEX_KEY][0], "dt": "20250211"})
    body[INDEX_KEY][1][field] = value
    with pytest.raises(TransformError) as caught:
        index_rows(page_of(body), asked="001", first_line=20)
    assert caught.value.field == field and why in str(caught.value) and "bar line 21" in str(caught.value)


def test_a_page_for_another_code_than_asked_is_refused() -> None:
    with pytest.raises(TransformError) as caught:
        stock_rows(page_of(STOCK_SAMPLE, "ka10081"), asked="000660")
    assert caught.value.field == "stk_cd" and "asked for 000660" in str(caught.value)


def test_the_oldest_day_of_a_page_is_read_even_from_a_page_the_transform_refuses() -> None:
    body = json.loads(json.dumps(INDEX_SAMPLE))
    body[INDEX_KEY].append({"dt": "20250207", "cur_prc": "bad"})
    assert oldest_day(page_of(body), INDEX_KEY) == date(2025, 2, 7)
    assert oldest_day(page_of({"return_code": 0}), INDEX_KEY) is None
