"""The fill transform: a `00` push item → one exact executions row, None for an order event that is no fill, and a
refusal naming the FID for a value off the contract."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from etl.errors import TransformError
from etl.normalize.executions import COLUMNS, execution_of
from tests.support.answers import FILL_DAY as DAY
from tests.support.answers import FILL_RECEIVED as RECEIVED
from tests.support.answers import fill_push as push


def read(item: Any) -> dict[str, Any]:
    found = execution_of(item, trade_date=DAY, received_at=RECEIVED)
    assert found is not None
    return dict(found.values)


def test_a_fill_lands_exactly() -> None:
    item = push()
    found = execution_of(item, trade_date=DAY, received_at=RECEIVED)
    assert found is not None
    assert dict(found.values) == {
        "account_no": "8000000011",
        "trade_date": DAY,
        "order_no": "0000123",
        "execution_no": "45678",
        "exchange": "KRX",
        "stock_code": "005930",
        "stock_name": "삼성전자",
        "side": "buy",
        "quantity": 3,
        "price": 60700,
        "commission": 270,
        "tax": 0,
        "executed_at": datetime(2026, 12, 7, 0, 31, 4, tzinfo=UTC),  # 09:31:04 KST
        "received_at": RECEIVED,
    }
    assert tuple(found.values) == COLUMNS
    assert found.key == ("8000000011", DAY, "0000123", "45678")
    assert json.loads(found.message) == item
    assert not any(isinstance(v, float) for v in found.values.values())


@pytest.mark.parametrize("status", ["접수", "확인", "취소", "거부", " 접수 "])
def test_an_order_event_that_is_no_fill_is_none(status: str) -> None:
    # A 접수 carries no fill figures and may name the 통합 route: nothing of it is read.
    item = push(**{"913": status, "909": "", "910": "", "911": "", "2134": "0"})
    assert execution_of(item, trade_date=DAY, received_at=RECEIVED) is None


@pytest.mark.parametrize(
    ("fids", "column", "expected"),
    [
        ({"2134": "2"}, "exchange", "NXT"),
        ({"907": "1"}, "side", "sell"),
        ({"910": "+60700"}, "price", 60700),  # the sign marks direction, as elsewhere
        ({"910": "-60700"}, "price", 60700),
        ({"910": "00060700"}, "price", 60700),
        ({"911": "+3"}, "quantity", 3),
        ({"9001": "005930"}, "stock_code", "005930"),
        ({"9001": "Q500001"}, "stock_code", "Q500001"),  # only an A prefix is dropped
        ({"302": "\u202e삼성<b>전자</b>"}, "stock_name", "\u202e삼성<b>전자</b>"),  # bidi and markup kept as text
        ({"302": "  삼성전자 "}, "stock_name", "삼성전자"),
        ({"302": ""}, "stock_name", None),
        ({"938": ""}, "commission", None),  # empty: not sent
        ({"939": ""}, "tax", None),
        ({"938": "1520"}, "commission", 1520),  # the day's running total, as sent
        ({"908": "235959"}, "executed_at", datetime(2026, 12, 7, 14, 59, 59, tzinfo=UTC)),
        (
            {"908": "000000"},
            "executed_at",
            datetime(2026, 12, 6, 15, 0, tzinfo=UTC),
        ),  # 00:00 KST: UTC the day before
        ({"9203": "1"}, "order_no", "1"),  # kept as sent
    ],
)
def test_each_fid_is_read_as_the_contract_says(fids: dict[str, str], column: str, expected: Any) -> None:
    assert read(push(**fids))[column] == expected


def test_a_fid_missing_reads_as_empty() -> None:
    item = push()
    del item["values"]["938"], item["values"]["302"]
    values = read(item)
    assert values["commission"] is None and values["stock_name"] is None


@pytest.mark.parametrize(
    ("fids", "field"),
    [
        ({"913": ""}, "913"),  # a status not documented: a fill under another name must not vanish
        ({"913": "정정"}, "913"),
        ({"2134": "0"}, "2134"),  # 통합 names a route, not the market the fill was done on
        ({"2134": ""}, "2134"),
        ({"2134": "3"}, "2134"),
        ({"907": "3"}, "907"),
        ({"907": ""}, "907"),
        ({"9201": ""}, "9201"),
        ({"9203": ""}, "9203"),
        ({"9203": "12a"}, "9203"),
        ({"909": ""}, "909"),
        ({"909": "１２３"}, "909"),  # full-width digits are not digits here
        ({"9001": ""}, "9001"),
        ({"9001": "0059\x0030"}, "9001"),
        ({"302": "삼성\x00전자"}, "302"),  # NUL: no SQL text column holds it
        ({"302": "\ud800"}, "302"),
        ({"910": ""}, "910"),
        ({"910": "0"}, "910"),
        ({"910": "60,700"}, "910"),
        ({"910": "60700.5"}, "910"),
        ({"910": "9" * 30}, "910"),
        ({"911": ""}, "911"),
        ({"911": "0"}, "911"),
        ({"911": "-3"}, "911"),
        ({"938": "-1"}, "938"),
        ({"939": "abc"}, "939"),
        ({"908": ""}, "908"),
        ({"908": "9:31:04"}, "908"),
        ({"908": "246000"}, "908"),
        ({"908": "093160"}, "908"),
    ],
)
def test_a_value_off_the_contract_is_refused_naming_its_fid(fids: dict[str, str], field: str) -> None:
    with pytest.raises(TransformError) as caught:
        execution_of(push(**fids), trade_date=DAY, received_at=RECEIVED)
    assert caught.value.field == field
    assert caught.value.value == fids[field]
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ("PING", "data"),
        ({**push(), "type": "04"}, "type"),
        ({**push(), "values": None}, "values"),
        ({**push(), "values": ["체결"]}, "values"),
        (push(**{"910": 60700}), "910"),  # a number, not Kiwoom's string
    ],
)
def test_a_push_of_another_shape_is_refused(item: Any, field: str) -> None:
    with pytest.raises(TransformError) as caught:
        execution_of(item, trade_date=DAY, received_at=RECEIVED)
    assert caught.value.field == field


def test_received_at_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        execution_of(push(), trade_date=DAY, received_at=datetime(2026, 12, 7, 9, 31))  # noqa: DTZ001
