"""ka00001's answer: the number of the account whose token asks."""

from __future__ import annotations

from etl.sim.call import Call
from etl.sim.renderer import Renderer
from etl.sim.wire import Answer, ok


def answer(call: Call) -> Answer:
    """The caller's account number, as acctNo."""
    return ok({"acctNo": call.account.acct_no})


RENDERER = Renderer(api_id="ka00001", answering=lambda kept: answer)
