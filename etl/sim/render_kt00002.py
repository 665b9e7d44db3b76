"""kt00002's answer (daily estimated assets): a line per weekday of the asked range that the account's history
covers by today, a page at a time."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from etl.sim.call import Call, request_date
from etl.sim.lines import assets_line
from etl.sim.pages import Listed
from etl.sim.renderer import Renderer
from etl.sim.wire import BAD_INPUT, Answer, error

LIST_NAME = "daly_prsm_dpst_aset_amt_prst"
MESSAGE = "일자별 계좌별 추정예탁자산 내역이 조회 되었습니다."  # as Kiwoom's sample answer words it


def answer(call: Call, listed: Listed) -> Answer:
    """A line per weekday in [start_dt, end_dt] from the history's start to today: the booked cash (entr), the
    credit lines' loan (grnt_use_amt), and the estimated assets entr + Σ booked shares × the day's price
    (prsm_dpst_aset_amt, the same without funds: no fund is held); no line for an account without a history."""
    first, last = request_date(call.body.get("start_dt")), request_date(call.body.get("end_dt"))
    if first is None or last is None or first > last:
        return error(200, BAD_INPUT)
    history = call.account.history
    if history is None:
        return listed.answer(call, "kt00002", LIST_NAME, MESSAGE, {}, list)
    days = []
    day, end = max(first, history.start), min(last, call.today())
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return listed.answer(call, "kt00002", LIST_NAME, MESSAGE, {}, lambda: [assets_line(history, d) for d in days])


RENDERER = Renderer(api_id="kt00002", answering=lambda kept: partial(answer, listed=kept.listed), bad_field="entr")
