"""The simulator's account history over HTTP: kt00015's ledger page by page, kt00017's totals of a day, kt00002's
days and kt00005, each checked against the history's events (expectations computed here, from the events' kinds
and amounts); "no data" in both of its forms, 8104 for an API the mock server does not support, faults on the
history's APIs."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from etl.sim.accounts import SimAccount, make_account
from etl.sim.history import Event, History, make_history
from etl.sim.simulator import Simulator, serve

START = date(2025, 3, 3)  # a Monday
DAYS = 42  # six weeks: 30 weekdays
END = START + timedelta(days=DAYS - 1)
# The official kt00015 sample line's keys, in its order: every field of the API page's table.
LEDGER_FIELDS = list(
    json.loads(
        '{"trde_dt":"20241121","trde_no":"000000001","rmrk_nm":"장내매도","crd_deal_tp_nm":"보통매매",'
        '"exct_amt":"000000000056798","loan_amt_rpya":"000000000000000","fc_trde_amt":"0.00","fc_exct_amt":"0.00",'
        '"entra_remn":"000000994658290","crnc_cd":"KRW","trde_ocr_tp":"9","trde_kind_nm":"매매","stk_nm":"삼성전자",'
        '"trde_amt":"000000000056900","trde_agri_tax":"000000000000102","rpy_diffa":"000000000000000",'
        '"fc_trde_tax":"0.00","dly_sum":"000000000000000","fc_entra":"0.00","mdia_tp_nm":"REST API","io_tp":"1",'
        '"io_tp_nm":"매도","orig_deal_no":"000000000","stk_cd":"A005930","trde_qty_jwa_cnt":"1",'
        '"cmsn":"000000000000000","int_ls_usfe":"000000000000000","fc_cmsn":"0.00","fc_dly_sum":"0.00",'
        '"vlbl_nowrm":"21","proc_tm":"08:12:35","isin_cd":"KR7005930003","stex_cd":"","stex_nm":"",'
        '"trde_unit":"56,900","incm_resi_tax":"000000000000000","loan_dt":"","uncl_ocr":"","rpym_sum":"",'
        '"cntr_dt":"20241119","rcpy_no":"","prcsr":"DAILY","proc_brch":"키움은행","trde_stle":"",'
        '"txon_base_pric":"0.00","tax_sum_cmsn":"000000000000102","frgn_pay_txam":"0.00","fc_uncl_ocr":"0.00",'
        '"rpym_sum_fr":"","rcpmnyer":"","trde_prtc_tp":"11"}'
    )
)
LEDGER_AMOUNTS = [
    "exct_amt",
    "loan_amt_rpya",
    "entra_remn",
    "trde_amt",
    "trde_agri_tax",
    "rpy_diffa",
    "dly_sum",
    "cmsn",
    "int_ls_usfe",
    "incm_resi_tax",
    "tax_sum_cmsn",
]
LEDGER_FOREIGN = [name for name in LEDGER_FIELDS if name.startswith("fc_")] + ["txon_base_pric", "frgn_pay_txam"]
TODAY_FIELDS = (
    "d2_entra crd_int_npay_gold etc_loana gnrl_stk_evlt_amt_d2 dpst_grnt_use_amt_d2 crd_stk_evlt_amt_d2 crd_loan_d2 "
    "crd_loan_evlta_d2 crd_ls_grnt_d2 crd_ls_evlta_d2 ina_amt outa inq_amt outq_amt sell_amt buy_amt cmsn tax "
    "stk_pur_cptal_loan_amt rp_evlt_amt bd_evlt_amt elsevlt_amt crd_int_amt sel_prica_grnt_loan_int_amt_amt dvida_amt"
).split()
ASSETS_FIELDS = "dt entr grnt_use_amt crd_loan ls_grnt repl_amt prsm_dpst_aset_amt prsm_dpst_aset_amt_bncr_skip".split()
AMOUNT_12 = re.compile(r"-?[0-9]{11,12}")
NOT_IN_MOCK = "모의투자에서 지원하지 않는 API 입니다.[8104:모의투자에서 지원하지 않는 API 입니다.]"


class Today:
    """A `today` for the simulator that a test moves."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __call__(self) -> date:
        return self.day


