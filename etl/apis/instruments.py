"""ka10099 (종목정보 리스트) and ka10100 (종목정보 조회), the instrument master, declared once: which market each code
is in, its name and sector, refreshed daily before the open into `instruments` (described and declared here), where a
later answer about a code replaces an earlier one.

A run of ka10099 reads the market lists in the order of etl.normalize.instruments.LIST_ORDER (the list read last
decides a code listed twice: ETF and ETN before KOSPI); a code the accounts held or traded that no list had is asked
alone with ka10100. Neither is an account's API: their runs have no account_no.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, ColumnClause, Date, ForeignKey, Text

from etl.apis.api import Claim, Rows, RowsApi, RunsMetric
from etl.kiwoom.endpoints import INSTRUMENT, INSTRUMENT_LIST
from etl.kiwoom.pages import Page
from etl.normalize.instruments import MARKETS, list_rows, single_row
from etl.store.dictionary import CODE, DATE, DATE_TYPE, TEXT, TEXT_TYPE, TIMESTAMP, UTC_TIME, Counted, Relation, run_key
from etl.store.dictionary import Column as Described  # a documented column, beside SQLAlchemy's Column
from etl.store.instruments import store_instruments
from etl.store.models import Base, one_of
from etl.store.sqltypes import UtcDateTime

log = logging.getLogger(__name__)

INSTRUMENTS_TABLE = Relation(
    "instruments",
    "종목정보",
    "One row per stock code (the primary key): its name, market and sector from Kiwoom's instrument lists (ka10099,"
    " refreshed daily before the open), or from ka10100 for a code the accounts held or traded that no list had; a"
    " later answer about a code replaces an earlier one.",
    (
        Described("stock_code", "text, primary key", "code", "종목코드", CODE, "The six-character KRX code."),
        Described("name", TEXT_TYPE, "name", "종목명", TEXT, "The name as Kiwoom sends it."),
        Described(
            "market",
            "text, KOSPI, KOSDAQ, KONEX, ETF, ETN or OTHER",
            None,
            "시장",
            TEXT,
            "Which ka10099 list held the code (mrkt_tp 0 KOSPI, 10 KOSDAQ, 50 KONEX, 8 ETF, 60/70/90 ETN; a code in"
            " two lists is an ETF or ETN before KOSPI); a code asked alone (ka10100) by its marketCode: 0 KOSPI,"
            " 10 KOSDAQ, anything else OTHER (that mapping is unconfirmed, and logged as a warning).",
        ),
        Described(
            "market_name",
            TEXT_TYPE,
            "marketName",
            "시장명",
            TEXT,
            "The market as Kiwoom names it (KOSPI reads 거래소); NULL when sent empty.",
        ),
        Described("sector", TEXT_TYPE, "upName", "업종명", TEXT, "The sector's name (no code); NULL when sent empty."),
        Described("listed_on", DATE_TYPE, "regDay", "상장일", DATE, "The listing day; NULL when sent empty."),
        run_key("The ka10099 or ka10100 run that wrote it last."),
        Described("updated_at", TIMESTAMP, None, "갱신시각", UTC_TIME, "When the answer it comes from arrived."),
    ),
)


class Instrument(Base):
    """One stock code's name, market and sector, as Kiwoom's instrument lists last gave them."""

    __tablename__ = "instruments"
    __relation__ = INSTRUMENTS_TABLE

    stock_code: ColumnClause[str] = Column(Text, primary_key=True)
    name: ColumnClause[str] = Column(Text, nullable=False)
    market: ColumnClause[str] = Column(Text, nullable=False)
    market_name: ColumnClause[str] = Column(Text)
    sector: ColumnClause[str] = Column(Text)
    listed_on: ColumnClause[date] = Column(Date)
    run_id: ColumnClause[int] = Column(ForeignKey("etl_runs.id"), nullable=False, index=True)
    updated_at: ColumnClause[datetime] = Column(UtcDateTime, nullable=False)

    __table_args__ = (CheckConstraint(one_of("market", MARKETS), name="market"),)


def _read_list(page: Page, asked: str, first_line: int) -> Rows:
    read = list_rows(page, asked=asked)
    return Rows(read.rows, read.unknown_fields)


def _read_single(page: Page, asked: str, first_line: int) -> Rows:
    read = single_row(page, asked=asked)
    for code, market_code in read.guessed.items():  # a wrong guess must show
        log.warning(
            "ka10100: %s has marketCode %r, which kiwoom-etl does not map to a market: stored as OTHER",
            code,
            market_code,
        )
    return Rows(read.rows, read.unknown_fields)


INSTRUMENTS = RowsApi(
    endpoint=INSTRUMENT_LIST,
    what="instrument lists",
    fetched="the instrument lists (every market's), no account's",
    counted=Counted("listed codes", "received"),
    claim=Claim.DAY,
    table=Instrument.__table__,
    runs_metric=RunsMetric("instruments", "Instrument list"),
    per_account=False,
    read=_read_list,
    store=store_instruments,
)
INSTRUMENT_SINGLE = RowsApi(
    endpoint=INSTRUMENT,
    what="instruments asked alone",
    fetched="single codes no instrument list had, no account's",
    counted=Counted("codes", "received"),
    claim=Claim.DAY,
    table=Instrument.__table__,
    runs_metric=RunsMetric("instrument_singles", "Instruments asked alone"),
    per_account=False,
    read=_read_single,
    store=store_instruments,
)
