"""ka20006 (업종일봉조회요청) and ka10081 (주식일봉차트조회요청), the daily bars, declared once: an index's (the
`[benchmarks] indexes`) and a stock's (every stock the accounts held or traded) open, high, low, close and volume a
day, into index_daily and stock_daily (described and declared here), where a later answer for a day replaces an
earlier one.

A run reads a range [since, until] code by code: base_dt is `until`, and the pages (newest first) are followed back
until one reaches a day before `since`. Neither is an account's API: their runs have no account_no. A stock's close
values a securities transfer of that day no snapshot priced (etl.store.valuation): its load refreshes those
accounts' daily_returns and realized_sales in its transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, ColumnClause, Connection, Date, ForeignKey, Table, Text

from etl.apis.api import Claim, Rows, RowsApi, RunsMetric
from etl.kiwoom.endpoints import INDEX_DAILY as INDEX_DAILY_ENDPOINT
from etl.kiwoom.endpoints import STOCK_DAILY as STOCK_DAILY_ENDPOINT
from etl.kiwoom.pages import Page
from etl.normalize.charts import POINTS_PRECISION, POINTS_SCALE, index_rows, stock_rows
from etl.store import realized, returns
from etl.store.daily import store_daily
from etl.store.dictionary import (
    BIGINT,
    CAPTURED_AT,
    CODE,
    DATE,
    DATE_TYPE,
    INDEX,
    KRW,
    KRW_PER_SHARE,
    SHARES,
    Counted,
    Relation,
    run_key,
    with_meaning,
)
from etl.store.dictionary import Column as Described  # a documented column, beside SQLAlchemy's Column
from etl.store.models import Base
from etl.store.sqltypes import ExactDecimal, UtcDateTime

# Index points: KOSPI's 2521.27 needs 6 digits, two after the point; 12 leave room for any index.
Points = ExactDecimal(POINTS_PRECISION, POINTS_SCALE)
POINTS_TYPE = f"numeric({POINTS_PRECISION},{POINTS_SCALE})"

_WORDS = {
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close (cur_prc, 현재가: a past day's is its close)",
}
_DAY = Described("trade_date", DATE_TYPE, "dt", "일자", DATE, "The day of the bar (KRX's trading day).")


def _level(name: str, field: str, label: str) -> Described:
    return Described(
        name,
        POINTS_TYPE,
        field,
        label,
        INDEX,
        f"The day's {_WORDS[name]} in index points, exact: Kiwoom's ×100 integer / 100, its direction sign dropped.",
    )


INDEX_DAILY_TABLE = Relation(
    "index_daily",
    "업종일봉",
    "One row per index × trade_date (the primary key) from ka20006: the benchmarks of `[benchmarks] indexes` (001"
    " KOSPI, 101 KOSDAQ by default), taken after the close and by `kiwoom-etl backfill`; a later answer for a day"
    " replaces an earlier one.",
    (
        Described("index_code", "text, primary key", "inds_cd", "업종코드", CODE, "001 KOSPI, 101 KOSDAQ, …"),
        _DAY,
        run_key("The ka20006 run that loaded it."),
        with_meaning(CAPTURED_AT, "When its page arrived."),
        _level("open", "open_pric", "시가"),
        _level("high", "high_pric", "고가"),
        _level("low", "low_pric", "저가"),
        _level("close", "cur_prc", "종가"),
        Described(
            "volume", BIGINT, "trde_qty", "거래량", SHARES, "Volume as Kiwoom sends it (its unit, 1주, is unconfirmed)."
        ),
        Described(
            "trading_value",
            BIGINT,
            "trde_prica",
            "거래대금",
            KRW,
            "Value traded in won: Kiwoom sends millions of won (백만원), stored × 1,000,000 (so a multiple of it).",
        ),
    ),
)


def _price(name: str, field: str, label: str) -> Described:
    return Described(
        name,
        BIGINT,
        field,
        label,
        KRW_PER_SHARE,
        f"The day's {_WORDS[name]} in won, unadjusted (upd_stkpc_tp 0): a bar never changes after a later split,"
        " so a transfer is valued at that day's actual close.",
    )


STOCK_DAILY_TABLE = Relation(
    "stock_daily",
    "주식일봉",
    "One row per stock × trade_date (the primary key) from ka10081, for every stock the accounts held or traded,"
    " taken after the close and by `kiwoom-etl backfill`: unadjusted prices, so that a securities transfer is valued"
    " at that day's actual close; a later answer for a day replaces an earlier one.",
    (
        Described("stock_code", "text, primary key", "stk_cd", "종목코드", CODE, "The six-character KRX code."),
        _DAY,
        run_key("The ka10081 run that loaded it."),
        with_meaning(CAPTURED_AT, "When its page arrived."),
        _price("open", "open_pric", "시가"),
        _price("high", "high_pric", "고가"),
        _price("low", "low_pric", "저가"),
        _price("close", "cur_prc", "종가"),
        Described("volume", BIGINT, "trde_qty", "거래량", SHARES, "Shares traded on KRX that day."),
    ),
)


def _bar_key() -> tuple[ColumnClause[str], ColumnClause[date], ColumnClause[int], ColumnClause[datetime]]:
    """The columns a bar table starts with: its code and trade_date (the primary key), run_id and captured_at."""
    return (
        Column(Text, primary_key=True),
        Column(Date, primary_key=True),
        Column(ForeignKey("etl_runs.id"), nullable=False, index=True),
        Column(UtcDateTime, nullable=False),
    )


class IndexDaily(Base):
    """One index's bar of one day (ka20006), its levels exact."""

    __tablename__ = "index_daily"
    __relation__ = INDEX_DAILY_TABLE

    index_code, trade_date, run_id, captured_at = _bar_key()
    open: ColumnClause[Decimal] = Column(Points)
    high: ColumnClause[Decimal] = Column(Points)
    low: ColumnClause[Decimal] = Column(Points)
    close: ColumnClause[Decimal] = Column(Points, nullable=False)
    volume: ColumnClause[int] = Column(BigInteger)
    trading_value: ColumnClause[int] = Column(BigInteger)


