"""A local stand-in for the Kiwoom REST API, for demos and tests: au10001, au10002, ka00001, kt00005 (balance), and
the account history's kt00015 (transaction ledger), kt00017 (today's totals) and kt00002 (daily estimated assets).

It behaves as the API notes describe: tokens with a KST `expires_dt`, logical errors inside HTTP 200 answers,
HTTP 429 with return_code 5 when a client outpaces it, continuation through the `cont-yn`/`next-key` headers,
several accounts, prices that move between calls. Faults can be injected (in process or over HTTP) for tests, an
API can be switched to "not supported in mock trading" (8104), and "no data" comes as an empty list or as Kiwoom's
return_code 2000. An account with a history (etl.sim.history) answers all four account APIs from it, as of
the simulator's `today`; one without answers kt00005 as before and the history APIs with no lines.
"""

from __future__ import annotations

import ipaddress
import json
import random
import secrets
import socket
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from etl.clock import KST
from etl.sim.accounts import Holding, SimAccount
from etl.sim.faults import Fault, make_fault, spoil
from etl.sim.formats import amount, rate
from etl.sim.history import History
from etl.sim.lines import assets_line, ledger_line, masked

OK_MESSAGE = "조회가 완료되었습니다."
BAD_TOKEN = (3, "인증에 실패했습니다[8005:Token이 유효하지 않습니다]")
OTHER_IP_TOKEN = (3, "인증에 실패했습니다[8010:Token을 발급받은 IP와 서비스를 요청한 IP가 동일하지 않습니다]")
BAD_APPKEY = (3, "인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다.]")
BAD_SECRET = (3, "인증에 실패했습니다[8002:App Key와 Secret Key 검증에 실패했습니다.]")
RATE_LIMIT = (5, "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다. API ID={api_id}]")
BAD_INPUT = (2, "입력 값 오류입니다[1517:입력 값 형식이 올바르지 않습니다]")
SERVER_ERROR = (1, "처리 중 오류가 발생했습니다[1999:예기치 못한 에러가 발생했습니다]")
NO_DATA = (2000, "[2000](501724:관련자료가없습니다)")  # its own bracket form, as a third-party fixture shows it
NOT_IN_MOCK = (2, "모의투자에서 지원하지 않는 API 입니다.[8104:모의투자에서 지원하지 않는 API 입니다.]")
NOT_FOR_COMPANIES = (
    2,
    "법인 고객은 해당 API를 지원하지 않습니다.[8200:법인 고객은 해당 API를 지원하지 않습니다. API ID={api_id}]",
)

