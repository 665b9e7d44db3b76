"""The pure ka10074 transform: one page of daily realised profit → account_realized_daily rows.

ka10074 (일자별실현손익요청) lists one line a day under dt_rlzt_pl, "filled only on days with realised profit"; `dt` is
the day (YYYYMMDD). Its amounts are plain integers in 원 (buy_amt, sell_amt, tdy_trde_cmsn, tdy_trde_tax), read as int;
tdy_sel_pl, the day's realised profit, is Kiwoom's figure by its own average cost and may carry decimals (ka10072's
field of that name does, "59813.04"), so it is read exactly, to 2 places; no amount is said to be unsigned, so a sign
is kept (realized_checks shows it). A line without its day, a day after the page arrived or one an earlier line of
the page lists, or a value that does not match, refuses the page with the field and line named.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from etl.errors import TransformError
from etl.kiwoom.pages import Page
from etl.normalize.transform import DayLines, day_lines, parse_amount, parse_text

REALIZED_KEY = "dt_rlzt_pl"
PNL_PRECISION, PNL_SCALE = 15, 2  # NUMERIC(15,2): SQLite keeps NUMERIC as a REAL, exact to 15 digits
_LINES = "realised profit"  # what its lines are called in errors
# ka10074 line field → account_realized_daily column, in the order of the API page (dt first).
REALIZED_FIELDS: dict[str, str] = {
    "buy_amt": "buy_amount",
    "sell_amt": "sell_amount",
    "tdy_sel_pl": "realized_pnl",
    "tdy_trde_cmsn": "commission",
    "tdy_trde_tax": "tax",
}


def parse_pnl(value: Any, field: str, line: int | None = None) -> Decimal | None:
    """A signed decimal of at most 2 places ("59813.04", "-1200", "+0.5") → Decimal with 2 places; "" → None;
    refused when NUMERIC(15,2) cannot hold it exactly."""
    text = parse_text(value, field, line)
    if text == "":
        return None
    sign, digits = (text[0], text[1:]) if text[:1] in "+-" else ("", text)
    integer, point, fraction = digits.partition(".")
    if not (integer.isascii() and integer.isdigit()) or (point and not (fraction.isascii() and fraction.isdigit())):
        raise TransformError("not a decimal number", field=field, value=value, line=line, lines=_LINES)
    if len(fraction.rstrip("0")) > PNL_SCALE:
        raise TransformError(
            f"more than {PNL_SCALE} decimal places cannot be stored exactly",
            field=field,
            value=value,
            line=line,
            lines=_LINES,
        )
    if len(integer.lstrip("0")) > PNL_PRECISION - PNL_SCALE:
        raise TransformError(
            f"too large for NUMERIC({PNL_PRECISION},{PNL_SCALE})", field=field, value=value, line=line, lines=_LINES
        )
    return Decimal(sign + digits).quantize(Decimal(1).scaleb(-PNL_SCALE))


_READ = {
    field: (column, parse_pnl if column == "realized_pnl" else parse_amount)
    for field, column in REALIZED_FIELDS.items()
}


def realized_rows(page: Page, *, account_no: str, first_line: int = 0) -> DayLines:
    """The rows of one ka10074 page, lines numbered on from `first_line` in errors; TransformError when a value
    does not match the contract (nothing of the page is used then)."""
    return day_lines(page, REALIZED_KEY, _READ, _LINES, account_no=account_no, first_line=first_line)


def asked_range(start: date, end: date) -> str:
    """What a ka10074 request asked, as raw_responses.asked keeps it: strt_dt-end_dt."""
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


def check_range(rows: Sequence[Any], asked: str, page: Page, first_line: int) -> None:
    """A line dated outside the request's strt_dt–end_dt (`asked`, as asked_range writes it) is not its answer:
    which day it stands for is no one's guess, so the page is refused (as a value off the contract is)."""
    first, _, last = asked.partition("-")
    start, end = (datetime.strptime(text, "%Y%m%d").date() for text in (first, last))
    for number, row in enumerate(rows, start=first_line):
        day = row["trade_date"]
        if not start <= day <= end:
            raise TransformError(
                f"not in {start} – {end}, the range asked",
                field="dt",
                value=f"{day:%Y%m%d}",
                line=number,
                page=page.page_no,
                lines=_LINES,
            )
