"""The instrument transform: the market is the list that held the code, ka10100's marketCode maps only what is
known (OTHER otherwise, reported as a guess), and values off the contract are refused with their field named."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from etl.errors import TransformError
from etl.kiwoom.pages import Page, parse_json_object
from etl.normalize.instruments import list_rows, single_row

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ROW = {
    "code": "005930",
    "name": "삼성전자",
    "listCount": "0000000026034239",
    "auditInfo": "정상",
    "regDay": "19750611",
    "lastPrice": "00136000",
    "state": "증거금20%|담보대출|신용가능",
    "marketCode": "0",
    "marketName": "거래소",
    "upName": "전기전자",
    "upSizeName": "대형주",
    "companyClassName": "",
    "orderWarning": "0",
    "nxtEnable": "Y",
}


def page_of(body: dict[str, Any], api_id: str = "ka10099") -> Page:
    text = json.dumps(body, ensure_ascii=False)
    return Page(api_id, 0, NOW, 200, text, parse_json_object(text))


@pytest.mark.parametrize(("asked", "market"), [("0", "KOSPI"), ("10", "KOSDAQ"), ("8", "ETF"), ("70", "ETN")])
def test_the_list_asked_decides_the_market_not_the_row(asked: str, market: str) -> None:
    (row,) = list_rows(page_of({"list": [ROW]}), asked=asked).rows
    assert row == {
        "stock_code": "005930",
        "name": "삼성전자",
        "market": market,
        "market_name": "거래소",
        "sector": "전기전자",
        "listed_on": date(1975, 6, 11),
        "updated_at": NOW,
    }


def test_a_list_kiwoom_etl_does_not_read_is_refused() -> None:
    with pytest.raises(TransformError, match="mrkt_tp"):
        list_rows(page_of({"list": [ROW]}), asked="30")


@pytest.mark.parametrize(("code", "market"), [("0", "KOSPI"), ("10", "KOSDAQ"), ("8", "OTHER"), ("30", "OTHER")])
def test_a_single_code_takes_its_market_code_and_a_guess_is_reported(code: str, market: str) -> None:
    read = single_row(page_of({**ROW, "marketCode": code, "return_code": 0}, "ka10100"), asked="005930")
    assert read.rows[0]["market"] == market
    assert read.guessed == ({"005930": code} if market == "OTHER" else {})
    assert read.unknown_fields == frozenset()


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("code", "", "needs its code"),
        ("name", " ", "needs its name"),
        ("regDay", "1975-06-11", "YYYYMMDD"),
        # A code of another shape: it would be joined to the positions' and asked of ka10081 and ka10100 as it is.
        *(
            ("code", code, "not a KRX code")
            for code in ("05930", "0059301", "0001a0", "00 593", "００５９３０", "<b>1</b>", "=1+1", "05930\u202e")
        ),
    ],
)
def test_a_value_off_the_contract_refuses_the_page_naming_its_field(field: str, value: str, why: str) -> None:
    with pytest.raises(TransformError) as caught:
        list_rows(page_of({"list": [ROW, {**ROW, field: value}]}), asked="0")
    assert caught.value.field == field and why in str(caught.value) and "instrument line 1" in str(caught.value)


def test_an_answer_for_another_code_than_asked_is_refused() -> None:
    with pytest.raises(TransformError, match="asked for 000660"):
        single_row(page_of(ROW, "ka10100"), asked="000660")