ACCOUNT_APIS = ("ka00001", "kt00005", "kt00015", "kt00017", "kt00002")
LIST_NAMES = {"kt00015": "trst_ovrl_trde_prps_array", "kt00002": "daly_prsm_dpst_aset_amt_prst"}
MESSAGES = {  # each as Kiwoom's sample answer words it
    "kt00015": "조회가 완료되었습니다",
    "kt00017": "조회가 완료되었습니다..",
    "kt00002": "일자별 계좌별 추정예탁자산 내역이 조회 되었습니다.",
}
LEDGER_BODY = (
    "strt_dt",
    "end_dt",
    "tp",
    "stk_cd",
    "crnc_cd",
    "gds_tp",
    "frgn_stex_code",
    "dmst_stex_tp",
    "qry_sort_tp",
)
# kt00015's tp → the kinds of line it lists (None: all). Dividends, the credit line (but under A) and a line of no
# known kind are listed under 0 only; the codes of foreign currency and of loans against sales list nothing here.
LEDGER_TP: dict[str, frozenset[str] | None] = {
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


def _date(value: Any) -> date | None:
    """A request's YYYYMMDD date; None when it is not one."""
    if not isinstance(value, str) or len(value) != 8 or not (value.isascii() and value.isdigit()):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


@dataclass
class Simulator:
    """The API's state and behaviour, independent of HTTP."""

    accounts: list[SimAccount]
    page_size: int = 20
    rate_per_second: float = 20.0
    burst: int = 5
    token_lifetime: timedelta = timedelta(hours=24)
    retry_after: str | None = "1"
    seed: int = 0
    faults: deque[Fault] = field(default_factory=deque)
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    log_limit: int = 10_000  # requests and served keep the latest this many; count() stays exact
    fault_token: str | None = None  # when set, /_sim/faults needs X-Sim-Token; unset, loopback clients only
    moves: bool = True  # prices move by themselves between answers; off, they change only with set_accounts
    latency: float = 0.0  # seconds every API request waits before it is answered, as a distant server would
    today: Callable[[], date] | None = None  # the day the account APIs answer for; unset, the KST date now
    empty_ledger_form: Literal["list", "error"] = "list"  # kt00015's and kt00002's "no data": [], or return_code 2000
    unsupported: set[str] = field(default_factory=set)  # api-ids answered 8104, as the mock server answers ka01690
    corporate: set[str] = field(default_factory=set)  # app keys of company accounts: kt00015 answered 8200
    served: deque[str] = field(init=False)
    requests: deque[dict[str, Any]] = field(init=False)
    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    _frozen: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    _listed: dict[tuple[str, str], tuple[str, list[dict[str, str]]]] = field(default_factory=dict)  # body, lines
    _released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.served = deque(maxlen=self.log_limit)
        self.requests = deque(maxlen=self.log_limit)

    def inject(self, kind: str, **options: Any) -> None:
        """Queue a fault (see Fault) for the requests to come; ValueError for an unknown kind or option."""
        self.queue([make_fault(kind, **options)])

    def queue(self, faults: list[Fault]) -> None:
        """Queue faults made with make_fault, all at once."""
        with self._lock:
            self.faults.extend(faults)

    def count(self, api_id: str) -> int:
        """How many requests for `api_id` arrived (all of them, also those the bounded log dropped)."""
        with self._lock:
            return self._counts[api_id]

    def may_inject(self, client_host: str, token: str | None) -> bool:
        """Whether a /_sim/faults request from `client_host` carrying X-Sim-Token `token` is allowed."""
        if self.fault_token is not None:
            return token is not None and secrets.compare_digest(token.encode(), self.fault_token.encode())
        try:
            return ipaddress.ip_address(client_host).is_loopback
        except ValueError:
            return False

    def release(self) -> None:
        """Let every request held by a `hold` fault (and any later one) go on."""
        self._released.set()

    def set_accounts(self, accounts: list[SimAccount]) -> None:
        """Answer from now on with these accounts (the same app keys: tokens stay valid), e.g. a market's next state."""
        with self._lock:
            self.accounts = accounts

    def revoke_all_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def _take_fault(self, api_id: str, appkey: str | None) -> Fault | None:
        """The fault that applies to this request, if any; every matching fault still waiting counts it."""
        chosen = None
        with self._lock:
            for fault in list(self.faults):
                if fault.api_id not in (None, api_id) or fault.appkey not in (None, appkey):
                    continue
                if fault.after > 0:
                    fault.after -= 1
                elif chosen is None:
                    chosen = fault
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
        return chosen

    def _paced(self, key: tuple[str, str]) -> bool:
        with self._lock:
            now = time.monotonic()
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate_per_second)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True

    def handle(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, str], str | None]:
        """Answer one request: (HTTP status, response headers, body text); body None means drop the connection."""
        api_id = headers.get("api-id", "")
        with self._lock:
            self._counts[api_id] += 1
            self.requests.append(
                {
                    "api_id": api_id,
                    "at": time.monotonic(),
                    "cont-yn": headers.get("cont-yn"),
                    "next-key": headers.get("next-key"),
                    "authorized": "authorization" in headers,
                }
            )
        if self.latency:
            time.sleep(self.latency)  # outside the lock: each connection has its thread, and they wait side by side
        caller = self._authorised(headers.get("authorization", ""))
        appkey = caller.appkey if caller else (body.get("appkey") if isinstance(body, dict) else None)
        fault = self._take_fault(api_id, appkey)
        answer = self._fault_answer(fault, api_id) if fault is not None else None
        if answer is None:
            answer = self._serve(path, headers, body, fault)
            if fault is not None and fault.kind == "truncated":
                answer = (answer[0], answer[1], (answer[2] or "")[: len(answer[2] or "") // 2])
        status, _, text = answer
        broken = fault is not None and fault.kind in ("broken_json", "truncated")
        data = text is not None and '"return_code": 0' in text
        slow = fault is not None and fault.kind in ("delay", "hold")
        if api_id == "kt00005" and status == 200 and (data or broken) and not slow:
            with self._lock:
                self.served.append(text or "")  # a page a client received: tests check that none is lost
        return answer

    def _serve(
        self, path: str, headers: dict[str, str], body: Any, fault: Fault | None
    ) -> tuple[int, dict[str, str], str]:
        api_id = headers.get("api-id", "")
        if not isinstance(body, dict):
            return self._error(400, BAD_INPUT)
        if path == "/oauth2/token" and api_id == "au10001":
            return self._issue(body)
        if path == "/oauth2/revoke" and api_id == "au10002":
            return self._revoke(body)
        if path != "/api/dostk/acnt" or (api_id not in ACCOUNT_APIS and api_id not in self.unsupported):
            return self._error(404, BAD_INPUT)
        account = self._authorised(headers.get("authorization", ""))
        if account is None:
            return self._error(200, BAD_TOKEN)
        if not self._paced((account.appkey, api_id)):
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            return self._error(429, RATE_LIMIT, api_id, extra)
        if api_id in self.unsupported:
            return self._error(200, NOT_IN_MOCK)
        if api_id == "kt00015" and account.appkey in self.corporate:
            return self._error(200, NOT_FOR_COMPANIES, api_id)
        if api_id == "ka00001":
            return self._ok({"acctNo": account.acct_no})
        if api_id == "kt00015":
            return self._ledger(account, body, headers, fault)
        if api_id == "kt00017":
            return self._today_totals(account, fault)
        if api_id == "kt00002":
            return self._daily_assets(account, body, headers, fault)
        return self._balance(account, body, headers, fault)

    def _fault_answer(self, fault: Fault, api_id: str) -> tuple[int, dict[str, str], str | None] | None:
        kind = fault.kind
        if kind in ("http_500", "http_503"):
            return int(kind[5:]), {}, "<html><body>Service Unavailable</body></html>"
        if kind == "drop":
            return 0, {}, None
        if kind == "rate_limit":
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            return self._error(429, RATE_LIMIT, api_id, extra)
        if kind == "rate_limit_200":
            return self._error(200, RATE_LIMIT, api_id)
        if kind == "revoke_token":
            self.revoke_all_tokens()
        if kind == "token_other_ip":
            return self._error(200, OTHER_IP_TOKEN)
        if kind == "server_error":
            return self._error(200, SERVER_ERROR)
        if kind == "input_error":
            return self._error(200, BAD_INPUT)
        if kind == "broken_json":
            return 200, {}, '{"entr": "000000017534", "stk_cntr_remn": [{"stk_cd": "A0059'
        if kind == "delay":
            time.sleep(fault.seconds)
        if kind == "hold":
            self._released.wait(fault.seconds or 120.0)
        return None  # revoke_token, delay, hold, bad_value, loop_next_key: served, then altered below

    def _issue(self, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        account = next((a for a in self.accounts if a.appkey == body.get("appkey")), None)
        if account is None:
            return self._error(200, BAD_APPKEY)
        if body.get("secretkey") != account.secretkey or body.get("grant_type") != "client_credentials":
            return self._error(200, BAD_SECRET)
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + self.token_lifetime
        with self._lock:
            self.tokens[token] = (account.appkey, expires)
            self.issued.append(token)
        return self._ok(
            {"expires_dt": expires.astimezone(KST).strftime("%Y%m%d%H%M%S"), "token_type": "bearer", "token": token},
            "정상적으로 처리되었습니다",
        )

    def _revoke(self, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        with self._lock:
            owner = self.tokens.get(body.get("token", ""))
            if owner is None or owner[0] != body.get("appkey"):
                return self._error(200, BAD_TOKEN)
            del self.tokens[body["token"]]
        return self._ok({}, "정상적으로 처리되었습니다")

    def _authorised(self, header: str) -> SimAccount | None:
        token = header[7:] if header.startswith("Bearer ") else ""
        with self._lock:
            entry = self.tokens.get(token)
        if entry is None or entry[1] <= datetime.now(UTC):
            return None
        return next(a for a in self.accounts if a.appkey == entry[0])

    def _balance(
        self, account: SimAccount, body: dict[str, Any], headers: dict[str, str], fault: Fault | None
    ) -> tuple[int, dict[str, str], str]:
        exchange = body.get("dmst_stex_tp")
        if exchange not in ("KRX", "NXT"):
            return self._error(200, BAD_INPUT)
        key = (account.appkey, exchange)
        start = 0
        if headers.get("cont-yn") == "Y":
            next_key = headers.get("next-key", "")
            if not next_key.startswith("SIM") or not next_key[3:].isdigit() or key not in self._frozen:
                return self._error(200, BAD_INPUT)
            start = int(next_key[3:])
        else:
            # The first answer shows the starting prices (so the API page's example line appears as printed).
            self._frozen[key] = self._lines(account, exchange, move=self.moves and key in self._frozen)
        lines = self._frozen[key]
        page = [dict(line) for line in lines[start : start + self.page_size]]
        more = start + self.page_size < len(lines)
        history = account.history
        credit = 0 if history else sum(h.loan for h in account.holdings.get(exchange, []))
        payload = self._summary(self._cash(account), lines, credit, history.loan(self._today()) if history else 0)
        payload["stk_cntr_remn"] = page
        response_headers = {"api-id": "kt00005", "cont-yn": "Y" if more else "N", "next-key": ""}
        if more:
            response_headers["next-key"] = f"SIM{start + self.page_size}"
        spoil(fault, "kt00005", payload, page, response_headers)
        return (
            200,
            response_headers,
            json.dumps(payload | {"return_code": 0, "return_msg": OK_MESSAGE}, ensure_ascii=False),
        )

    def _today(self) -> date:
        return self.today() if self.today is not None else datetime.now(KST).date()

    def _cash(self, account: SimAccount) -> tuple[int, int, int]:
        """entr, entr_d1 and entr_d2: the history's as of today, or the account's own."""
        history = account.history
        if history is not None:
            today = self._today()
            return history.cash(today), history.cash(today, 1), history.cash(today, 2)
        deposit = account.deposit
        d1 = deposit - 84 if account.deposit_d1 is None else account.deposit_d1
        d2 = deposit - 4984 if account.deposit_d2 is None else account.deposit_d2
        return deposit, d1, d2

    def _held(self, history: History) -> list[Holding]:
        """The history's holdings today, at today's prices: every one, wherever it was bought, as kt00005 lists the
        whole account on either exchange (a stock bought on NXT is held on KRX too)."""
        today = self._today()
        return [
            Holding(p.code, p.name, p.quantity, p.purchase_price, history.price(p.code, today), settled=p.settled)
            for p in history.positions(today)
        ]

    def _lines(self, account: SimAccount, exchange: str, *, move: bool) -> list[dict[str, str]]:
        if account.history is not None:
            return [holding.line() for holding in self._held(account.history)]
        with self._lock:
            for holding in account.holdings.get(exchange, []) if move else []:
                step = self._rng.choice((-2, -1, 0, 1, 2))
                holding.price = max(100, holding.price + step * max(10, holding.price // 500))
            return [holding.line() for holding in account.holdings.get(exchange, [])]

    def _summary(
        self, cash: tuple[int, int, int], lines: list[dict[str, str]], loan: int, collateral_loan: int
    ) -> dict[str, Any]:
        """The answer's summary: totals that agree with `lines`, the cash (entr, entr_d1, entr_d2), `loan` as
        crd_loan_tot and `collateral_loan` as dpst_grnt_use_amt_amt."""
        purchase = sum(int(line["pur_amt"]) for line in lines)
        evaluation = sum(int(line["evlt_amt"]) for line in lines)
        profit = evaluation - purchase
        deposit, d1, d2 = cash
        orderable = deposit * 5
        summary = {
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
        payload: dict[str, Any] = {name: amount(value) for name, value in summary.items()}
        payload["tot_pl_rt"] = rate(profit, purchase)
        payload["crd_grnt_rt"] = rate(d2 + evaluation, loan)  # collateral over loan, "0.00" without one
        return payload

    def _ledger(
        self, account: SimAccount, body: dict[str, Any], headers: dict[str, str], fault: Fault | None
    ) -> tuple[int, dict[str, str], str]:
        """kt00015: the lines booked in [strt_dt, end_dt] by today, filtered by tp (see LEDGER_TP), stock, product,
        currency and exchange (% all; KRX or NXT the lines of shares held there), oldest first unless qry_sort_tp 1."""
        asked = {name: body.get(name, "") for name in LEDGER_BODY}
        first, last = _date(asked["strt_dt"]), _date(asked["end_dt"])
        if (
            first is None
            or last is None
            or first > last
            or not all(isinstance(value, str) for value in asked.values())
            or asked["tp"] not in LEDGER_TP
            or asked["gds_tp"] not in ("0", "1", "2", "3", "4")
            or asked["dmst_stex_tp"] not in ("%", "KRX", "NXT")
            or asked["qry_sort_tp"] not in ("", "1", "2")
        ):
            return self._error(200, BAD_INPUT)
        kinds = LEDGER_TP[asked["tp"]]
        code = asked["stk_cd"][1:] if len(asked["stk_cd"]) == 7 else asked["stk_cd"]  # A005930 or 005930
        exchange = asked["dmst_stex_tp"]
        # Every line is of domestic stocks, in won: funds, foreign stocks, other products and currencies have none.
        ours = asked["gds_tp"] in ("0", "1") and asked["crnc_cd"] in ("", "KRW")
        booked = account.history.booked(min(last, self._today())) if account.history and ours else []
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
        return self._paged(
            account,
            "kt00015",
            headers,
            fault,
            body,
            {"acnt_no": masked(account)},
            lambda: [ledger_line(event, account.holder) for event in chosen],
        )

    def _today_totals(self, account: SimAccount, fault: Fault | None) -> tuple[int, dict[str, str], str]:
        """kt00017: the sums of the lines booked today (a trade on its settlement day, as kt00015 lists it), with the
        D+2 cash and shares. `tax` holds every tax (a sell's and a dividend's withholding), `dvida_amt` dividends
        before it, inq_amt the shares transferred in at today's prices, gnrl_stk_evlt_amt_d2 Σ quantity × price."""
        today = self._today()
        history = account.history
        lines = [event for event in history.booked(today) if event.day == today] if history else []
        holdings = self._held(history) if history else [h for held in account.holdings.values() for h in held]
        moved_in = [(e.code, e.quantity) for e in lines if e.kind == "securities_in"]

        def total(kind: str) -> int:
            return sum(event.amount for event in lines if event.kind == kind)

        values = {
            "d2_entra": self._cash(account)[2],
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
        response_headers = {"api-id": "kt00017", "cont-yn": "N", "next-key": ""}
        spoil(fault, "kt00017", payload, [], response_headers)
        message = MESSAGES["kt00017"]
        return (
            200,
            response_headers,
            json.dumps(payload | {"return_code": 0, "return_msg": message}, ensure_ascii=False),
        )

    def _daily_assets(
        self, account: SimAccount, body: dict[str, Any], headers: dict[str, str], fault: Fault | None
    ) -> tuple[int, dict[str, str], str]:
        """kt00002: a line per weekday in [start_dt, end_dt] from the history's start to today: the booked cash
        (entr), the credit lines' loan (grnt_use_amt), and the estimated assets entr + Σ booked shares × the day's
        price (prsm_dpst_aset_amt, the same without funds: no fund is held)."""
        first, last = _date(body.get("start_dt")), _date(body.get("end_dt"))
        if first is None or last is None or first > last:
            return self._error(200, BAD_INPUT)
        history = account.history
        if history is None:
            return self._paged(account, "kt00002", headers, fault, body, {}, list)
        days = []
        day, end = max(first, history.start), min(last, self._today())
        while day <= end:
            if day.weekday() < 5:
                days.append(day)
            day += timedelta(days=1)
        return self._paged(
            account, "kt00002", headers, fault, body, {}, lambda: [assets_line(history, d) for d in days]
        )

    def _paged(
        self,
        account: SimAccount,
        api_id: str,
        headers: dict[str, str],
        fault: Fault | None,
        body: dict[str, Any],
        top: dict[str, str],
        lines: Callable[[], list[dict[str, str]]],
    ) -> tuple[int, dict[str, str], str]:
        """A list answer, a page at a time as kt00005's: `top` beside the list of `lines()`, made on the first request
        and kept for the continuations, which must repeat its body."""
        key = (account.appkey, api_id)
        asked = json.dumps(body, sort_keys=True, ensure_ascii=False)
        start = 0
        if headers.get("cont-yn") == "Y":
            next_key = headers.get("next-key", "")
            kept = self._listed.get(key)
            if not next_key.startswith("SIM") or not next_key[3:].isdigit() or kept is None or kept[0] != asked:
                return self._error(200, BAD_INPUT)
            start, made = int(next_key[3:]), kept[1]
        else:
            made = lines()
            if not made and self.empty_ledger_form == "error":
                return self._error(200, NO_DATA)
            self._listed[key] = (asked, made)
        page = [dict(line) for line in made[start : start + self.page_size]]
        more = start + self.page_size < len(made)
        payload: dict[str, Any] = dict(top)
        payload[LIST_NAMES[api_id]] = page
        response_headers = {"api-id": api_id, "cont-yn": "Y" if more else "N", "next-key": ""}
        if more:
            response_headers["next-key"] = f"SIM{start + self.page_size}"
        spoil(fault, api_id, payload, page, response_headers)
        message = MESSAGES[api_id]
        return (
            200,
            response_headers,
            json.dumps(payload | {"return_code": 0, "return_msg": message}, ensure_ascii=False),
        )

    def _ok(self, data: dict[str, Any], message: str = OK_MESSAGE) -> tuple[int, dict[str, str], str]:
        return 200, {}, json.dumps(data | {"return_code": 0, "return_msg": message}, ensure_ascii=False)

    def _error(
        self, status: int, error: tuple[int, str], api_id: str = "", extra: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        code, message = error
        body = {"return_code": code, "return_msg": message.format(api_id=api_id)}
        return status, extra or {}, json.dumps(body, ensure_ascii=False)


# The largest request body served; the API's requests are a few hundred bytes, a batch of faults a few KiB.
MAX_BODY = 1 << 20


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    # Headers and body leave in two writes: with Nagle's algorithm the body then waits for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        declared = self.headers.get("Content-Length") or "0"
        # read(n) reserves n bytes before the body arrives: an unchecked length would let any client exhaust memory.
        if not declared.isascii() or not declared.isdigit() or int(declared) > MAX_BODY:
            self.close_connection = True
            self._send(413, {}, json.dumps({"error": f"Content-Length must be 0 to {MAX_BODY} bytes"}))
            return
        raw = self.rfile.read(int(declared))
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.path == "/_sim/faults":
            if not self.server.simulator.may_inject(self.client_address[0], self.headers.get("X-Sim-Token")):
                self._send(403, {}, json.dumps({"error": "fault injection: a loopback client or X-Sim-Token"}))
                return
            specs = body if isinstance(body, list) else [body]
            faults = []
            try:
                for spec in specs:  # all checked before any is queued
                    if not isinstance(spec, dict):
                        raise TypeError(f"got {spec!r}")
                    faults.append(make_fault(**spec))
            except (TypeError, ValueError) as exc:
                self._send(400, {}, json.dumps({"error": f"a fault is an object of Fault's fields: {exc}"}))
                return
            self.server.simulator.queue(faults)
            self._send(200, {}, json.dumps({"queued": len(self.server.simulator.faults)}))
            return
        path = self.path.split("?", 1)[0]  # a query (a gateway's token) is not Kiwoom's business
        status, response_headers, text = self.server.simulator.handle(path, headers, body)
        if text is None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, response_headers, text)

    def _send(self, status: int, headers: dict[str, str], text: str) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the simulator is quiet; tests read Simulator.requests instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        super().__init__(address, _Handler)
        self.simulator = simulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up waiting (a timeout under test) closes its end: that is no error of the server.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve(simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `simulator` on a loopback port in a background thread; yield its base URL."""
    server = _Server((host, port), simulator)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="kiwoom-simulator", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def bind(simulator: Simulator, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A server for `simulator`, listening; the caller runs serve_forever(). Raises OSError when it cannot bind."""
    return _Server((host, port), simulator)
