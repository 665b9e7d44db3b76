"""The pure instrument transform: one ka10099 page (a market's list) or one ka10100 answer (one code) →
instruments rows.

Which market a code is in is decided by WHICH ka10099 list held it (its request's mrkt_tp): 0 KOSPI (Kiwoom calls it
거래소), 10 KOSDAQ, 50 KONEX, 8 ETF, 60, 70 and 90 ETN. A code in two lists takes the one read last: the lists are
read in LIST_ORDER, so an ETF or an ETN listed on KOSPI as well is an ETF or an ETN. A code no list held is asked
alone (ka10100), and its marketCode decides: 0 KOSPI, 10 KOSDAQ — that marketCode reuses mrkt_tp's codes is an
inference, so any other value is OTHER, and the caller warns naming the code and the value. A row without its code
or name, a code that is not six digits or capital letters (CODE), or a value that does not match, refuses the page
with the field and line named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from etl.errors import TransformError
from etl.kiwoom.pages import Page
from etl.normalize.transform import parse_date, parse_stock_code, parse_text

MARKETS = ("KOSPI", "KOSDAQ", "KONEX", "ETF", "ETN", "OTHER")
# A KRX short code (단축코드) as the lists send it, an A before it taken off: six ASCII digits or capital letters
# ("005930", "0001A0"). Anything else — lowercase, spaces inside, another length — refuses the page: a code the
# master holds is joined to the positions' and the ledger's, and asked of ka10081 and ka10100 as it is.
CODE = re.compile("[0-9A-Z]{6}")
LIST_KEY = "list"
# ka10099's mrkt_tp → the market of the codes its list holds, in the order the lists are read (the last one wins).
LIST_ORDER: dict[str, str] = {
    "0": "KOSPI",
    "10": "KOSDAQ",
    "50": "KONEX",
    "60": "ETN",
    "70": "ETN",  # 손실제한 ETN
    "90": "ETN",  # 변동성 ETN
    "8": "ETF",
}
# ka10100's marketCode → market (unconfirmed: anything else is OTHER, shown by a warning).
SINGLE_MARKETS = {"0": "KOSPI", "10": "KOSDAQ"}
_LINES = "instrument"
_STORED = {"code", "name", "marketCode", "marketName", "upName", "regDay"}
# What a row carries that is not stored (the day's numbers and flags, the list's own sample fields).
_UNSTORED = frozenset(
    {
        "listCount",
        "auditInfo",
        "lastPrice",
        "state",
        "upSizeName",
        "companyClassName",
        "orderWarning",
        "nxtEnable",
    }
)
_ENVELOPE = frozenset({"return_code", "return_msg"})


@dataclass(frozen=True)
class InstrumentsPage:
    """The rows of one page, the field names the contract does not know, and the codes whose market is a guess
    (code → the marketCode ka10100 sent), for the caller to warn of."""

    rows: tuple[dict[str, Any], ...]
    unknown_fields: frozenset[str]
    guessed: Mapping[str, str]


def list_rows(page: Page, *, asked: str) -> InstrumentsPage:
    """The rows of one page of ka10099's list `asked` (its mrkt_tp); TransformError when it is off the contract."""
    if asked not in LIST_ORDER:
        raise TransformError("not a market list kiwoom-etl reads", field="mrkt_tp", value=asked, page=page.page_no)
    data = _data(page)
    found = data.get(LIST_KEY)
    items: Sequence[Any] = [] if found in (None, "") else [found] if isinstance(found, dict) else found
    if not isinstance(items, list):
        raise TransformError("expected a list", field=LIST_KEY, value=found, page=page.page_no)
    rows: list[dict[str, Any]] = []
    unknown: set[str] = set()
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            raise TransformError("expected an object", field=LIST_KEY, value=item, line=number, lines=_LINES)
        unknown.update(f"{LIST_KEY}.{name}" for name in item.keys() - _STORED - _UNSTORED)
        rows.append(_row(item, LIST_ORDER[asked], page, number))
    return InstrumentsPage(tuple(rows), frozenset(unknown), {})


def single_row(page: Page, *, asked: str) -> InstrumentsPage:
    """The row of ka10100's answer for code `asked`; TransformError when it is off the contract."""
    data = _data(page)
    code = data.get("marketCode")
    if not isinstance(code, str):
        raise TransformError("expected a JSON string", field="marketCode", value=code, page=page.page_no)
    market = SINGLE_MARKETS.get(code.strip(), "OTHER")
    row = _row(data, market, page, None)
    if row["stock_code"] != asked:
        raise TransformError(f"the request asked for {asked}", field="code", value=data.get("code"))
    unknown = data.keys() - _STORED - _UNSTORED - _ENVELOPE
    guessed = {} if market != "OTHER" else {row["stock_code"]: code}
    return InstrumentsPage((row,), frozenset(unknown), guessed)


def _data(page: Page) -> Mapping[str, Any]:
    if page.data is None:
        raise TransformError("the page is not a JSON object", field="body", value=page.text[:80], page=page.page_no)
    return page.data


def _row(item: Mapping[str, Any], market: str, page: Page, line: int | None) -> dict[str, Any]:
    try:
        code = parse_stock_code(item.get("code", ""), "code", line)
        if not code:
            raise TransformError("a row needs its code", field="code", value=item.get("code"), line=line)
        if not CODE.fullmatch(code):
            raise TransformError(
                "not a KRX code: six digits or capital letters", field="code", value=item.get("code"), line=line
            )
        name = parse_text(item.get("name", ""), "name", line)
        if not name:
            raise TransformError("a row needs its name", field="name", value=item.get("name"), line=line)
        return {
            "stock_code": code,
            "name": name,
            "market": market,
            "market_name": parse_text(item.get("marketName", ""), "marketName", line) or None,
            "sector": parse_text(item.get("upName", ""), "upName", line) or None,
            "listed_on": parse_date(item.get("regDay", ""), "regDay", line),
            "updated_at": page.received_at.astimezone(UTC),
        }
    except TransformError as exc:
        exc.lines, exc.page = _LINES, page.page_no
        raise
