"""The pure chart transforms: one page of daily bars → index_daily rows (ka20006, 업종일봉) or stock_daily rows
(ka10081, 주식일봉), newest first as Kiwoom lists them.

ka20006 sends index points as integers 100 times the level ("252127" is 2521.27): each is divided by 100 exactly
into a Decimal of two places (a level index_daily's NUMERIC(12,2) cannot hold is refused). ka10081 sends prices in
whole won. Kiwoom may put a sign before a level or a price to say which way it moved against the day before: the
level is its absolute value. Volume (거래량) is taken as sent; ka20006's 거래대금 comes in millions of won (백만원)
and is stored in won (× 1,000,000, exact); neither can be below 0.
A line without its day or its close, a day after the page arrived or one an earlier line of the page lists, or a
value that does not match, refuses the page with the field and line named. The code a page is
for is what the request asked; a page whose own inds_cd/stk_cd says otherwise is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from etl.errors import TransformError
from etl.kiwoom.pages import Page
from etl.normalize.transform import (
    BIGINT_MAX,
    day_of_line,
    listed,
    parse_count,
    parse_date,
    parse_price,
    parse_stock_code,
)

INDEX_KEY = "inds_dt_pole_qry"
STOCK_KEY = "stk_dt_pole_chart_qry"
MILLION = 1_000_000  # ka20006's trde_prica is in 백만원
_CENTS = Decimal("0.01")
# index_daily's levels are NUMERIC(12,2): at most ten digits before the point, so at most twelve in the ×100 integer.
POINTS_PRECISION, POINTS_SCALE = 12, 2
_POINTS_MAX = 10**POINTS_PRECISION - 1  # the largest ×100 integer it holds: 9,999,999,999.99 points
_LINES = "bar"
_OHLC = {"open_pric": "open", "high_pric": "high", "low_pric": "low", "cur_prc": "close"}
# What a line carries that is not stored: ka10081's 전일대비, its sign and 거래회전율 (derived from the bars).
_STOCK_UNSTORED = frozenset({"pred_pre", "pred_pre_sig", "trde_tern_rt", "trde_prica"})


@dataclass(frozen=True)
class ChartPage:
    """The rows of one chart page and the field names the contract does not know (kept in the raw page)."""

    rows: tuple[dict[str, Any], ...]
    unknown_fields: frozenset[str]


def index_level(value: Any, field: str, line: int | None = None) -> Decimal | None:
    """ka20006's "252127" (×100, maybe signed) → Decimal("2521.27"); "" → None; a decimal point is refused, and so
    is a level NUMERIC(12,2) cannot hold (PostgreSQL would fail the load, SQLite would round it)."""
    number = parse_price(value, field, line)
    if number is not None and number > _POINTS_MAX:
        raise TransformError(
            f"too large for NUMERIC({POINTS_PRECISION},{POINTS_SCALE}) once divided by 100",
            field=field,
            value=value,
            line=line,
        )
    return None if number is None else (Decimal(number) / 100).quantize(_CENTS)


def _million_won(value: Any, field: str, line: int | None = None) -> int | None:
    number = parse_count(value, field, line)
    if number is not None and number * MILLION > BIGINT_MAX:
        raise TransformError("outside the BIGINT range once in won (× 1,000,000)", field=field, value=value, line=line)
    return None if number is None else number * MILLION


def index_rows(page: Page, *, asked: str, first_line: int = 0) -> ChartPage:
    """The index_daily rows of one ka20006 page for index `asked`; TransformError when a value is off the
    contract (nothing of the page is used then)."""
    fields: dict[str, tuple[str, Callable[[Any, str, int | None], Any]]] = {
        **{field: (column, index_level) for field, column in _OHLC.items()},
        "trde_qty": ("volume", parse_count),
        "trde_prica": ("trading_value", _million_won),
    }
    return _bars(page, asked, first_line, key=INDEX_KEY, echo="inds_cd", code_column="index_code", fields=fields)


def stock_rows(page: Page, *, asked: str, first_line: int = 0) -> ChartPage:
    """The stock_daily rows of one ka10081 page for stock `asked`; TransformError when a value is off the contract
    (nothing of the page is used then)."""
    fields: dict[str, tuple[str, Callable[[Any, str, int | None], Any]]] = {
        **{field: (column, parse_price) for field, column in _OHLC.items()},
        "trde_qty": ("volume", parse_count),
    }
    return _bars(
        page, asked, first_line, key=STOCK_KEY, echo="stk_cd", code_column="stock_code", fields=fields,
        unstored=_STOCK_UNSTORED,
    )  # fmt: skip


def oldest_day(page: Page, key: str) -> date | None:
    """The oldest day a chart page lists, read leniently (a page the transform refuses still says how far back it
    reached): None when it lists no readable day."""
    items = (page.data or {}).get(key)
    days = []
    for item in items if isinstance(items, list) else []:
        try:
            day = parse_date(item.get("dt", "") if isinstance(item, dict) else "", "dt")
        except TransformError:
            continue
        if day is not None:
            days.append(day)
    return min(days, default=None)


def _bars(
    page: Page,
    asked: str,
    first_line: int,
    *,
    key: str,
    echo: str,
    code_column: str,
    fields: Mapping[str, tuple[str, Callable[[Any, str, int | None], Any]]],
    unstored: frozenset[str] = frozenset(),
) -> ChartPage:
    if page.data is None:
        raise TransformError("the page is not a JSON object", field="body", value=page.text[:80], page=page.page_no)
    said = page.data.get(echo)
    if said not in (None, "") and parse_stock_code(said, echo) != asked:
        raise TransformError(f"the request asked for {asked}", field=echo, value=said, page=page.page_no)
    items = listed(page.data, key, page.page_no)
    captured_at = page.received_at.astimezone(UTC)
    rows = []
    unknown: set[str] = set()
    days: set[date] = set()
    for number, item in enumerate(items, start=first_line):
        if not isinstance(item, dict):
            raise TransformError("expected an object", field=key, value=item, line=number, lines=_LINES)
        unknown.update(f"{key}.{name}" for name in item.keys() - fields.keys() - unstored - {"dt"})
        try:
            day = day_of_line(item, page.received_at, days, number, "bar")
            row: dict[str, Any] = {code_column: asked, "trade_date": day, "captured_at": captured_at}
            for field, (column, parse) in fields.items():
                value = item.get(field)
                row[column] = None if value is None else parse(value, field, number)
            if row["close"] is None:
                raise TransformError("a bar needs its close", field="cur_prc", value=item.get("cur_prc"), line=number)
            if row["close"] <= 0:  # no index nor traded stock closes at 0: it would value a transfer at nothing
                raise TransformError("a close must be above 0", field="cur_prc", value=item.get("cur_prc"), line=number)
        except TransformError as exc:
            exc.lines, exc.page = _LINES, page.page_no
            raise
        rows.append(row)
    return ChartPage(tuple(rows), frozenset(unknown))
