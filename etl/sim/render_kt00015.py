"""kt00015's answer (the transaction ledger): the lines of the account's history booked in the asked range by
today, filtered as the request says, a page at a time; a company's account is refused it."""

from __future__ import annotations

from functools import partial

from etl.sim.call import Call, request_date
from etl.sim.lines import ledger_line, masked
from etl.sim.pages import Listed
from etl.sim.renderer import Renderer
from etl.sim.wire import BAD_INPUT, Answer, error

LIST_NAME = "trst_ovrl_trde_prps_array"
MESSAGE = "조회가 완료되었습니다"  # as Kiwoom's sample answer words it
BODY = ("strt_dt", "end_dt", "tp", "stk_cd", "crnc_cd", "gds_tp", "frgn_stex_code", "dmst_stex_tp", "qry_sort_tp")
# tp → the kinds of line it lists (None: all). Dividends, the credit line (but under A) and a line of no known kind
# are listed under 0 only; the codes of foreign currency and of loans against sales list nothing here.
KINDS: dict[str, frozenset[str] | None] = {
    "0": None,
    "1": frozenset({"deposit", "withdrawal"}),
    "2": frozenset({"securities_in"}),
    "3": frozenset({"buy", "sell"}),
    "4": frozenset({"buy"}),
    "5": frozenset({"sell"}),
    "6": frozenset({"deposit"}),
    "7": frozenset({"withdrawal"}),
    "A": frozenset({"loan"}),
    "M": frozenset({"deposit", "withdrawal"}),  # 입출금+환전, and no currency is exchanged here
} | {code: frozenset() for code in "BCFGHIJ"}


def answer(call: Call, listed: Listed) -> Answer:
    """The lines booked in [strt_dt, end_dt] by today, filtered by tp (see KINDS), stock, product, currency and
    exchange (% all; KRX or NXT the lines of shares held there), oldest first unless qry_sort_tp 1."""
    account = call.account
    asked = {name: call.body.get(name, "") for name in BODY}
    first, last = request_date(asked["strt_dt"]), request_date(asked["end_dt"])
    if (
        first is None
        or last is None
        or first > last
        or not all(isinstance(value, str) for value in asked.values())
        or asked["tp"] not in KINDS
        or asked["gds_tp"] not in ("0", "1", "2", "3", "4")
        or asked["dmst_stex_tp"] not in ("%", "KRX", "NXT")
        or asked["qry_sort_tp"] not in ("", "1", "2")
    ):
        return error(200, BAD_INPUT)
    kinds = KINDS[asked["tp"]]
    code = asked["stk_cd"][1:] if len(asked["stk_cd"]) == 7 else asked["stk_cd"]  # A005930 or 005930
    exchange = asked["dmst_stex_tp"]
    # Every line is of domestic stocks, in won: funds, foreign stocks, other products and currencies have none.
    ours = asked["gds_tp"] in ("0", "1") and asked["crnc_cd"] in ("", "KRW")
    booked = account.history.booked(min(last, call.today())) if account.history and ours else []
    chosen = [
        event
        for event in booked
        if event.day >= first
        and (kinds is None or event.kind in kinds)
        and code in ("", event.code)
        and exchange in ("%", event.exchange)
    ]
    if asked["qry_sort_tp"] == "1":
        chosen.reverse()
    return listed.answer(
        call,
        "kt00015",
        LIST_NAME,
        MESSAGE,
        {"acnt_no": masked(account)},
        lambda: [ledger_line(event, account.holder) for event in chosen],
    )


RENDERER = Renderer(
    api_id="kt00015",
    answering=lambda kept: partial(answer, listed=kept.listed),
    bad_field="exct_amt",
    for_companies=False,
)
