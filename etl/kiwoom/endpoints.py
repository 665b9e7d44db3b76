"""Endpoints: what the wire needs to ask one Kiwoom API — its api-id, path, request body, the list its pages carry,
and whether a "no data" answer is an empty page — as values the generic client takes (a REST stream's `path`,
`records_jsonpath` and request body, in meltano's terms).

The client's own endpoints (tokens, the account number, the balance) and the market APIs' (the instrument lists and
the daily bars, asked for no account) are here; the account APIs the project loads declare theirs in etl.apis,
beside their normaliser and table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ACCOUNT_PATH = "/api/dostk/acnt"
TOKEN_PATH = "/oauth2/token"
REVOKE_PATH = "/oauth2/revoke"


def no_body() -> Mapping[str, Any]:
    """The body of a request that takes no input: `{}`."""
    return {}


@dataclass(frozen=True)
class Endpoint:
    """One Kiwoom API as the wire sees it."""

    api_id: str
    path: str = ACCOUNT_PATH
    # The request body from the call's parameters (a range's days, an exchange); the same body asks every page.
    body: Callable[..., Mapping[str, Any]] = no_body
    # The list a page carries; an endpoint with one follows cont-yn/next-key, one without answers a flat record.
    list_key: str | None = None
    # A list TR answers an empty range with an error rather than an empty list: such an answer is an empty page.
    no_data_is_empty: bool = False
    # Its requests and answers carry credentials (the token calls): never kept, never quoted.
    secret: bool = False

    @property
    def paged(self) -> bool:
        """Whether its answer may come in pages (only list TRs page)."""
        return self.list_key is not None


TOKEN = Endpoint("au10001", TOKEN_PATH, secret=True)
REVOKE = Endpoint("au10002", REVOKE_PATH, secret=True)
# ka00001: the number behind the app key (kt00005's answer carries none).
ACCOUNT_NUMBER = Endpoint("ka00001")
# kt00005: one exchange's balance and positions (stk_cntr_remn).
BALANCE = Endpoint("kt00005", body=lambda exchange: {"dmst_stex_tp": exchange}, list_key="stk_cntr_remn")

# The market APIs: no account's, asked with any account's token.
STOCK_INFO_PATH = "/api/dostk/stkinfo"
CHART_PATH = "/api/dostk/chart"
# ka10099 종목정보 리스트: one market's list (mrkt_tp), paged.
INSTRUMENT_LIST = Endpoint("ka10099", STOCK_INFO_PATH, body=lambda market: {"mrkt_tp": market}, list_key="list")
# ka10100 종목정보 조회: one code, a flat record.
INSTRUMENT = Endpoint("ka10100", STOCK_INFO_PATH, body=lambda code: {"stk_cd": code})
# ka20006 업종일봉조회요청: an index's daily bars from base_dt back, newest first, paged.
INDEX_DAILY = Endpoint(
    "ka20006",
    CHART_PATH,
    body=lambda code, until: {"inds_cd": code, "base_dt": f"{until:%Y%m%d}"},
    list_key="inds_dt_pole_qry",
)
# ka10081 주식일봉차트조회요청: a stock's daily bars from base_dt back, newest first, paged; unadjusted prices
# (upd_stkpc_tp 0): a stored bar never changes after a later split.
STOCK_DAILY = Endpoint(
    "ka10081",
    CHART_PATH,
    body=lambda code, until: {"stk_cd": code, "base_dt": f"{until:%Y%m%d}", "upd_stkpc_tp": "0"},
    list_key="stk_dt_pole_chart_qry",
)
