"""ka10099's answer (종목정보 리스트): the made-up listing's rows of the asked market list (mrkt_tp), a page at a
time; a list with no code is an empty list."""

from __future__ import annotations

from functools import partial

from etl.sim.call import Call
from etl.sim.instruments import listed
from etl.sim.pages import Listed
from etl.sim.renderer import Renderer
from etl.sim.wire import BAD_INPUT, Answer, error

MARKET_LISTS = {"0", "10", "30", "50", "60", "70", "80", "90", "2", "3", "4", "5", "6", "7", "8", "9"}


def answer(call: Call, listed_answers: Listed) -> Answer:
    """The rows of list mrkt_tp."""
    market = call.body.get("mrkt_tp")
    if market not in MARKET_LISTS:
        return error(200, BAD_INPUT)
    return listed_answers.answer(call, "ka10099", "list", "정상적으로 처리되었습니다", {}, lambda: listed(market))


RENDERER = Renderer(
    api_id="ka10099",
    path="/api/dostk/stkinfo",
    answering=lambda kept: partial(answer, listed_answers=kept.listed),
    bad_field="regDay",
)
