"""The made-up listing as ka10099 and ka10100 write it: one row per code (code, name, marketCode, marketName, upName,
regDay and the fields kiwoom-etl does not store)."""

from __future__ import annotations

from etl.sim.bars import BASE_PRICES
from etl.sim.stocks import ALL_STOCKS, LISTED_ON, LISTS, MARKET_NAMES, SECTORS

NAMES = {code: name for code, name, _ in ALL_STOCKS}


def instrument_row(code: str, market: str) -> dict[str, str]:
    """`code` as the list `market` (a mrkt_tp) shows it."""
    return {
        "code": code,
        "name": NAMES[code],
        "listCount": "0000000100000000",
        "auditInfo": "정상",
        "regDay": LISTED_ON,
        "lastPrice": f"{BASE_PRICES[code]:08d}",
        "state": "증거금20%|담보대출|신용가능",
        "marketCode": market,
        "marketName": MARKET_NAMES[market],
        "upName": SECTORS[code],
        "upSizeName": "대형주",
        "companyClassName": "",
        "orderWarning": "0",
        "nxtEnable": "Y",
    }


def listed(market: str) -> list[dict[str, str]]:
    """The rows of list `market`, in the listing's order."""
    return [instrument_row(code, market) for code, _, _ in ALL_STOCKS if market in LISTS[code]]


def single(code: str) -> dict[str, str] | None:
    """ka10100's record of `code` (marketCode its first list's), or None for a code not listed."""
    if code not in LISTS:
        return None
    return instrument_row(code, LISTS[code][0])