class Caller:
    """A client as the API wants one: a token from au10001, then POSTs with api-id and the bearer token."""

    def __init__(self, url: str, account: SimAccount) -> None:
        self.url = url
        issued = requests.post(
            f"{url}/oauth2/token",
            headers={"api-id": "au10001"},
            json={"grant_type": "client_credentials", "appkey": account.appkey, "secretkey": account.secretkey},
            timeout=5,
        )
        self.token = issued.json()["token"]

    def post(self, api_id: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> requests.Response:
        sent = {"api-id": api_id, "authorization": f"Bearer {self.token}"} | (headers or {})
        return requests.post(f"{self.url}/api/dostk/acnt", headers=sent, json=body, timeout=5)

    def pages(self, api_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Every page of a list answer: the same body again with cont-yn Y and the next-key while cont-yn says Y."""
        answers, headers = [], {}
        while True:
            response = self.post(api_id, body, headers)
            assert response.status_code == 200 and response.json()["return_code"] == 0, response.text
            answers.append(response.json())
            if response.headers.get("cont-yn") != "Y":
                return answers
            assert len(answers) < 100, "the pages never end"
            headers = {"cont-yn": "Y", "next-key": response.headers["next-key"]}


def history(seed: int = 3) -> History:
    return make_history(START, DAYS, seed=seed)


def simulator(today: date | Today, **options: Any) -> Simulator:
    """Account 1 with the history, three lines a page, a generous pace, and `today` fixed (or moved by the test)."""
    account = replace(make_account(1, 0), history=history())
    values: dict[str, Any] = {"accounts": [account], "page_size": 3, "rate_per_second": 1000, "burst": 1000}
    return Simulator(**values, today=today if isinstance(today, Today) else Today(today), **options)


@pytest.fixture
def served() -> Iterator[tuple[Simulator, Caller]]:
    """The simulator on loopback with `today` after the history's last day, and a client of its account."""
    sim = simulator(END + timedelta(days=3))
    with serve(sim) as url:
        yield sim, Caller(url, sim.accounts[0])


def ledger_body(first: date, last: date, **changes: str) -> dict[str, str]:
    body = {
        "strt_dt": f"{first:%Y%m%d}",
        "end_dt": f"{last:%Y%m%d}",
        "tp": "0",
        "stk_cd": "",
        "crnc_cd": "",
        "gds_tp": "0",
        "frgn_stex_code": "",
        "dmst_stex_tp": "%",
        "qry_sort_tp": "2",
    }
    return body | changes


def ledger(caller: Caller, body: dict[str, str]) -> list[dict[str, str]]:
    return [line for page in caller.pages("kt00015", body) for line in page["trst_ovrl_trde_prps_array"]]


def cash_effect(event: Event) -> int:
    """What a line does to the cash, from its kind and amounts alone."""
    if event.kind == "buy":
        return -(event.amount + event.commission)
    if event.kind == "sell":
        return event.amount - event.tax - event.commission
    if event.kind == "dividend":
        return event.amount - event.income_tax
    if event.kind == "withdrawal":
        return -event.amount
    if event.kind == "securities_in":
        return 0
    return event.amount  # a deposit, the credit line, the other line


def share_effect(event: Event) -> int:
    if event.kind == "sell":
        return -event.quantity
    return event.quantity if event.kind in ("buy", "securities_in") else 0


def booked_cash(events: tuple[Event, ...], day: date) -> int:
    return sum(cash_effect(e) for e in events if e.day <= day)


def weekdays_before(day: date, count: int) -> date:
    while count:
        day -= timedelta(days=1)
        count -= day.weekday() < 5
    return day


def test_the_history_holds_the_lines_a_client_must_tell_apart() -> None:
    events = history().events
    kinds = Counter(e.kind for e in events)
    assert kinds["deposit"] >= 2 and kinds["buy"] >= 3 and kinds["sell"] >= 2
    assert all(kinds[kind] == 1 for kind in ("dividend", "withdrawal", "loan", "other", "securities_in"))
    remarks = {e.kind: e.remark for e in events}
    assert remarks["deposit"] == "이체입금" and remarks["withdrawal"] == "이체출금"
    assert (remarks["buy"], remarks["sell"], remarks["dividend"]) == ("장내매수", "장내매도", "배당금입금")
    assert (remarks["loan"], remarks["other"], remarks["securities_in"]) == (
        "예탁담보대출입금",
        "기타정산금",
        "대체입고",
    )
    assert any(e.exchange == "NXT" for e in events if e.kind == "buy")
    for e in events:
        assert e.net == cash_effect(e)
        assert e.commission == (e.amount * 15 // 100_000 if e.kind in ("buy", "sell") else 0)
        assert e.tax == (e.amount * 18 // 10_000 if e.kind == "sell" else 0)
        assert e.income_tax == (e.amount * 154 // 1000 if e.kind == "dividend" else 0)
        assert e.trade_day == (weekdays_before(e.day, 2) if e.kind in ("buy", "sell") else e.day)
        assert e.day.weekday() < 5 and START <= e.trade_day <= e.day <= END
    transfer = next(e for e in events if e.kind == "securities_in")
    assert transfer.amount == 0 and transfer.quantity > 0


def test_balances_run_on_from_zero_and_numbers_restart_every_day() -> None:
    for seed in range(5):
        for days in (14, 42, 120):
            events = make_history(START, days, seed=seed).events
            assert [(e.day, e.number) for e in events] == sorted((e.day, e.number) for e in events)
            balance = 0
            for e in events:
                balance += cash_effect(e)
                assert e.balance == balance >= 0
            per_day = Counter(e.day for e in events)
            assert [e.number for e in events] == [n for day in sorted(per_day) for n in range(1, per_day[day] + 1)]


def test_a_history_is_the_same_for_a_seed_and_needs_ten_weekdays() -> None:
    assert history(3) == history(3) and history(3).events != history(4).events
    with pytest.raises(ValueError, match="10 weekdays"):
        make_history(START, 11)  # 9 weekdays


@pytest.mark.parametrize("order", ["1", "2", ""])
def test_the_ledger_comes_in_pages_with_every_line_once_in_order(served: tuple[Simulator, Caller], order: str) -> None:
    sim, caller = served
    pages = caller.pages("kt00015", ledger_body(START, END, qry_sort_tp=order))
    got = [(line["trde_dt"], line["trde_no"]) for page in pages for line in page["trst_ovrl_trde_prps_array"]]
    expected = sorted((f"{e.day:%Y%m%d}", f"{e.number:09d}") for e in history().events)
    assert got == (expected[::-1] if order == "1" else expected)
    assert len(pages) >= 4 and all(len(page["trst_ovrl_trde_prps_array"]) <= 3 for page in pages)
    continued = [r for r in sim.requests if r["api_id"] == "kt00015" and r["cont-yn"] == "Y"]
    assert len(continued) == len(pages) - 1


def test_every_ledger_line_has_the_official_fields_and_agrees_with_its_event(
    served: tuple[Simulator, Caller],
) -> None:
    _, caller = served
    pages = caller.pages("kt00015", ledger_body(START, END))
    assert all(re.fullmatch(r"[0-9]{4}-[0-9]\*{3}-[0-9]{2} \[김키움\]", page["acnt_no"]) for page in pages)
    lines = [line for page in pages for line in page["trst_ovrl_trde_prps_array"]]
    events = history().events
    assert len(lines) == len(events)
    balance = 0
    for line, e in zip(lines, events, strict=True):
        assert list(line) == LEDGER_FIELDS and all(isinstance(value, str) for value in line.values())
        assert all(re.fullmatch(r"-?[0-9]{14,15}", line[name]) and len(line[name]) == 15 for name in LEDGER_AMOUNTS)
        assert all(line[name] == "0.00" for name in LEDGER_FOREIGN)
        assert re.fullmatch(r"[0-9]{9}", line["trde_no"]) and line["orig_deal_no"] == "000000000"
        assert re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})*", line["trde_unit"])
        assert int(line["trde_unit"].replace(",", "")) == e.price
        assert (line["trde_dt"], line["cntr_dt"]) == (f"{e.day:%Y%m%d}", f"{e.trade_day:%Y%m%d}")
        assert line["rmrk_nm"] == e.remark and line["trde_qty_jwa_cnt"] == str(e.quantity)
        assert line["stk_cd"] == (f"A{e.code}" if e.code else "")
        assert int(line["trde_amt"]) == e.amount and int(line["cmsn"]) == e.commission
        assert int(line["trde_agri_tax"]) == e.tax and int(line["incm_resi_tax"]) == e.income_tax
        if e.kind == "sell":
            assert int(line["exct_amt"]) == e.amount - e.tax - e.commission
            assert (line["io_tp"], line["io_tp_nm"]) == ("1", "매도")
        elif e.kind == "buy":
            assert int(line["exct_amt"]) == e.amount + e.commission
            assert (line["io_tp"], line["io_tp_nm"]) == ("2", "매수")
        elif e.kind == "dividend":
            assert int(line["exct_amt"]) == e.amount - e.income_tax > 0
        else:
            assert int(line["exct_amt"]) == e.amount
        if e.kind in ("deposit", "withdrawal"):
            assert line["io_tp_nm"] == {"deposit": "입금", "withdrawal": "출금"}[e.kind]
        balance += cash_effect(e)
        assert int(line["entra_remn"]) == balance


def test_the_ledger_lists_only_the_lines_booked_by_today() -> None:
    events = history().events
    today = events[len(events) // 2].day
    sim = simulator(today)
    with serve(sim) as url:
        lines = ledger(Caller(url, sim.accounts[0]), ledger_body(START - timedelta(days=30), END + timedelta(days=30)))
    assert [(line["trde_dt"], line["trde_no"]) for line in lines] == [
        (f"{e.day:%Y%m%d}", f"{e.number:09d}") for e in events if e.day <= today
    ]


def test_tp_exchange_and_stock_choose_the_lines(served: tuple[Simulator, Caller]) -> None:
    _, caller = served
    events = history().events

    def kinds(**changes: str) -> list[str]:
        remarks = {e.remark: e.kind for e in events}
        return [remarks[line["rmrk_nm"]] for line in ledger(caller, ledger_body(START, END, **changes))]

    assert sorted(kinds(tp="1")) == sorted(e.kind for e in events if e.kind in ("deposit", "withdrawal"))
    assert set(kinds(tp="4")) == {"buy"} and kinds(tp="A") == ["loan"] and kinds(tp="2") == ["securities_in"]
    nxt = ledger(caller, ledger_body(START, END, dmst_stex_tp="NXT"))
    assert [line["stk_cd"] for line in nxt] == [f"A{e.code}" for e in events if e.exchange == "NXT"]
    assert {line["stex_cd"] for line in nxt} == {"NXT"}
    code = next(e.code for e in events if e.kind == "dividend")
    one = ledger(caller, ledger_body(START, END, stk_cd=f"A{code}"))
    assert len(one) == sum(e.code == code for e in events) and {line["stk_cd"] for line in one} == {f"A{code}"}
    bad = caller.post("kt00015", ledger_body(START, END, tp="Z")).json()
    assert bad["return_code"] == 2 and "[1517:" in bad["return_msg"]


@pytest.mark.parametrize("form", ["list", "error"])
def test_no_data_comes_in_the_form_chosen(form: str) -> None:
    before = START - timedelta(days=20)
    plain = make_account(2, 3)
    sim = simulator(END, empty_ledger_form=form)
    sim.accounts.append(plain)
    with serve(sim) as url:
        asked = [
            (Caller(url, sim.accounts[0]), "kt00015", ledger_body(before, before + timedelta(days=7))),
            (Caller(url, sim.accounts[0]), "kt00002", {"start_dt": f"{before:%Y%m%d}", "end_dt": f"{before:%Y%m%d}"}),
            (Caller(url, plain), "kt00015", ledger_body(START, END)),
            (Caller(url, plain), "kt00002", {"start_dt": f"{START:%Y%m%d}", "end_dt": f"{END:%Y%m%d}"}),
        ]
        for caller, api_id, body in asked:
            response = caller.post(api_id, body)
            assert response.status_code == 200
            if form == "error":
                assert response.json() == {"return_code": 2000, "return_msg": "[2000](501724:관련자료가없습니다)"}
            else:
                answer = response.json()
                name = "trst_ovrl_trde_prps_array" if api_id == "kt00015" else "daly_prsm_dpst_aset_amt_prst"
                assert answer["return_code"] == 0 and answer[name] == []
                assert response.headers["cont-yn"] == "N"


def test_an_api_switched_off_answers_8104_and_kt00005_still_works() -> None:
    sim = simulator(END, unsupported={"kt00015", "kt00017", "kt00002", "ka01690"})
    with serve(sim) as url:
        caller = Caller(url, sim.accounts[0])
        for api_id in ("kt00015", "kt00017", "kt00002", "ka01690"):
            response = caller.post(api_id, {})
            assert response.status_code == 200
            assert response.json() == {"return_code": 2, "return_msg": NOT_IN_MOCK}
        balance = caller.post("kt00005", {"dmst_stex_tp": "KRX"})
        assert balance.json()["return_code"] == 0 and "stk_cntr_remn" in balance.json()


def test_today_totals_are_the_sums_of_the_lines_booked_that_day() -> None:
    past = history()
    events = past.events
    today = Today(START)
    sim = simulator(today)
    seen: Counter[str] = Counter()
    with serve(sim) as url:
        caller = Caller(url, sim.accounts[0])
        for day in past.weekdays:
            today.day = day
            answer = caller.post("kt00017", {}).json()
            assert answer["return_code"] == 0
            record = {name: value for name, value in answer.items() if not name.startswith("return_")}
            assert list(record) == TODAY_FIELDS and all(AMOUNT_12.fullmatch(value) for value in record.values())
            lines = [e for e in events if e.day == day]

            def total(kind: str, lines: list[Event] = lines) -> int:
                return sum(e.amount for e in lines if e.kind == kind)

            moved_in = sum(e.quantity * past.price(e.code, day) for e in lines if e.kind == "securities_in")
            held: Counter[str] = Counter()
            for e in events:
                if e.trade_day <= day and share_effect(e):
                    held[e.code] += share_effect(e)
            expected = {
                "ina_amt": total("deposit"),
                "outa": total("withdrawal"),
                "inq_amt": moved_in,
                "sell_amt": total("sell"),
                "buy_amt": total("buy"),
                "cmsn": sum(e.commission for e in lines),
                "tax": sum(e.tax + e.income_tax for e in lines),
                "dvida_amt": total("dividend"),
                "d2_entra": sum(cash_effect(e) for e in events if e.trade_day <= day),
                "gnrl_stk_evlt_amt_d2": sum(quantity * past.price(code, day) for code, quantity in held.items()),
                "dpst_grnt_use_amt_d2": sum(e.amount for e in events if e.kind == "loan" and e.day <= day),
                "outq_amt": 0,
            }
            assert {name: int(record[name]) for name in expected} == expected, day
            seen.update(name for name, value in expected.items() if value)
    assert all(seen[name] for name in ("ina_amt", "outa", "inq_amt", "sell_amt", "buy_amt", "cmsn", "tax", "dvida_amt"))


def test_daily_assets_have_a_line_per_weekday_with_the_days_cash_and_holdings() -> None:
    past = history()
    today = END + timedelta(days=4)
    sim = simulator(today)
    with serve(sim) as url:
        caller = Caller(url, sim.accounts[0])
        body = {"start_dt": f"{START - timedelta(days=10):%Y%m%d}", "end_dt": f"{today + timedelta(days=10):%Y%m%d}"}
        pages = caller.pages("kt00002", body)
        ledger_lines = ledger(caller, ledger_body(START, today))
    lines = [line for page in pages for line in page["daly_prsm_dpst_aset_amt_prst"]]
    days = [START + timedelta(days=n) for n in range((today - START).days + 1)]
    assert [line["dt"] for line in lines] == [f"{d:%Y%m%d}" for d in days if d.weekday() < 5]
    assert len(pages) >= 5
    last_balance: dict[str, int] = {}
    for line in ledger_lines:
        last_balance[line["trde_dt"]] = int(line["entra_remn"])
    cash = 0
    for line in lines:
        assert list(line) == ASSETS_FIELDS and all(AMOUNT_12.fullmatch(line[name]) for name in ASSETS_FIELDS[1:])
        day = date(int(line["dt"][:4]), int(line["dt"][4:6]), int(line["dt"][6:]))
        cash = last_balance.get(line["dt"], cash)  # the ledger's balance at the day's end, carried over
        assert int(line["entr"]) == cash == booked_cash(past.events, day)
        held: Counter[str] = Counter()
        for e in past.events:
            if e.day <= day and share_effect(e):
                held[e.code] += share_effect(e)
        assets = cash + sum(quantity * past.price(code, day) for code, quantity in held.items())
        assert int(line["prsm_dpst_aset_amt"]) == int(line["prsm_dpst_aset_amt_bncr_skip"]) == assets
        loans = sum(e.amount for e in past.events if e.kind == "loan" and e.day <= day)
        assert int(line["grnt_use_amt"]) == loans


def balance(caller: Caller, exchange: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    pages = caller.pages("kt00005", {"dmst_stex_tp": exchange})
    return pages[0], [line for page in pages for line in page["stk_cntr_remn"]]


@pytest.mark.parametrize("when", ["a trade not yet booked", "after the history"])
def test_kt00005_holds_what_the_ledger_led_to(when: str) -> None:
    past = history()
    events = past.events
    last_buy = max((e for e in events if e.kind == "buy"), key=lambda e: e.day)
    today = last_buy.trade_day if when == "a trade not yet booked" else END + timedelta(days=1)
    sim = simulator(today)
    with serve(sim) as url:
        caller = Caller(url, sim.accounts[0])
        answers = {exchange: balance(caller, exchange) for exchange in ("KRX", "NXT")}
    booked = sum(cash_effect(e) for e in events if e.day <= today)
    done = sum(cash_effect(e) for e in events if e.trade_day <= today)
    assert (when == "after the history") == (booked == done)
    for summary, lines in answers.values():  # each exchange lists the whole account
        assert (int(summary["entr"]), int(summary["entr_d2"])) == (booked, done)
        loans = sum(e.amount for e in events if e.kind == "loan" and e.day <= today)
        assert int(summary["dpst_grnt_use_amt_amt"]) == loans
        held: dict[str, list[int]] = {}
        for e in events:  # every holding, wherever it was bought: kt00005 lists the whole account on either exchange
            if e.trade_day <= today and share_effect(e):
                counts = held.setdefault(e.code, [0, 0])
                counts[0] += share_effect(e)
                counts[1] += share_effect(e) if e.day <= today else 0
        expected = {f"A{code}": counts for code, counts in held.items() if counts != [0, 0]}
        assert {line["stk_cd"]: [int(line["cur_qty"]), int(line["setl_remn"])] for line in lines} == expected
        assert len(lines) == len(expected)
        assert all(int(line["cur_prc"]) == past.price(line["stk_cd"][1:], today) for line in lines)
    krx = {line["stk_cd"]: line for line in answers["KRX"][1]}
    if when == "a trade not yet booked":
        assert int(krx[f"A{last_buy.code}"]["setl_remn"]) == 0 < int(krx[f"A{last_buy.code}"]["cur_qty"])


def test_faults_apply_to_the_history_apis(served: tuple[Simulator, Caller]) -> None:
    sim, caller = served
    body = ledger_body(START, END)
    sim.inject("bad_value", api_id="kt00015", field="exct_amt", value="12,3")
    spoiled = caller.post("kt00015", body).json()["trst_ovrl_trde_prps_array"]
    assert spoiled[0]["exct_amt"] == "12,3" and spoiled[1]["exct_amt"] != "12,3"
    assert caller.post("kt00015", body).json()["trst_ovrl_trde_prps_array"][0]["exct_amt"] != "12,3"
    sim.inject("broken_json", api_id="kt00015")
    with pytest.raises(ValueError):
        caller.post("kt00015", body).json()
    sim.inject("http_500", api_id="kt00017")
    assert caller.post("kt00017", {}).status_code == 500
    sim.inject("bad_value", api_id="kt00017", field="dvida_amt", value="-")
    assert caller.post("kt00017", {}).json()["dvida_amt"] == "-"
    assets = {"start_dt": f"{START:%Y%m%d}", "end_dt": f"{END:%Y%m%d}"}
    sim.inject("rate_limit", api_id="kt00002")
    limited = caller.post("kt00002", assets)
    assert (
        limited.status_code == 429 and limited.json()["return_code"] == 5 and "[1700:" in limited.json()["return_msg"]
    )
    sim.inject("loop_next_key", api_id="kt00002")
    looping = caller.post("kt00002", assets)
    assert (looping.headers["cont-yn"], looping.headers["next-key"]) == ("Y", "SIM0")
    assert caller.post("kt00002", assets).json()["return_code"] == 0 and not sim.faults


def test_a_continuation_must_repeat_the_first_body(served: tuple[Simulator, Caller]) -> None:
    _, caller = served
    first = caller.post("kt00015", ledger_body(START, END))
    assert first.headers["cont-yn"] == "Y"
    other = caller.post(
        "kt00015", ledger_body(START, END, tp="3"), {"cont-yn": "Y", "next-key": first.headers["next-key"]}
    )
    assert other.json()["return_code"] == 2 and "[1517:" in other.json()["return_msg"]


def test_an_account_without_a_history_answers_as_before_and_has_no_flows() -> None:
    plain = make_account(1, 4)
    assert plain.history is None
    sim = Simulator(accounts=[plain], rate_per_second=1000, burst=1000, moves=False, today=Today(END))
    with serve(sim) as url:
        caller = Caller(url, plain)
        totals = caller.post("kt00017", {}).json()
        summary = caller.post("kt00005", {"dmst_stex_tp": "KRX"}).json()
    flows = ("ina_amt", "outa", "inq_amt", "outq_amt", "sell_amt", "buy_amt", "cmsn", "tax", "dvida_amt")
    assert all(totals[name] == "000000000000" for name in flows)
    assert totals["d2_entra"] == summary["entr_d2"]
    value = sum(h.quantity * h.price for lines in plain.holdings.values() for h in lines)
    assert int(totals["gnrl_stk_evlt_amt_d2"]) == value
    assert summary["entr"] == f"{plain.deposit:012d}" and summary["dpst_grnt_use_amt_amt"] == "000000000000"


def test_realised_profit_lists_each_trade_day_with_a_sale_at_the_average_price() -> None:
    past = history()
    today = END + timedelta(days=3)
    sim = simulator(today)
    with serve(sim) as url:
        caller = Caller(url, sim.accounts[0])
        pages = caller.pages("ka10074", {"strt_dt": f"{START:%Y%m%d}", "end_dt": f"{today:%Y%m%d}"})
        later = caller.pages("ka10074", {"strt_dt": f"{END:%Y%m%d}", "end_dt": f"{today:%Y%m%d}"})
        refused = caller.post("ka10074", {"strt_dt": f"{END:%Y%m%d}", "end_dt": f"{START:%Y%m%d}"}).json()
    lines = [line for page in pages for line in page["dt_rlzt_pl"]]
    # From the events: the average price per exchange and stock before each sale (kt00005's buy_uv, whole won).
    expected: dict[date, list[int]] = {}
    held: dict[tuple[str, str], tuple[int, int]] = {}
    for e in sorted(past.events, key=lambda e: e.trade_day):
        if e.kind not in ("buy", "sell", "securities_in"):
            continue
        quantity, average = held.get((e.exchange, e.code), (0, 0))
        if e.kind == "sell":
            day = expected.setdefault(e.trade_day, [0, 0, 0, 0, 0])
            day[1] += e.amount
            day[2] += e.amount - e.quantity * average - e.commission - e.tax
            held[(e.exchange, e.code)] = (quantity - e.quantity, average)
        else:
            cost = past.price(e.code, e.trade_day) if e.kind == "securities_in" else e.price
            held[(e.exchange, e.code)] = (
                quantity + e.quantity,
                (quantity * average + e.quantity * cost) // (quantity + e.quantity),
            )
    for e in past.events:  # the day's buys, and both sides' commissions and taxes
        if e.kind in ("buy", "sell") and e.trade_day in expected:
            expected[e.trade_day][0] += e.amount if e.kind == "buy" else 0
            expected[e.trade_day][3] += e.commission
            expected[e.trade_day][4] += e.tax
    assert len(expected) >= 2  # the story's sales fall on two days
    assert [line["dt"] for line in lines] == [f"{d:%Y%m%d}" for d in sorted(expected)]
    fields = ("buy_amt", "sell_amt", "tdy_sel_pl", "tdy_trde_cmsn", "tdy_trde_tax")
    assert [[int(line[f]) for f in fields] for line in lines] == [expected[d] for d in sorted(expected)]
    assert int(pages[0]["tot_sell_amt"]) == sum(day[1] for day in expected.values())
    assert [line for page in later for line in page["dt_rlzt_pl"]] == []  # no sale in the last days
    assert refused["return_code"] != 0
