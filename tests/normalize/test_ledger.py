"""The ledger transform: kt00015 lines → exact account_transactions values, each classified by the mapping."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.errors import ConfigError, TransformError
from etl.kiwoom.pages import Page, parse_json_object
from etl.normalize.ledger import LEDGER_FIELDS, Classifier, Kind, page_lines, parse_foreign, parse_quantity
from tests.support.answers import SAMPLE_LINE, page

DEFAULT = Classifier()


def one(line: dict[str, Any], classifier: Classifier = DEFAULT) -> dict[str, Any]:
    (read,) = page_lines(page([line]), classifier).lines
    return dict(read.values)


def test_kiwoom_s_sample_line_lands_exactly() -> None:
    values = one(SAMPLE_LINE)
    assert values["settlement_date"] == date(2024, 11, 21)
    assert values["contract_date"] == date(2024, 11, 19)
    assert (values["transaction_no"], values["original_transaction_no"]) == ("000000001", "000000000")
    assert values["kind"] == "sell"
    assert (values["trade_amount"], values["transaction_tax"], values["commission"]) == (56900, 102, 0)
    assert values["settled_amount"] == 56900 - 102 - 0
    assert values["cash_balance"] == 994658290
    assert values["unit_price"] == Decimal("56900") and isinstance(values["unit_price"], Decimal)
    assert values["quantity"] == Decimal(1) and values["securities_balance"] == Decimal(21)
    assert values["fc_trade_amount"] == Decimal("0") and isinstance(values["fc_trade_amount"], Decimal)
    assert values["processed_time"] == time(8, 12, 35)
    assert values["stock_code"] == "005930" and values["isin_code"] == "KR7005930003"
    assert (values["remark"], values["io_type"], values["io_type_name"]) == ("장내매도", "1", "매도")
    assert values["loan_date"] is None and values["uncollected"] is None
    assert values["tax_fee_total"] == 102 and values["history_type"] == "11"
    assert not any(isinstance(v, float) for v in values.values())


def test_every_kt00015_field_has_a_rule_and_the_sample_has_every_field() -> None:
    assert set(SAMPLE_LINE) == set(LEDGER_FIELDS)


@pytest.mark.parametrize(
    ("remark", "io_type_name", "kind"),
    [
        ("장내매도", "매도", Kind.SELL),
        ("장내매수", "매수", Kind.BUY),
        ("이체입금", "입금", Kind.DEPOSIT),
        ("이체출금", "출금", Kind.WITHDRAWAL),
        ("배당금입금", "입금", Kind.DIVIDEND),  # paid in cash, yet a dividend
        ("예탁담보대출입금", "입금", Kind.LOAN),  # a loan, never a deposit
        ("매도담보대출입금", "입금", Kind.LOAN),
        ("신용융자상환", "출금", Kind.LOAN),
        ("대체입고", "입고", Kind.SECURITIES_IN),
        ("타사대체출고", "출고", Kind.SECURITIES_OUT),
        ("예탁금이용료입금(이자)", "입금", Kind.INTEREST),
        ("신용융자이자", "출금", Kind.INTEREST),  # interest on a loan is a cost of the return, not the loan
        ("유관기관수수료", "", Kind.FEE),
        ("제세금", "", Kind.TAX),
        ("", "+매수", Kind.BUY),  # a sign in front, as a fixture shows: matched by keyword
        ("기타정산금", "", Kind.OTHER),
        ("", "", Kind.OTHER),
    ],
)
def test_the_default_mapping(remark: str, io_type_name: str, kind: Kind) -> None:
    assert one(SAMPLE_LINE | {"rmrk_nm": remark, "io_tp_nm": io_type_name})["kind"] == kind


def test_the_user_s_rules_come_before_the_defaults_and_unknown_kinds_are_refused_by_name() -> None:
    classifier = Classifier.with_rules([("기타정산", "fee"), ("배당", "other")])
    assert classifier.classify("기타정산금", None) == Kind.FEE
    assert classifier.classify("배당금입금", "입금") == Kind.OTHER
    assert classifier.classify("이체입금", None) == Kind.DEPOSIT
    with pytest.raises(ConfigError, match="'배당' = 'dividends' is not a kind"):
        Classifier.with_rules([("배당", "dividends")])
    with pytest.raises(ConfigError, match="empty keyword"):
        Classifier.with_rules([(" ", "fee")])


@pytest.mark.parametrize(
    ("field", "value", "column", "expected"),
    [
        ("trde_unit", "1,234,567.5", "unit_price", Decimal("1234567.5")),
        ("trde_unit", "+1385.50", "unit_price", Decimal("1385.5")),
        ("trde_qty_jwa_cnt", "12.345678", "quantity", Decimal("12.345678")),
        ("trde_qty_jwa_cnt", "1,000", "quantity", Decimal(1000)),
        ("trde_qty_jwa_cnt", "", "quantity", None),
        ("fc_trde_amt", "-12.30", "fc_trade_amount", Decimal("-12.3")),
        ("exct_amt", "-00000000005482", "settled_amount", -5482),
        ("proc_tm", "235959", "processed_time", time(23, 59, 59)),
        ("proc_tm", "", "processed_time", None),
        ("trde_no", "17", "transaction_no", "000000017"),
        ("orig_deal_no", "", "original_transaction_no", "000000000"),
        ("stk_cd", "Q530036", "stock_code", "Q530036"),
    ],
)
def test_values_are_read_by_their_rule(field: str, value: str, column: str, expected: object) -> None:
    assert one(SAMPLE_LINE | {field: value})[column] == expected


def test_an_absent_original_number_is_none_and_absent_fields_are_null() -> None:
    line = {k: v for k, v in SAMPLE_LINE.items() if k not in ("orig_deal_no", "cmsn", "proc_tm")}
    values = one(line)
    assert values["original_transaction_no"] == "000000000"
    assert values["commission"] is None and values["processed_time"] is None


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("trde_unit", "56,90", "not a decimal number"),  # commas only where thousands are
        ("trde_unit", "5,6900", "not a decimal number"),
        ("trde_unit", "１２", "not a decimal number"),
        ("trde_qty_jwa_cnt", "0.1234567", "more than 6 decimal places"),
        ("fc_trde_amt", "1.23456", "more than 4 decimal places"),
        ("fc_trde_amt", "123456789012.5", r"too large for NUMERIC\(15,4\)"),
        ("trde_qty_jwa_cnt", "NaN", "not a decimal number"),
        ("exct_amt", "1,000", "not an integer"),
        ("proc_tm", "25:00:00", "not a time of day"),
        ("proc_tm", "8:12", "not an HH:MM:SS time"),
        ("trde_dt", "20241131", "not a calendar date"),
        ("trde_dt", "", "needs its date"),
        ("trde_no", "1234567890", "not a transaction number"),
        ("orig_deal_no", "A1", "not a transaction number"),
        ("cmsn", 0, "expected a JSON string"),
        ("rmrk_nm", "이체\x00입금", "NUL"),
    ],
)
def test_a_value_off_the_contract_is_refused_naming_field_line_and_value(
    field: str, value: object, problem: str
) -> None:
    lines = [SAMPLE_LINE, SAMPLE_LINE | {"trde_no": "000000002", field: value}]
    with pytest.raises(TransformError, match=problem) as caught:
        page_lines(page(lines, page_no=3), Classifier(), first_line=10)
    assert (caught.value.field, caught.value.line, caught.value.page) == (field, 11, 3)
    assert str(caught.value).startswith(f"{field} of ledger line 11 (page 3)")


@pytest.mark.parametrize("lines", [None, "", []])
def test_an_empty_answer_in_any_of_its_forms_has_no_lines(lines: object) -> None:
    assert page_lines(page(lines), Classifier()).lines == ()


def test_a_missing_list_and_the_no_data_answer_have_no_lines() -> None:
    text = '{"return_code": 2000, "return_msg": "[2000](501724:관련자료가없습니다)"}'
    no_data = Page("kt00015", 0, datetime(2026, 12, 2, tzinfo=UTC), 200, text, parse_json_object(text))
    assert page_lines(no_data, Classifier()).lines == ()


def test_a_single_object_instead_of_a_list_is_one_line_and_unknown_fields_are_named() -> None:
    read = page_lines(page(SAMPLE_LINE | {"new_fld": "1"}), Classifier())
    assert len(read.lines) == 1 and read.lines[0].received["new_fld"] == "1"
    assert read.unknown_fields == {"trst_ovrl_trde_prps_array.new_fld"}


def test_a_list_of_something_else_is_refused() -> None:
    with pytest.raises(TransformError, match="expected a list"):
        page_lines(page(7), Classifier())
    with pytest.raises(TransformError, match="expected an object"):
        page_lines(page(["x"]), Classifier())


@given(st.decimals(min_value=Decimal("-999999999"), max_value=Decimal("999999999"), places=4, allow_nan=False))
def test_any_foreign_amount_in_range_reads_back_exactly_with_or_without_commas(value: Decimal) -> None:
    plain = f"{value:f}"
    grouped = f"{value:,f}"
    assert parse_foreign(plain, "fc_trde_amt") == value
    assert parse_foreign(grouped, "trde_unit") == value
    assert parse_quantity(plain, "trde_qty_jwa_cnt") == value
