"""kt00005 (체결잔고요청), the account's balance and positions, declared once: one exchange a request, every page
one snapshot, taken at every scheduled slot into account_snapshots and position_snapshots. Its load is the one door
every snapshot goes through (etl.store.load: fetch, spool, flush, import and replay alike)."""

from __future__ import annotations

from etl.apis.api import Api, Claim
from etl.kiwoom.endpoints import BALANCE
from etl.store.dictionary import Counted
from etl.store.models import AccountSnapshot, DailyClose, DailyReturn, PositionSnapshot, RealizedSale

SNAPSHOT = Api(
    endpoint=BALANCE,
    what="snapshot",
    fetched="a snapshot",
    counted=Counted("positions", "loaded"),
    claim=Claim.SLOT,
    table=AccountSnapshot.__table__,
    # daily_closes, daily_returns and realized_sales (an account's first close): derived by every load
    also_writes=(PositionSnapshot.__table__, DailyClose.__table__, DailyReturn.__table__, RealizedSale.__table__),
)
