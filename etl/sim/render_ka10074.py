"""ka10074's answer (daily realised profit): a line per trade day in the asked range, by today, on which the
account's history sold something ("filled only on the days with realised profit"), a page at a time; the profit is
the simulator's own, at its average price (kt00005's buy_uv), as Kiwoom's is at its undocumented cost."""

from __future__ import annotations

from functools import partial

from etl.sim.call import Call, request_date
from etl.sim.history import RealizedDay
from etl.sim.pages import Listed
from etl.sim.renderer import Renderer
from etl.sim.wire import BAD_INPUT, Answer, error

LIST_NAME = "dt_rlzt_pl"
MESSAGE = "일자별실현손익 조회가 완료되었습니다"


def line(day: RealizedDay) -> dict[str, str]:
    """One day's line: plain integers in 원, as ka10074 writes them (not zero-padded), the profit signed."""
    return {
        "dt": f"{day.day:%Y%m%d}",
        "buy_amt": str(day.bought),
        "sell_amt": str(day.sold),
        "tdy_sel_pl": str(day.profit),
        "tdy_trde_cmsn": str(day.commission),
        "tdy_trde_tax": str(day.tax),
    }


def answer(call: Call, listed: Listed) -> Answer:
    """The days in [strt_dt, end_dt] with a sale done by today, oldest first, beside the range's totals; no line
    for an account without a history."""
    first, last = request_date(call.body.get("strt_dt")), request_date(call.body.get("end_dt"))
    if first is None or last is None or first > last:
        return error(200, BAD_INPUT)
    history = call.account.history
    days = [d for d in history.realized(min(last, call.today())) if d.day >= first] if history else []
    totals = {
        "tot_buy_amt": str(sum(d.bought for d in days)),
        "tot_sell_amt": str(sum(d.sold for d in days)),
        "rlzt_pl": str(sum(d.profit for d in days)),
        "trde_cmsn": str(sum(d.commission for d in days)),
        "trde_tax": str(sum(d.tax for d in days)),
    }
    return listed.answer(call, "ka10074", LIST_NAME, MESSAGE, totals, lambda: [line(d) for d in days])


RENDERER = Renderer(api_id="ka10074", answering=lambda kept: partial(answer, listed=kept.listed), bad_field="sell_amt")
