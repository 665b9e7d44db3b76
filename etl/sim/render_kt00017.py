"""kt00017's answer (today's totals): one record of the sums of the lines the account's history books today, with
the D+2 cash and the shares held; an account without a history has no lines, only its cash and holdings."""

from __future__ import annotations

from typing import Any

from etl.sim.call import Call
from etl.sim.faults import spoil
from etl.sim.formats import amount
from etl.sim.renderer import Renderer
from etl.sim.wire import Answer, ok

MESSAGE = "조회가 완료되었습니다.."  # as Kiwoom's sample answer words it


def answer(call: Call) -> Answer:
    """The sums of the lines booked today (a trade on its settlement day, as kt00015 lists it), with the D+2 cash and
    shares. `tax` holds every tax (a sell's and a dividend's withholding), `dvida_amt` dividends before it, inq_amt
    the shares transferred in at today's prices, gnrl_stk_evlt_amt_d2 Σ quantity × price."""
    account = call.account
    today = call.today()
    history = account.history
    lines = [event for event in history.booked(today) if event.day == today] if history else []
    holdings = account.held(today)
    moved_in = [(e.code, e.quantity) for e in lines if e.kind == "securities_in"]

    def total(kind: str) -> int:
        return sum(event.amount for event in lines if event.kind == kind)

    values = {
        "d2_entra": account.cash(today)[2],
        "crd_int_npay_gold": 0,
        "etc_loana": 0,
        "gnrl_stk_evlt_amt_d2": sum(h.quantity * h.price for h in holdings),
        "dpst_grnt_use_amt_d2": history.loan(today) if history else 0,
        "crd_stk_evlt_amt_d2": 0,
        "crd_loan_d2": sum(h.loan for h in holdings),
        "crd_loan_evlta_d2": 0,
        "crd_ls_grnt_d2": 0,
        "crd_ls_evlta_d2": 0,
        "ina_amt": total("deposit"),
        "outa": total("withdrawal"),
        "inq_amt": sum(quantity * history.price(code, today) for code, quantity in moved_in) if history else 0,
        "outq_amt": 0,
        "sell_amt": total("sell"),
        "buy_amt": total("buy"),
        "cmsn": sum(event.commission for event in lines),
        "tax": sum(event.tax + event.income_tax for event in lines),
        "stk_pur_cptal_loan_amt": 0,
        "rp_evlt_amt": 0,
        "bd_evlt_amt": 0,
        "elsevlt_amt": 0,
        "crd_int_amt": 0,
        "sel_prica_grnt_loan_int_amt_amt": 0,
        "dvida_amt": total("dividend"),
    }
    payload: dict[str, Any] = {name: amount(value) for name, value in values.items()}
    headers = {"api-id": "kt00017", "cont-yn": "N", "next-key": ""}
    spoil(call.fault, payload, [], headers)
    return ok(payload, MESSAGE, headers)


RENDERER = Renderer(api_id="kt00017", answering=lambda kept: answer, bad_field="ina_amt")
