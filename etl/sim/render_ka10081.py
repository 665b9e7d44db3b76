"""ka10081's answer (주식일봉차트조회요청): the seeded stock's unadjusted bars from base_dt back (weekdays up to the
simulator's today), newest first, a page at a time. A stock closes where the snapshots show it at the day's close:
at the price of the market the simulator plays (the demo's; no bar on a day it did not trade), else at the caller's
history's price of the day."""

from __future__ import annotations

from functools import partial

from etl.sim.bars import BASE_PRICES, stock_bar, weekdays_back
from etl.sim.call import Call, request_date
from etl.sim.renderer import Kept, Renderer
from etl.sim.wire import BAD_INPUT, Answer, error

LIST_NAME = "stk_dt_pole_chart_qry"
DEPTH = 600  # weekdays a chart reaches back


def answer(call: Call, kept: Kept) -> Answer:
    """The bars of stk_cd up to base_dt (upd_stkpc_tp 0 or 1: the made-up market has no split, so both agree)."""
    code, base = call.body.get("stk_cd"), request_date(call.body.get("base_dt"))
    if code not in BASE_PRICES or base is None or call.body.get("upd_stkpc_tp") not in ("0", "1"):
        return error(200, BAD_INPUT)
    history, market = call.account.history, kept.market()

    def lines() -> list[dict[str, str]]:
        made = []
        for day in weekdays_back(min(base, call.today()), DEPTH):
            if market is not None:
                close = market.close(code, day)
                if close is None:  # that market did not trade that day
                    continue
            else:
                close = history.price(code, day) if history is not None and code in history.prices else None
            bar = stock_bar(kept.seed, code, day, close)
            made.append(
                {
                    "cur_prc": str(bar.close),
                    "trde_qty": str(bar.volume),
                    "trde_prica": str(bar.value),
                    "dt": f"{bar.day:%Y%m%d}",
                    "open_pric": str(bar.open),
                    "high_pric": str(bar.high),
                    "low_pric": str(bar.low),
                    "pred_pre": "0",
                    "pred_pre_sig": "3",
                    "trde_tern_rt": "+0.10",
                }
            )
        return made

    return kept.listed.answer(call, "ka10081", LIST_NAME, "정상적으로 처리되었습니다", {"stk_cd": code}, lines)


RENDERER = Renderer(
    api_id="ka10081", path="/api/dostk/chart", answering=lambda kept: partial(answer, kept=kept), bad_field="cur_prc"
)