class StockDaily(Base):
    """One stock's unadjusted bar of one day (ka10081)."""

    __tablename__ = "stock_daily"
    __relation__ = STOCK_DAILY_TABLE

    stock_code, trade_date, run_id, captured_at = _bar_key()
    open: ColumnClause[int] = Column(BigInteger)
    high: ColumnClause[int] = Column(BigInteger)
    low: ColumnClause[int] = Column(BigInteger)
    close: ColumnClause[int] = Column(BigInteger, nullable=False)
    volume: ColumnClause[int] = Column(BigInteger)


def _read_index(page: Page, asked: str, first_line: int) -> Rows:
    read = index_rows(page, asked=asked, first_line=first_line)
    return Rows(read.rows, read.unknown_fields)


def _read_stock(page: Page, asked: str, first_line: int) -> Rows:
    read = stock_rows(page, asked=asked, first_line=first_line)
    return Rows(read.rows, read.unknown_fields)


def _store_stock(connection: Connection, table: Table, rows: Iterable[dict[str, Any]], *, run_id: int) -> int:
    """store_daily, then daily_returns and realized_sales refreshed for the accounts whose transfers the stock's
    closes now value (a transfer on a day without a snapshot listing the stock is valued at stock_daily's close), in
    the same transaction: the market job's load and a replay of ka10081 both come here."""
    rows = list(rows)
    written = store_daily(connection, table, rows, run_id=run_id)
    if rows:  # one stock's rows: store_daily refuses any other
        days = [row["trade_date"] for row in rows]
        returns.refresh_transfers(connection, rows[0]["stock_code"], days)
        realized.refresh_transfers(connection, rows[0]["stock_code"], days)
    return written


INDEX_DAILY = RowsApi(
    endpoint=INDEX_DAILY_ENDPOINT,
    what="index bars",
    fetched="the benchmark indexes' daily bars, no account's",
    counted=Counted("daily bars", "received"),
    claim=Claim.RANGE,
    table=IndexDaily.__table__,
    runs_metric=RunsMetric("index_daily", "Index daily bars"),
    per_account=False,
    read=_read_index,
    store=store_daily,
)
STOCK_DAILY = RowsApi(
    endpoint=STOCK_DAILY_ENDPOINT,
    what="stock bars",
    fetched="the held or traded stocks' daily bars, no account's",
    counted=Counted("daily bars", "received"),
    claim=Claim.RANGE,
    table=StockDaily.__table__,
    runs_metric=RunsMetric("stock_daily", "Stock daily bars"),
    per_account=False,
    read=_read_stock,
    store=_store_stock,
)
