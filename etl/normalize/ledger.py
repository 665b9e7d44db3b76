"""The pure ledger transform: kt00015 pages → account_transactions rows, each classified by a keyword mapping.

Every rule is in the data dictionary (docs/data-dictionary.md). Amounts become int, quantities, foreign amounts and
prices Decimal (never a float), dates date, `proc_tm` a time; a value that does not match is refused with its
field, line and value named. Kiwoom publishes no list of remarks (적요) or in/out codes, so a line's `kind` comes
from keywords in its remark, then in its in/out name, by rules a user can extend; a line no rule matches is
`other`, kept whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from etl.errors import ConfigError, TransformError
from etl.kiwoom.pages import Page
from etl.normalize.transform import (
    Parser,
    listed,
    parse_amount,
    parse_date,
    parse_stock_code,
    parse_text,
)

LEDGER_KEY = "trst_ovrl_trde_prps_array"
NO_ORIGINAL = "000000000"  # orig_deal_no when a line corrects nothing (the API page's own words)
_LINES = "ledger"


class Kind(StrEnum):
    """account_transactions.kind. External flows are deposit, withdrawal and the securities transfers; dividends,
    interest, fees and taxes are part of the return; a loan is neither a deposit nor a withdrawal."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    SECURITIES_IN = "securities_in"
    SECURITIES_OUT = "securities_out"
    DIVIDEND = "dividend"
    BUY = "buy"
    SELL = "sell"
    FEE = "fee"
    TAX = "tax"
    INTEREST = "interest"
    LOAN = "loan"
    OTHER = "other"


# Most specific first: a credit line's remark (예탁담보대출입금) also says 입금, a dividend's (배당금입금) too, and a
# loan against a sale (매도담보대출) says 매도: the first keyword found decides.
DEFAULT_RULES: tuple[tuple[str, Kind], ...] = (
    ("이자", Kind.INTEREST),  # first: credit interest (융자이자, 대출이자) is a cost of the return, not a loan
    ("대출", Kind.LOAN),
    ("융자", Kind.LOAN),
    ("상환", Kind.LOAN),
    ("배당", Kind.DIVIDEND),
    ("매수", Kind.BUY),
    ("매도", Kind.SELL),
    ("입고", Kind.SECURITIES_IN),
    ("출고", Kind.SECURITIES_OUT),
    ("수수료", Kind.FEE),
    ("세금", Kind.TAX),
    ("입금", Kind.DEPOSIT),
    ("출금", Kind.WITHDRAWAL),
)


@dataclass(frozen=True)
class Classifier:
    """Keyword rules, the user's before the defaults: the first keyword found in the remark decides, then the first
    found in the in/out name; no match is `other`."""

    rules: tuple[tuple[str, Kind], ...] = DEFAULT_RULES

    @classmethod
    def with_rules(cls, extra: Iterable[tuple[str, str]], setting: str = "[ledger.kinds]") -> Classifier:
        """The defaults after the user's `(keyword, kind)` rules; ConfigError naming the rule when a kind is unknown."""
        rules = []
        for keyword, kind in extra:
            if not keyword.strip():
                raise ConfigError(f"{setting}: an empty keyword would match every line")
            try:
                rules.append((keyword.strip(), Kind(kind)))
            except ValueError:
                known = ", ".join(k.value for k in Kind)
                raise ConfigError(f"{setting}: {keyword!r} = {kind!r} is not a kind; kinds: {known}") from None
        return cls((*rules, *DEFAULT_RULES))

    def classify(self, remark: str | None, io_type_name: str | None) -> Kind:
        """The kind of a line with this remark (rmrk_nm) and in/out name (io_tp_nm)."""
        for text in (remark, io_type_name):
            if text:
                for keyword, kind in self.rules:
                    if keyword in text:
                        return kind
        return Kind.OTHER


# [0-9] rather than \d: \d also matches full-width and other Unicode digits. Commas group thousands ("56,900").
_GROUPED = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
_CLOCK = re.compile(r"([0-9]{2}):?([0-9]{2}):?([0-9]{2})")


