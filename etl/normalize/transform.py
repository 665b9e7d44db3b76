"""The pure transform: the pages of one kt00005 answer → one account row and its position rows.

Every rule is in the data dictionary (docs/data-dictionary.md). No I/O, no clock, no float: the capture time is
passed in, amounts become int, rates Decimal, dates date. A value that does not match is refused with its field,
line and value named, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from operator import itemgetter
from typing import Any

from etl.clock import KST
from etl.errors import TransformError
from etl.kiwoom.pages import Page

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
RATE_SCALE = 4
RATE_PRECISION = 12
_RATE_QUANTUM = Decimal(1).scaleb(-RATE_SCALE)

# [0-9] rather than \d: \d also matches full-width and other Unicode digits.
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{8}")
# A UTF-16 surrogate left alone by a JSON escape ("\ud800"): UTF-8, and so no SQL text column, can hold it.
_SURROGATE = re.compile("[\ud800-\udfff]")
# A rate as Kiwoom usually writes it: the four places NUMERIC(12,4) keeps, and at most eight digits before them.
_FOUR_PLACES = re.compile(r"[+-]?[0-9]{1,8}\.[0-9]{4}")


def _text_of(value: Any, field: str, line: int | None) -> str:
    if not isinstance(value, str):
        raise TransformError("expected a JSON string", field=field, value=value, line=line)
    if "\x00" in value:
        raise TransformError(
            "contains a NUL character, which no SQL text column holds", field=field, value=value, line=line
        )
    if _SURROGATE.search(value):
        raise TransformError(
            "contains a lone UTF-16 surrogate, which no SQL text column holds", field=field, value=value, line=line
        )
    return value.strip(" ")


def parse_count(value: Any, field: str, line: int | None = None) -> int | None:
    """A count or a sum that cannot be below 0 (a volume, a value traded): an amount, refused when negative."""
    number = parse_amount(value, field, line)
    if number is not None and number < 0:
        raise TransformError("below 0, which a volume or a value traded cannot be", field=field, value=value, line=line)
    return number


def day_of_line(item: Mapping[str, Any], received_at: datetime, seen: set[date], line: int, what: str = "line") -> date:
    """The `dt` of one line of a page of days (a chart's bars, kt00002's and ka10074's days): refused when it is
    missing, after the Seoul day the page arrived (no answer can hold a day to come) or a day an earlier line of the
    page listed (which of the two would stand is no one's guess); `seen` collects the page's days."""
    day = parse_date(item.get("dt", ""), "dt", line)
    if day is None:
        raise TransformError(f"a {what} needs its day", field="dt", value=item.get("dt"), line=line)
    if day > trade_date_of(received_at):
        raise TransformError(
            f"after {trade_date_of(received_at)}, the day the page arrived", field="dt", value=item.get("dt"), line=line
        )
    if day in seen:
        raise TransformError("a day an earlier line of the page lists", field="dt", value=item.get("dt"), line=line)
    seen.add(day)
    return day


def listed(data: Mapping[str, Any], key: str, page_no: int) -> list[Any]:
    """The list `key` of a page's body; TransformError when it is something else."""
    found = data.get(key)
    # A list may be missing, null or a single object instead of a one-item list (seen in real answers).
    items = [] if found in (None, "") else [found] if isinstance(found, dict) else found
    if not isinstance(items, list):
        raise TransformError("expected a list", field=key, value=found, page=page_no)
    return items


def parse_amount(value: Any, field: str, line: int | None = None) -> int | None:
    """A zero-padded signed integer string ("-00000163958") → int; "" → None."""
    # The usual shape, ASCII digits with at most a sign and too short to leave BIGINT, is read in one step; the
    # rest (spaces, "", too long, refused) takes the rules below. ASCII makes isdigit() mean [0-9] exactly.
    if value.__class__ is str and len(value) <= 18 and value.isascii():
        if value.isdigit() or (value[1:].isdigit() and value[0] in "+-"):
            return int(value)
    text = _text_of(value, field, line)
    if text == "":
        return None
    if not _INTEGER.fullmatch(text):
        raise TransformError("not an integer", field=field, value=value, line=line)
    # Leading zeros are padding; counted first, because Python refuses to parse thousands of digits.
    digits = text.lstrip("+-").lstrip("0") or "0"
    if len(digits) > 19:
        raise TransformError("outside the BIGINT range", field=field, value=value, line=line)
    number = -int(digits) if text.startswith("-") else int(digits)
    if not BIGINT_MIN <= number <= BIGINT_MAX:
        raise TransformError("outside the BIGINT range", field=field, value=value, line=line)
    return number


def parse_price(value: Any, field: str, line: int | None = None) -> int | None:
    """A price: an amount whose sign, when Kiwoom adds one to mark direction, is dropped."""
    if value.__class__ is str and len(value) <= 18 and value.isascii() and value.isdigit():
        return int(value)
    number = parse_amount(value, field, line)
    return None if number is None else abs(number)


def parse_rate(value: Any, field: str, line: int | None = None) -> Decimal | None:
    """A percent string ("-43.8977") → Decimal with 4 places; "" → None; refused if NUMERIC(12,4) can't hold it."""
    if value.__class__ is str and _FOUR_PLACES.fullmatch(value):
        return Decimal(value)  # already exactly four places, and at most eight before the point
    text = _text_of(value, field, line)
    if text == "":
        return None
    if not _DECIMAL.fullmatch(text):
        raise TransformError("not a decimal number", field=field, value=value, line=line)
    # Digits are counted on the text, so that no Decimal operation can overflow its context.
    integer, _, fraction = text.lstrip("+-").partition(".")
    if len(integer.lstrip("0")) > RATE_PRECISION - RATE_SCALE:
        raise TransformError("too large for NUMERIC(12,4)", field=field, value=value, line=line)
    if len(fraction.rstrip("0")) > RATE_SCALE:
        raise TransformError(
            f"more than {RATE_SCALE} decimal places cannot be stored exactly", field=field, value=value, line=line
        )
    return Decimal(text).quantize(_RATE_QUANTUM)


def parse_date(value: Any, field: str, line: int | None = None) -> date | None:
    """ "YYYYMMDD" → date; "" and "00000000" → None."""
    if value == "":
        return None
    text = _text_of(value, field, line)
    if text in ("", "00000000"):
        return None
    if not _DATE.fullmatch(text):
        raise TransformError("not a YYYYMMDD date", field=field, value=value, line=line)
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise TransformError("not a calendar date", field=field, value=value, line=line) from None


def parse_stock_code(value: Any, field: str, line: int | None = None) -> str:
    """ "A005930" → "005930": a 7-character code starting with A loses the A; anything else is kept."""
    if value.__class__ is str and len(value) == 7 and value[0] == "A" and value.isalnum():
        return value[1:]
    text = _text_of(value, field, line)
    return text[1:] if len(text) == 7 and text.startswith("A") else text


def parse_text(value: Any, field: str, line: int | None = None) -> str:
    """Text with surrounding spaces stripped, otherwise byte for byte."""
    if value.__class__ is str and "\x00" not in value and not _SURROGATE.search(value):
        return value.strip(" ")
    return _text_of(value, field, line)


Parser = Callable[[Any, str, int | None], Any]

# kt00005 body field → (account_snapshots column, parser), in the order of the API page.
ACCOUNT_FIELDS: dict[str, tuple[str, Parser]] = {
    "entr": ("deposit", parse_amount),
    "entr_d1": ("deposit_d1", parse_amount),
    "entr_d2": ("deposit_d2", parse_amount),
    "pymn_alow_amt": ("withdrawable_amount", parse_amount),
    "uncl_stk_amt": ("unsettled_secured_amount", parse_amount),
    "repl_amt": ("substitute_amount", parse_amount),
    "rght_repl_amt": ("rights_substitute_amount", parse_amount),
    "ord_alowa": ("orderable_cash", parse_amount),
    "ch_uncla": ("cash_outstanding", parse_amount),
    "crd_int_npay_gold": ("unpaid_credit_interest", parse_amount),
    "etc_loana": ("other_loan_amount", parse_amount),
    "nrpy_loan": ("unrepaid_loan_amount", parse_amount),
    "profa_ch": ("margin_cash", parse_amount),
    "repl_profa": ("margin_substitute", parse_amount),
    "stk_buy_tot_amt": ("total_purchase_amount", parse_amount),
    "evlt_amt_tot": ("total_evaluation_amount", parse_amount),
    "tot_pl_tot": ("total_profit_loss", parse_amount),
    "tot_pl_rt": ("total_profit_loss_rate", parse_rate),
    "tot_re_buy_alowa": ("total_rebuy_available", parse_amount),
    "20ord_alow_amt": ("orderable_amount_20pct", parse_amount),
    "30ord_alow_amt": ("orderable_amount_30pct", parse_amount),
    "40ord_alow_amt": ("orderable_amount_40pct", parse_amount),
    "50ord_alow_amt": ("orderable_amount_50pct", parse_amount),
    "60ord_alow_amt": ("orderable_amount_60pct", parse_amount),
    "100ord_alow_amt": ("orderable_amount_100pct", parse_amount),
    "crd_loan_tot": ("credit_loan_total", parse_amount),
    "crd_loan_ls_tot": ("credit_loan_short_total", parse_amount),
    "crd_grnt_rt": ("credit_collateral_ratio", parse_rate),
    "dpst_grnt_use_amt_amt": ("deposit_collateral_loan_amount", parse_amount),
    "grnt_loan_amt": ("sale_collateral_loan_amount", parse_amount),
}

# stk_cntr_remn line field → (position_snapshots column, parser).
POSITION_FIELDS: dict[str, tuple[str, Parser]] = {
    "crd_tp": ("credit_type", parse_text),
    "loan_dt": ("loan_date", parse_date),
    "expr_dt": ("expiry_date", parse_date),
    "stk_cd": ("stock_code", parse_stock_code),
    "stk_nm": ("stock_name", parse_text),
    "setl_remn": ("settlement_quantity", parse_amount),
    "cur_qty": ("quantity", parse_amount),
    "cur_prc": ("current_price", parse_price),
    "buy_uv": ("purchase_price", parse_amount),
    "pur_amt": ("purchase_amount", parse_amount),
    "evlt_amt": ("evaluation_amount", parse_amount),
    "evltv_prft": ("profit_loss", parse_amount),
    "pl_rt": ("profit_loss_rate", parse_rate),
}

POSITIONS_KEY = "stk_cntr_remn"
# Present in every answer, but not account data.
ENVELOPE_FIELDS = frozenset({"return_code", "return_msg"})
# What each position row shares with its snapshot's account row, and what is its own, in the order of
# `Snapshot.lines`.
COMMON_COLUMNS = ("account_no", "exchange", "captured_at", "trade_date")
LINE_COLUMNS = ("line_no", *(column for column, _ in POSITION_FIELDS.values()))


@dataclass(frozen=True)
class Snapshot:
    """The rows of one account × exchange snapshot, ready to load, and the fields the contract does not know.

    `lines` holds each position's own values as a tuple in LINE_COLUMNS' order (what the load writes, with the
    account's COMMON_COLUMNS beside them); `positions` is the same rows as dicts of every column.
    """

    account: dict[str, Any]
    lines: tuple[tuple[Any, ...], ...]
    unknown_fields: frozenset[str]

    @cached_property
    def positions(self) -> tuple[dict[str, Any], ...]:
        common = {column: self.account[column] for column in COMMON_COLUMNS}
        return tuple({**common, **dict(zip(LINE_COLUMNS, line, strict=True))} for line in self.lines)


@dataclass(frozen=True)
class DayLines:
    """The rows of one page that lists a line a day, and the field names the contract does not know (kept in the
    raw page)."""

    rows: tuple[dict[str, Any], ...]
    unknown_fields: frozenset[str]


def day_lines(
    page: Page, key: str, fields: Mapping[str, tuple[str, Parser]], lines: str, *, account_no: str, first_line: int
) -> DayLines:
    """The rows of a page listing one line a day under `key` (kt00002, ka10074): its day from `dt`, each of `fields`
    (line field → column, parser) read as its parser reads it, lines numbered on from `first_line` and called
    `lines` in errors; TransformError when a value does not match the contract (nothing of the page is used then)."""
    if page.data is None:
        raise TransformError("the page is not a JSON object", field="body", value=page.text[:80], page=page.page_no)
    captured_at = page.received_at.astimezone(UTC)
    rows = []
    unknown: set[str] = set()
    days: set[date] = set()
    for number, item in enumerate(listed(page.data, key, page.page_no), start=first_line):
        if not isinstance(item, dict):
            raise TransformError("expected an object", field=key, value=item, line=number, lines=lines)
        unknown.update(f"{key}.{name}" for name in item.keys() - fields.keys() - {"dt"})
        try:
            day = day_of_line(item, page.received_at, days, number)
            row: dict[str, Any] = {"account_no": account_no, "trade_date": day, "captured_at": captured_at}
            for field, (column, parse) in fields.items():
                value = item.get(field)
                row[column] = None if value is None else parse(value, field, number)
        except TransformError as exc:
            exc.lines, exc.page = lines, page.page_no
            raise
        rows.append(row)
    return DayLines(tuple(rows), frozenset(unknown))


def trade_date_of(captured_at: datetime) -> date:
    """The Korean (Asia/Seoul) calendar date of an aware timestamp."""
    return captured_at.astimezone(KST).date()


def transform(
    bodies: Sequence[Mapping[str, Any]],
    *,
    account_no: str,
    exchange: str,
    captured_at: datetime,
    scheduled_for: datetime | None = None,
) -> Snapshot:
    """Turn the JSON bodies of every kt00005 page of one answer into an account row and its position rows.

    The summary comes from the first page (every page repeats it); positions are taken from all pages, in order.
    Raises TransformError for any value that does not match the contract.
    """
    if not bodies:
        raise TransformError("a snapshot needs at least one page", field="pages", value=0)
    if captured_at.tzinfo is None:
        raise ValueError("captured_at must be timezone-aware")
    captured_at = captured_at.astimezone(UTC)
    unknown: set[str] = set()

    account: dict[str, Any] = {
        "account_no": account_no,
        "exchange": exchange,
        "captured_at": captured_at,
        "scheduled_for": scheduled_for.astimezone(UTC) if scheduled_for else None,
        "trade_date": trade_date_of(captured_at),
    }
    account.update(_columns(bodies[0], _ACCOUNT_RULES, None, 0))

    lines: list[tuple[Any, ...]] = []
    for page_no, body in enumerate(bodies):
        unknown.update(set(body) - ACCOUNT_FIELDS.keys() - ENVELOPE_FIELDS - {POSITIONS_KEY})
        lines += _page_lines(body, page_no, len(lines), unknown)

    account["position_count"] = len(lines)
    return Snapshot(account=account, lines=tuple(lines), unknown_fields=frozenset(unknown))


def _compiled(fields: dict[str, tuple[str, Parser]]) -> tuple[tuple[str, str, Parser], ...]:
    """The rules of `fields` as (field, column, parser) triples, walked once per row without lookups."""
    return tuple((name, column, parse) for name, (column, parse) in fields.items())


_ACCOUNT_RULES = _compiled(ACCOUNT_FIELDS)
_POSITION_RULES = _compiled(POSITION_FIELDS)
_POSITION_NAMES = frozenset(POSITION_FIELDS)
_MISSING = object()

# The lines of a page in their usual shape are read the way a plain loop reads them, with the rules checked in a
# few C-level steps for the whole page: the date, integer and rate fields of every line, joined (a comma between
# fields, a newline between lines), must fullmatch one pattern (8 digits or nothing for a date, at most a sign and
# 17 digits for an amount, unsigned digits for a price, four places for a rate), the texts must be strings without
# NUL, and each distinct date must be a calendar day. A page with any other line — a field missing or extra, not a
# string, spaces, too long, a refusal — is read line by line, and such a line field by field by the rules above,
# with their messages. The field lists below are POSITION_FIELDS' fields by kind; the assertion keeps them in step.
_USUAL_NUMBERS = (
    "loan_dt",
    "expr_dt",
    "setl_remn",
    "cur_qty",
    "cur_prc",
    "buy_uv",
    "pur_amt",
    "evlt_amt",
    "evltv_prft",
    "pl_rt",
)
_USUAL_TEXTS = ("crd_tp", "stk_cd", "stk_nm")
_USUAL_KINDS: dict[Parser, str] = {
    parse_date: r"(?:[0-9]{8})?",
    parse_amount: r"[+-]?[0-9]{1,17}",
    parse_price: r"[0-9]{1,18}",
    parse_rate: _FOUR_PLACES.pattern,
}
assert set(_USUAL_TEXTS + _USUAL_NUMBERS) == set(POSITION_FIELDS) and len(_USUAL_TEXTS + _USUAL_NUMBERS) == 13
_USUAL_LINE = ",".join(_USUAL_KINDS[POSITION_FIELDS[name][1]] for name in _USUAL_NUMBERS)
# A comma inside a value adds a field, so such a line cannot match; a newline is counted (see _usual_lines).
_USUAL_PAGE = re.compile(f"(?:{_USUAL_LINE}\n)*{_USUAL_LINE}")
_numbers_of, _texts_of = itemgetter(*_USUAL_NUMBERS), itemgetter(*_USUAL_TEXTS)


def _usual_lines(lines: list[Any], first_line: int) -> list[tuple[Any, ...]] | None:
    """The rows of `lines` when every one is in the usual shape (every field, each a string as Kiwoom writes
    it), else None."""
    if not lines:
        return []
    try:
        numbers = list(map(_numbers_of, lines))
        texts = list(map(_texts_of, lines))
        joined = "\n".join(map(",".join, numbers))
        all_texts = "".join(map("".join, texts))
    except (KeyError, TypeError):  # a field missing, a value not a string, a line not an object
        return None
    # Every line has the 13 fields (or _numbers_of would have failed): the sum tells that none has more. A newline
    # inside a value could pass for the end of a line, so the page must hold exactly the newlines between lines.
    if (
        "\x00" in all_texts
        or _SURROGATE.search(all_texts)
        or sum(map(len, lines)) != len(_POSITION_NAMES) * len(lines)
        or joined.count("\n") != len(lines) - 1
        or not _USUAL_PAGE.fullmatch(joined)
    ):
        return None
    days = {text: _calendar_day(text) for text in {n[0] for n in numbers} | {n[1] for n in numbers}}
    if _MISSING in days.values():  # not a calendar date: the line-by-line reading names its field and line
        return None
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for line_no, (loan, expiry, settlement, quantity, price, unit, purchase, evaluation, profit, rate), (
        credit,
        code,
        name,
    ) in zip(range(first_line, first_line + len(lines)), numbers, texts, strict=True):
        code = code.strip(" ")
        append(
            (
                line_no,
                credit.strip(" "),
                days[loan],
                days[expiry],
                code[1:] if len(code) == 7 and code[0] == "A" else code,
                name.strip(" "),
                int(settlement),
                int(quantity),
                int(price),
                int(unit),
                int(purchase),
                int(evaluation),
                int(profit),
                Decimal(rate),
            )
        )
    return rows


def _calendar_day(text: str) -> date | None | object:
    """A usual date field's value ("" or 8 digits) as parse_date reads it, or _MISSING when it is no calendar day."""
    try:
        return parse_date(text, "", None)
    except TransformError:
        return _MISSING


def _columns(
    source: Mapping[str, Any], rules: tuple[tuple[str, str, Parser], ...], line: int | None, page: int
) -> dict[str, Any]:
    # A missing key is NULL, never an error (contract: "missing field").
    get = source.get
    row: dict[str, Any] = {}
    try:
        for name, column, parse in rules:
            value = get(name, _MISSING)
            row[column] = None if value is _MISSING else parse(value, name, line)
    except TransformError as exc:
        exc.page = page
        raise
    return row


def _page_lines(body: Mapping[str, Any], page_no: int, first_line: int, unknown: set[str]) -> list[tuple[Any, ...]]:
    """The position rows of one page (LINE_COLUMNS' values), numbered on from `first_line`; unknown field names are
    added to `unknown`."""
    lines = body.get(POSITIONS_KEY, [])
    if lines is None or lines == "":
        lines = []
    if not isinstance(lines, list):
        raise TransformError("expected a list", field=POSITIONS_KEY, value=lines, page=page_no)
    usual = _usual_lines(lines, first_line)
    if usual is not None:
        return usual
    rows = []
    for line_no, line in enumerate(lines, start=first_line):
        if not isinstance(line, dict):
            raise TransformError("expected an object", field=POSITIONS_KEY, value=line, line=line_no, page=page_no)
        row = _usual_lines([line], line_no)
        if row is None:
            if not line.keys() <= _POSITION_NAMES:
                unknown.update(f"{POSITIONS_KEY}.{name}" for name in line.keys() - _POSITION_NAMES)
            values = _columns(line, _POSITION_RULES, line_no, page_no)
            row = [(line_no, *(values[column] for column in LINE_COLUMNS[1:]))]
        rows += row
    return rows
