"""ka10100's answer (종목정보 조회): the made-up listing's record of one code, flat; a code not listed is refused as
Kiwoom refuses a bad input."""

from __future__ import annotations

from etl.sim.call import Call
from etl.sim.faults import spoil
from etl.sim.instruments import single
from etl.sim.renderer import Renderer
from etl.sim.wire import BAD_INPUT, Answer, error, ok


def answer(call: Call) -> Answer:
    """The record of stk_cd."""
    record = single(str(call.body.get("stk_cd", "")))
    if record is None:
        return error(200, BAD_INPUT)
    headers: dict[str, str] = {}
    spoil(call.fault, record, [], headers)
    return ok(dict(record), "정상적으로 처리되었습니다", headers)


RENDERER = Renderer(api_id="ka10100", path="/api/dostk/stkinfo", answering=lambda kept: answer, bad_field="regDay")
