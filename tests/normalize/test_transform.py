"""The pure transform, table by table: every rule of kt00005-schema.md."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from etl.errors import TransformError
from etl.normalize.transform import (
    parse_amount,
    parse_date,
    parse_price,
    parse_rate,
    parse_stock_code,
    parse_text,
    transform,
)
from tests.support.answers import SEED_EXAMPLE

CAPTURED = datetime(2026, 11, 23, 15, 30, 5, tzinfo=UTC)  # 00:30:05 on the 24th in Seoul


def run(*bodies: dict[str, Any], **kw: Any) -> Any:
    return transform(
        list(bodies),
        account_no=kw.pop("account_no", "5012345678"),
        exchange="KRX",
        captured_at=kw.pop("captured_at", CAPTURED),
        **kw,
    )


def test_seed_example_account_row_exactly() -> None:
    account = run(SEED_EXAMPLE).account
    assert account == {
        "account_no": "5012345678",
        "exchange": "KRX",
        "captured_at": CAPTURED,
        "scheduled_for": None,
        "trade_date": date(2026, 11, 24),
        "deposit": 17534,
        "deposit_d1": 17450,
        "deposit_d2": 12550,
        "withdrawable_amount": 85341,
        "unsettled_secured_amount": 0,
        "substitute_amount": 3915500,
        "rights_substitute_amount": 0,
        "orderable_cash": 85341,
        "cash_outstanding": 0,
        "unpaid_credit_interest": 0,
        "other_loan_amount": 0,
        "unrepaid_loan_amount": 0,
        "margin_cash": 32193,
        "margin_substitute": 0,
        "total_purchase_amount": 6122786,
        "total_evaluation_amount": 6236342,
        "total_profit_loss": 113556,
        "total_profit_loss_rate": Decimal("1.8546"),
        "total_rebuy_available": 135970,
        "orderable_amount_20pct": 12550,
        "orderable_amount_30pct": 12550,
        "orderable_amount_40pct": 12550,
        "orderable_amount_50pct": 12550,
        "orderable_amount_60pct": 12550,
        "orderable_amount_100pct": 12550,
        "credit_loan_total": 0,
        "credit_loan_short_total": 0,
        "credit_collateral_ratio": Decimal("0"),
        "deposit_collateral_loan_amount": 0,
        "sale_collateral_loan_amount": 0,
        "position_count": 1,
    }


def test_seed_example_position_row_exactly() -> None:
    snapshot = run(SEED_EXAMPLE)
    assert snapshot.positions == (
        {
            "line_no": 0,
            "account_no": "5012345678",
            "exchange": "KRX",
            "captured_at": CAPTURED,
            "trade_date": date(2026, 11, 24),
            "credit_type": "00",
            "loan_date": None,
            "expiry_date": None,
            "stock_code": "005930",
            "stock_name": "삼성전자",
            "settlement_quantity": 3,
            "quantity": 3,
            "current_price": 70000,
            "purchase_price": 124500,
            "purchase_amount": 373500,
            "evaluation_amount": 209542,
            "profit_loss": -163958,
            "profit_loss_rate": Decimal("-43.8977"),
        },
    )
    assert snapshot.unknown_fields == frozenset()


def test_no_value_is_a_float() -> None:
    snapshot = run(SEED_EXAMPLE)
    values = list(snapshot.account.values()) + [v for row in snapshot.positions for v in row.values()]
    assert not any(isinstance(v, float) for v in values)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("000000017534", 17534),
        ("-00000163958", -163958),
        ("+00000012345", 12345),
        ("  000000000042 ", 42),
        ("000000000000", 0),
        ("-000000000000", 0),
        ("", None),
        ("   ", None),
        ("9223372036854775807", 2**63 - 1),
        ("-9223372036854775808", -(2**63)),
    ],
)
def test_amounts(raw: str, expected: int | None) -> None:
    assert parse_amount(raw, "entr") == expected


@pytest.mark.parametrize(
    "raw",
    [
        "00000001753X",
        "1e5",
        "NaN",
        "１２３",
        "1,000",
        "12.5",
        "--1",
        "+",
        "0x10",
        "1 000",
        "٣",
        "9223372036854775808",
        "-9223372036854775809",
    ],
)
def test_unreadable_amounts_are_refused_with_field_and_value(raw: str) -> None:
    with pytest.raises(TransformError) as caught:
        parse_amount(raw, "evlt_amt", 4)
    assert caught.value.field == "evlt_amt" and caught.value.value == raw and caught.value.line == 4
    assert str(caught.value).startswith("evlt_amt of position line 4: ") and repr(raw) in str(caught.value)


@pytest.mark.parametrize("raw", [17534, None, 1.5, [], {}, True])
def test_values_that_are_not_strings_are_refused(raw: object) -> None:
    with pytest.raises(TransformError, match="expected a JSON string"):
        parse_amount(raw, "entr")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.8546", Decimal("1.8546")),
        ("-43.8977", Decimal("-43.8977")),
        ("0.00", Decimal("0")),
        ("+12", Decimal("12")),
        ("1.85460", Decimal("1.8546")),
        ("99999999.9999", Decimal("99999999.9999")),
        ("-99999999.9999", Decimal("-99999999.9999")),
        ("", None),
    ],
)
def test_rates(raw: str, expected: Decimal | None) -> None:
    value = parse_rate(raw, "pl_rt")
    assert value == expected
    if value is not None:
        assert value.as_tuple().exponent == -4  # as NUMERIC(12,4) gives it back


@pytest.mark.parametrize(
    "raw", ["NaN", "1e5", "１２", "1.", ".5", "1.2.3", "Infinity", "1,5", "1.85461", "100000000", "-100000000.0"]
)
def test_unreadable_rates_are_refused(raw: str) -> None:
    with pytest.raises(TransformError) as caught:
        parse_rate(raw, "tot_pl_rt")
    assert caught.value.field == "tot_pl_rt" and caught.value.value == raw


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("20261015", date(2026, 10, 15)), ("", None), ("00000000", None), (" 20240229 ", date(2024, 2, 29))],
)
def test_dates(raw: str, expected: date | None) -> None:
    assert parse_date(raw, "loan_dt") == expected


@pytest.mark.parametrize("raw", ["20261315", "20230229", "2026-10-15", "2026101", "２０２６１０１５", "0"])
def test_unreadable_dates_are_refused(raw: str) -> None:
    with pytest.raises(TransformError, match="loan_dt"):
        parse_date(raw, "loan_dt")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("A005930", "005930"),
        ("A0001A0", "0001A0"),
        ("005930", "005930"),
        ("0001A0", "0001A0"),
        ("A00593", "A00593"),
        ("B005930", "B005930"),
        (" A005930 ", "005930"),
        ("A12345678", "A12345678"),
    ],
)
def test_stock_codes(raw: str, expected: str) -> None:
    assert parse_stock_code(raw, "stk_cd") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("삼성전자  ", "삼성전자"), ("  O'Neil; DROP TABLE x", "O'Neil; DROP TABLE x"), ("00", "00"), ("", "")],
)
def test_text_is_stripped_only(raw: str, expected: str) -> None:
    assert parse_text(raw, "stk_nm") == expected


def test_a_signed_price_keeps_its_magnitude() -> None:
    assert parse_price("-00000070000", "cur_prc") == 70000
    assert parse_price("+00000070000", "cur_prc") == 70000


def test_missing_fields_are_null_and_unknown_fields_are_reported() -> None:
    body = {"entr": "000000000100", "new_fld": "1", "stk_cntr_remn": [{"stk_cd": "A005930", "extra": "x"}]}
    snapshot = run(body)
    assert snapshot.account["deposit"] == 100
    assert snapshot.account["deposit_d1"] is None and snapshot.account["total_profit_loss_rate"] is None
    assert snapshot.positions[0]["stock_code"] == "005930" and snapshot.positions[0]["quantity"] is None
    assert snapshot.unknown_fields == {"new_fld", "stk_cntr_remn.extra"}


def test_positions_come_from_every_page_in_order_and_summary_from_the_first() -> None:
    first = dict(SEED_EXAMPLE)
    second = {
        "entr": "000000000001",
        "stk_cntr_remn": [
            {"stk_cd": "A000660", "crd_tp": "03", "loan_dt": "20261015", "expr_dt": "20270415"},
            {"stk_cd": "A005930", "crd_tp": "03", "loan_dt": "20261016", "expr_dt": "20270416"},
        ],
    }
    third: dict[str, Any] = {"stk_cntr_remn": []}
    snapshot = run(first, second, third)
    assert [p["line_no"] for p in snapshot.positions] == [0, 1, 2]
    assert [p["stock_code"] for p in snapshot.positions] == ["005930", "000660", "005930"]
    assert snapshot.positions[2]["loan_date"] == date(2026, 10, 16)
    assert snapshot.account["deposit"] == 17534
    assert snapshot.account["position_count"] == 3


def test_an_error_on_a_later_page_names_the_line_over_all_pages_and_the_page() -> None:
    second = {"stk_cntr_remn": [{"stk_cd": "A000660", "cur_qty": "00000000001O"}]}
    with pytest.raises(TransformError) as caught:
        run(SEED_EXAMPLE, second)
    assert caught.value.line == 1 and caught.value.field == "cur_qty" and caught.value.page == 1
    assert str(caught.value) == "cur_qty of position line 1 (page 1): not an integer: '00000000001O'"


@pytest.mark.parametrize(
    ("parse", "raw", "problem"),
    [
        (parse_rate, "1" * 40, "too large"),
        (parse_rate, "0." + "1" * 40, "decimal places"),
        (parse_rate, "0." + "0" * 5000 + "1", "decimal places"),
        (parse_amount, "1" * 5000, "BIGINT"),
        (parse_amount, "0" * 5000 + "1", None),
        (parse_text, "삼성\x00전자", "NUL"),
        (parse_stock_code, "A00\x005930", "NUL"),
    ],
)
def test_huge_and_unstorable_values_are_refused_by_name(parse: Any, raw: str, problem: str | None) -> None:
    if problem is None:
        assert parse(raw, "entr") == 1  # leading zeros, however many, are only padding
        return
    with pytest.raises(TransformError, match=problem) as caught:
        parse(raw, "stk_nm")
    assert caught.value.field == "stk_nm"


@pytest.mark.parametrize("lines", ["x", 5, {"a": 1}])
def test_a_position_list_that_is_not_a_list_is_refused(lines: object) -> None:
    with pytest.raises(TransformError, match="stk_cntr_remn"):
        run({"stk_cntr_remn": lines})


def test_trade_date_is_the_seoul_date() -> None:
    before_midnight = datetime(2026, 11, 23, 14, 59, 59, tzinfo=UTC)  # 23:59:59 KST
    assert run(SEED_EXAMPLE, captured_at=before_midnight).account["trade_date"] == date(2026, 11, 23)
    assert run(SEED_EXAMPLE).account["trade_date"] == date(2026, 11, 24)


def test_no_pages_is_an_error() -> None:
    with pytest.raises(TransformError):
        transform([], account_no="1", exchange="KRX", captured_at=CAPTURED)