def _decimal_parser(precision: int, scale: int) -> Parser:
    """A parser of decimal text ("0.00", "56,900", "-1.5") into Decimal that NUMERIC(precision, scale) holds."""

    def parse(value: Any, field: str, line: int | None = None) -> Decimal | None:
        text = parse_text(value, field, line)
        if text == "":
            return None
        if not _GROUPED.fullmatch(text):
            raise TransformError("not a decimal number", field=field, value=value, line=line, lines=_LINES)
        plain = text.replace(",", "")
        integer, _, fraction = plain.lstrip("+-").partition(".")
        if len(integer.lstrip("0")) > precision - scale:
            raise TransformError(
                f"too large for NUMERIC({precision},{scale})", field=field, value=value, line=line, lines=_LINES
            )
        if len(fraction.rstrip("0")) > scale:
            raise TransformError(
                f"more than {scale} decimal places cannot be stored exactly",
                field=field,
                value=value,
                line=line,
                lines=_LINES,
            )
        return Decimal(plain).quantize(Decimal(1).scaleb(-scale))

    return parse


# At most 15 significant digits: SQLite keeps NUMERIC as an 8-byte REAL, exact to 15 (docs/data-dictionary.md).
parse_quantity = _decimal_parser(15, 6)
parse_foreign = _decimal_parser(15, 4)


def parse_clock(value: Any, field: str, line: int | None = None) -> time | None:
    """ "HH:MM:SS" (or "HHMMSS") → time; "" → None."""
    text = parse_text(value, field, line)
    if text == "":
        return None
    match = _CLOCK.fullmatch(text)
    if not match:
        raise TransformError("not an HH:MM:SS time", field=field, value=value, line=line, lines=_LINES)
    try:
        hour, minute, second = (int(part) for part in match.groups())
        return time(hour, minute, second)
    except ValueError:
        raise TransformError("not a time of day", field=field, value=value, line=line, lines=_LINES) from None


# kt00015 line field → (account_transactions column, parser), in the order of the API page.
LEDGER_FIELDS: dict[str, tuple[str, Parser]] = {
    "trde_dt": ("settlement_date", parse_date),
    "trde_no": ("transaction_no", parse_text),
    "rmrk_nm": ("remark", parse_text),
    "crd_deal_tp_nm": ("credit_deal_type_name", parse_text),
    "exct_amt": ("settled_amount", parse_amount),
    "loan_amt_rpya": ("loan_repayment", parse_amount),
    "fc_trde_amt": ("fc_trade_amount", parse_foreign),
    "fc_exct_amt": ("fc_settled_amount", parse_foreign),
    "entra_remn": ("cash_balance", parse_amount),
    "crnc_cd": ("currency", parse_text),
    "trde_ocr_tp": ("transaction_class", parse_text),
    "trde_kind_nm": ("transaction_class_name", parse_text),
    "stk_nm": ("stock_name", parse_text),
    "trde_amt": ("trade_amount", parse_amount),
    "trde_agri_tax": ("transaction_tax", parse_amount),
    "rpy_diffa": ("repayment_difference", parse_amount),
    "fc_trde_tax": ("fc_transaction_tax", parse_foreign),
    "dly_sum": ("overdue_total", parse_amount),
    "fc_entra": ("fc_cash_balance", parse_foreign),
    "mdia_tp_nm": ("channel_name", parse_text),
    "io_tp": ("io_type", parse_text),
    "io_tp_nm": ("io_type_name", parse_text),
    "orig_deal_no": ("original_transaction_no", parse_text),
    "stk_cd": ("stock_code", parse_stock_code),
    "trde_qty_jwa_cnt": ("quantity", parse_quantity),
    "cmsn": ("commission", parse_amount),
    "int_ls_usfe": ("interest_lending_fee", parse_amount),
    "fc_cmsn": ("fc_commission", parse_foreign),
    "fc_dly_sum": ("fc_overdue_total", parse_foreign),
    "vlbl_nowrm": ("securities_balance", parse_quantity),
    "proc_tm": ("processed_time", parse_clock),
    "isin_cd": ("isin_code", parse_text),
    "stex_cd": ("exchange_code", parse_text),
    "stex_nm": ("exchange_name", parse_text),
    "trde_unit": ("unit_price", parse_foreign),
    "incm_resi_tax": ("income_tax", parse_amount),
    "loan_dt": ("loan_date", parse_date),
    "uncl_ocr": ("uncollected", parse_quantity),
    "rpym_sum": ("repayment_total", parse_quantity),
    "cntr_dt": ("contract_date", parse_date),
    "rcpy_no": ("cash_slip_no", parse_text),
    "prcsr": ("processor", parse_text),
    "proc_brch": ("processing_branch", parse_text),
    "trde_stle": ("trade_style", parse_text),
    "txon_base_pric": ("tax_base_price", parse_foreign),
    "tax_sum_cmsn": ("tax_fee_total", parse_amount),
    "frgn_pay_txam": ("foreign_tax_paid", parse_foreign),
    "fc_uncl_ocr": ("fc_uncollected", parse_foreign),
    "rpym_sum_fr": ("fc_repayment_total", parse_foreign),
    "rcpmnyer": ("depositor", parse_text),
    "trde_prtc_tp": ("history_type", parse_text),
}
LEDGER_COLUMNS = ("kind", *(column for column, _ in LEDGER_FIELDS.values()))
KEY_COLUMNS = ("settlement_date", "transaction_no", "original_transaction_no")
_TRANSACTION_NO = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class LedgerLine:
    """One ledger line: its columns (LEDGER_COLUMNS) and the line as received, for a conflict's record."""

    values: Mapping[str, Any]
    received: Mapping[str, Any]

    @property
    def key(self) -> tuple[Any, ...]:
        """(settlement_date, transaction_no, original_transaction_no): with the account, its natural key."""
        return tuple(self.values[column] for column in KEY_COLUMNS)


