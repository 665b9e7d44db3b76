"""ka20006's answer (업종일봉조회요청): the seeded index's bars, ×100 integers, from base_dt back (weekdays up to the
simulator's today), newest first, a page at a time."""

from __future__ import annotations

from functools import partial

from etl.sim.bars import index_bar, weekdays_back
from etl.sim.call import Call, request_date
from etl.sim.renderer import Kept, Renderer
from etl.sim.stocks import INDEXES
from etl.sim.wire import BAD_INPUT, Answer, error

LIST_NAME = "inds_dt_pole_qry"
DEPTH = 600  # weekdays a chart reaches back


def answer(call: Call, kept: Kept) -> Answer:
    """The bars of inds_cd up to base_dt."""
    code, base = call.body.get("inds_cd"), request_date(call.body.get("base_dt"))
    if code not in INDEXES or base is None:
        return error(200, BAD_INPUT)

    market = kept.market()

    def lines() -> list[dict[str, str]]:
        days = weekdays_back(min(base, call.today()), DEPTH)
        if market is not None:  # only the days the simulator's market traded
            days = [day for day in days if market.trades_on(day)]
        bars = (index_bar(kept.seed, code, day) for day in days)
        return [
            {
                "cur_prc": str(bar.close),
                "trde_qty": str(bar.volume),
                "dt": f"{bar.day:%Y%m%d}",
                "open_pric": str(bar.open),
                "high_pric": str(bar.high),
                "low_pric": str(bar.low),
                "trde_prica": str(bar.value),
            }
            for bar in bars
        ]

    return kept.listed.answer(call, "ka20006", LIST_NAME, "정상적으로 처리되었습니다", {"inds_cd": code}, lines)


RENDERER = Renderer(
    api_id="ka20006", path="/api/dostk/chart", answering=lambda kept: partial(answer, kept=kept), bad_field="cur_prc"
)
