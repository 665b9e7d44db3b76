"""kt00005's answer (the balance): the positions held on one exchange, a page at a time, beside a summary whose
totals agree with them. The first answer shows the starting prices; each later first page moves them a little
(when the simulator's prices move) and freezes them for its continuations."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from etl.sim.call import Call
from etl.sim.faults import spoil
from etl.sim.formats import amount, rate
from etl.sim.pages import continued_from, page_of
from etl.sim.renderer import Kept, Renderer
from etl.sim.wire import BAD_INPUT, Answer, error, ok


class Balance:
    """kt00005 for every caller: the lines each (app key, exchange) was last shown, kept for the continuations."""

    def __init__(self, lock: threading.Lock, rng: random.Random) -> None:
        self._lock = lock  # guards the prices as they move, and `rng`
        self._rng = rng
        self._frozen: dict[tuple[str, str], list[dict[str, str]]] = {}

    def answer(self, call: Call, *, moves: bool) -> Answer:
        """A page of the balance on the body's dmst_stex_tp; prices move on a first request when `moves`."""
        account = call.account
        exchange = call.body.get("dmst_stex_tp")
        if exchange not in ("KRX", "NXT"):
            return error(200, BAD_INPUT)
        key = (account.appkey, exchange)
        start = 0
        if call.headers.get("cont-yn") == "Y":
            offset = continued_from(call.headers)
            if offset is None or key not in self._frozen:
                return error(200, BAD_INPUT)
            start = offset
        else:
            # The first answer shows the starting prices (so the API page's example line appears as printed).
            self._frozen[key] = self._lines(call, exchange, move=moves and key in self._frozen)
        lines = self._frozen[key]
        page, headers = page_of(lines, start, call.page_size, "kt00005")
        history = account.history
        credit = 0 if history else sum(h.loan for h in account.holdings.get(exchange, []))
        collateral = history.loan(call.today()) if history else 0
        payload = summary(account.cash(call.today()), lines, credit, collateral)
        payload["stk_cntr_remn"] = page
        spoil(call.fault, payload, page, headers)
        return ok(payload, headers=headers)

    def _lines(self, call: Call, exchange: str, *, move: bool) -> list[dict[str, str]]:
        account = call.account
        if account.history is not None:
            return [holding.line() for holding in account.held(call.today())]
        with self._lock:
            for holding in account.holdings.get(exchange, []) if move else []:
                step = self._rng.choice((-2, -1, 0, 1, 2))
                holding.price = max(100, holding.price + step * max(10, holding.price // 500))
            return [holding.line() for holding in account.holdings.get(exchange, [])]


def summary(cash: tuple[int, int, int], lines: list[dict[str, str]], loan: int, collateral_loan: int) -> dict[str, Any]:
    """The answer's summary: totals that agree with `lines`, the cash (entr, entr_d1, entr_d2), `loan` as
    crd_loan_tot and `collateral_loan` as dpst_grnt_use_amt_amt."""
    purchase = sum(int(line["pur_amt"]) for line in lines)
    evaluation = sum(int(line["evlt_amt"]) for line in lines)
    profit = evaluation - purchase
    deposit, d1, d2 = cash
    orderable = deposit * 5
    values = {
        "entr": deposit,
        "entr_d1": d1,
        "entr_d2": d2,
        "pymn_alow_amt": orderable,
        "uncl_stk_amt": 0,
        "repl_amt": evaluation * 6 // 10,
        "rght_repl_amt": 0,
        "ord_alowa": orderable,
        "ch_uncla": 0,
        "crd_int_npay_gold": 0,
        "etc_loana": 0,
        "nrpy_loan": 0,
        "profa_ch": deposit * 2,
        "repl_profa": 0,
        "stk_buy_tot_amt": purchase,
        "evlt_amt_tot": evaluation,
        "tot_pl_tot": profit,
        "tot_re_buy_alowa": orderable // 2,
        "20ord_alow_amt": d2,
        "30ord_alow_amt": d2,
        "40ord_alow_amt": d2,
        "50ord_alow_amt": d2,
        "60ord_alow_amt": d2,
        "100ord_alow_amt": d2,
        "crd_loan_tot": loan,
        "crd_loan_ls_tot": 0,
        "dpst_grnt_use_amt_amt": collateral_loan,
        "grnt_loan_amt": 0,
    }
    payload: dict[str, Any] = {name: amount(value) for name, value in values.items()}
    payload["tot_pl_rt"] = rate(profit, purchase)
    payload["crd_grnt_rt"] = rate(d2 + evaluation, loan)  # collateral over loan, "0.00" without one
    return payload


def _answering(kept: Kept) -> Callable[[Call], Answer]:
    balance = Balance(kept.lock, kept.rng)
    return lambda call: balance.answer(call, moves=kept.moves())


RENDERER = Renderer(api_id="kt00005", answering=_answering, bad_field="cur_prc")