@dataclass(frozen=True)
class LedgerPage:
    """The lines of one kt00015 page and the field names the contract does not know (kept in the raw page)."""

    lines: tuple[LedgerLine, ...]
    unknown_fields: frozenset[str]


def page_lines(page: Page, classifier: Classifier, first_line: int = 0) -> LedgerPage:
    """The ledger lines of one kt00015 page, numbered on from `first_line` in errors; TransformError when a value
    does not match the contract (nothing of the page is used then)."""
    body = page.data or {}
    items = listed(body, LEDGER_KEY, page.page_no)
    lines = []
    unknown: set[str] = set()
    for number, item in enumerate(items, start=first_line):
        try:
            lines.append(_line(item, number, classifier, unknown))
        except TransformError as exc:
            exc.page = page.page_no
            raise
    return LedgerPage(tuple(lines), frozenset(unknown))


def _line(item: Any, number: int, classifier: Classifier, unknown: set[str]) -> LedgerLine:
    if not isinstance(item, dict):
        raise TransformError("expected an object", field=LEDGER_KEY, value=item, line=number, lines=_LINES)
    unknown.update(f"{LEDGER_KEY}.{name}" for name in item.keys() - LEDGER_FIELDS.keys())
    values: dict[str, Any] = {}
    for name, (column, parse) in LEDGER_FIELDS.items():
        value = item.get(name)
        try:
            values[column] = None if value is None else parse(value, name, number)
        except TransformError as exc:
            exc.lines = _LINES
            raise
    if values["settlement_date"] is None:
        raise TransformError(
            "a ledger line needs its date", field="trde_dt", value=item.get("trde_dt"), line=number, lines=_LINES
        )
    for field, column in (("trde_no", "transaction_no"), ("orig_deal_no", "original_transaction_no")):
        text = values[column]
        if text in (None, "") and column == "original_transaction_no":
            values[column] = NO_ORIGINAL  # absent means no original line, as Kiwoom's 000000000 does
        elif text is None or not _TRANSACTION_NO.fullmatch(text):
            raise TransformError(
                "not a transaction number", field=field, value=item.get(field), line=number, lines=_LINES
            )
    for column in ("transaction_no", "original_transaction_no"):
        values[column] = values[column].zfill(9)  # "1" and "000000001" are the same line
    values["kind"] = classifier.classify(values["remark"], values["io_type_name"]).value
    return LedgerLine(values, item)
