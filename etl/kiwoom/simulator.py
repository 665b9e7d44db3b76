"""A local stand-in for the Kiwoom REST API, for demos and tests: au10001, au10002, ka00001 and kt00005.

It behaves as the API notes describe: tokens with a KST `expires_dt`, logical errors inside HTTP 200 answers,
HTTP 429 with return_code 5 when a client outpaces it, continuation through the `cont-yn`/`next-key` headers,
several accounts, prices that move between calls. Faults can be injected (in process or over HTTP) for tests.
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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from etl.clock import KST

OK_MESSAGE = "조회가 완료되었습니다."
BAD_TOKEN = (3, "인증에 실패했습니다[8005:Token이 유효하지 않습니다]")
OTHER_IP_TOKEN = (3, "인증에 실패했습니다[8010:Token을 발급받은 IP와 서비스를 요청한 IP가 동일하지 않습니다]")
BAD_APPKEY = (3, "인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다.]")
BAD_SECRET = (3, "인증에 실패했습니다[8002:App Key와 Secret Key 검증에 실패했습니다.]")
RATE_LIMIT = (5, "허용된 요청 개수를 초과하였습니다[1700:허용된 요청 개수를 초과하였습니다. API ID={api_id}]")
BAD_INPUT = (2, "입력 값 오류입니다[1517:입력 값 형식이 올바르지 않습니다]")
SERVER_ERROR = (1, "처리 중 오류가 발생했습니다[1999:예기치 못한 에러가 발생했습니다]")

# (code, name, base price): well-known KRX names, and a newer code with a letter in it.
STOCKS = [
    ("005930", "삼성전자", 70000),
    ("000660", "SK하이닉스", 182000),
    ("373220", "LG에너지솔루션", 356000),
    ("207940", "삼성바이오로직스", 1012000),
    ("005380", "현대차", 215500),
    ("035420", "NAVER", 198700),
    ("035720", "카카오", 37450),
    ("0001A0", "덕양에너젠", 12850),
    ("068270", "셀트리온", 176300),
    ("105560", "KB금융", 98600),
]
SELL_COST = Decimal("0.00218")  # estimated fees and tax: evlt_amt is net of them (3 × 70000 → 209542)


@dataclass
class Holding:
    """One line of stk_cntr_remn, with its price moving over time."""

    code: str
    name: str
    quantity: int
    purchase_price: int
    price: int
    credit_type: str = "00"
    loan_date: str = ""
    expiry_date: str = ""
    loan: int = 0  # what a credit line still owes: the summary's crd_loan_tot adds these up

    def line(self) -> dict[str, str]:
        purchase = self.quantity * self.purchase_price
        gross = self.quantity * self.price
        evaluation = gross - int((gross * SELL_COST).to_integral_value(ROUND_HALF_UP))
        profit = evaluation - purchase
        return {
            "crd_tp": self.credit_type,
            "loan_dt": self.loan_date,
            "expr_dt": self.expiry_date,
            "stk_cd": "A" + self.code,
            "stk_nm": self.name,
            "setl_remn": _amount(self.quantity),
            "cur_qty": _amount(self.quantity),
            "cur_prc": _amount(self.price),
            "buy_uv": _amount(self.purchase_price),
            "pur_amt": _amount(purchase),
            "evlt_amt": _amount(evaluation),
            "evltv_prft": _amount(profit),
            "pl_rt": _rate(profit, purchase),
        }


@dataclass
class SimAccount:
    """An app key pair, the account behind it, and its holdings per exchange."""

    appkey: str
    secretkey: str
    acct_no: str
    holdings: dict[str, list[Holding]]
    deposit: int = 17534
    deposit_d1: int | None = None  # entr_d1 and entr_d2 when given; else a little below `deposit`
    deposit_d2: int | None = None


def _amount(value: int) -> str:
    """Kiwoom's 12-character zero-padded amount, sign first."""
    return ("-" if value < 0 else "") + str(abs(value)).zfill(12 if value >= 0 else 11)


def _rate(numerator: int, denominator: int) -> str:
    if denominator == 0:
        return "0.00"
    return str((Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def make_account(
    index: int, positions: int, *, seed: int = 0, exchanges: tuple[str, ...] = ("KRX", "NXT")
) -> SimAccount:
    """A demo account `index` with `positions` holdings on KRX (and a few on NXT), deterministic for a seed."""
    rng = random.Random(seed * 1000 + index)
    holdings: dict[str, list[Holding]] = {}
    for exchange in exchanges:
        count = positions if exchange == "KRX" else max(1, positions // 3)
        lines = []
        for n in range(count):
            code, name, base = STOCKS[n % len(STOCKS)]
            if index == 1 and exchange == "KRX" and n == 0:
                lines.append(Holding(code, name, 3, 124500, 70000))  # the API page's own example line
                continue
            credit = n % 4 == 3
            lines.append(
                Holding(
                    code=code,
                    name=name,
                    quantity=rng.randint(1, 500),
                    purchase_price=int(base * rng.uniform(0.6, 1.4)),
                    price=base,
                    credit_type="03" if credit else "00",
                    loan_date="20261015" if credit else "",
                    expiry_date="20270415" if credit else "",
                )
            )
        holdings[exchange] = lines
    return SimAccount(
        appkey=f"sim-appkey-{index}",
        secretkey=f"sim-secretkey-{index}",
        acct_no=f"{5000000000 + index * 1111:010d}",
        holdings=holdings,
        deposit=17534 * index,
    )


@dataclass
class Fault:
    """A misbehaviour to apply to the next `count` matching requests.

    kind: http_500, http_503, drop (close the connection without an answer), rate_limit (HTTP 429 + return_code 5),
    rate_limit_200 (return_code 5 inside HTTP 200), revoke_token (the token dies before the request is served),
    broken_json, bad_value (`field` set to `value` on the first position line, or in the summary when it is a
    summary field), delay (`seconds` before answering), server_error (return_code with reason 1999),
    input_error (reason 1517), loop_next_key (always answer cont-yn Y with the same next-key), token_other_ip
    (reason 8010), truncated (the normal answer cut in half), hold (wait until Simulator.release() is called, at
    most `seconds` or 120 s as a guard against hanging, then answer normally: a slow request with no time in it).
    """

    kind: str
    api_id: str | None = None
    count: int = 1
    after: int = 0
    field: str | None = None
    value: Any = None
    seconds: float = 0.0
    appkey: str | None = None  # only this account's requests


# The kinds _fault_answer, _serve/_balance and handle act on: anything else would be silently ignored.
FAULT_KINDS = frozenset(
    {
        "http_500",
        "http_503",
        "drop",
        "rate_limit",
        "rate_limit_200",
        "revoke_token",
        "token_other_ip",
        "server_error",
        "input_error",
        "broken_json",
        "delay",
        "bad_value",
        "loop_next_key",
        "truncated",
        "hold",
    }
)
FAULT_OPTIONS = frozenset(f.name for f in fields(Fault)) - {"kind"}


def make_fault(kind: str, **options: Any) -> Fault:
    """A Fault, refusing (ValueError) a kind the simulator does not handle or an option Fault does not have."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known kinds: {', '.join(sorted(FAULT_KINDS))}")
    unknown = sorted(set(options) - FAULT_OPTIONS)
    if unknown:
        known = ", ".join(sorted(FAULT_OPTIONS))
        raise ValueError(f"unknown fault option(s) {', '.join(unknown)}; known options: {known}")
    return Fault(kind, **options)


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
    served: deque[str] = field(init=False)
    requests: deque[dict[str, Any]] = field(init=False)
    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    _frozen: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
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
        if path != "/api/dostk/acnt" or api_id not in ("ka00001", "kt00005"):
            return self._error(404, BAD_INPUT)
        account = self._authorised(headers.get("authorization", ""))
        if account is None:
            return self._error(200, BAD_TOKEN)
        if not self._paced((account.appkey, api_id)):
            extra = {"Retry-After": self.retry_after} if self.retry_after else {}
            return self._error(429, RATE_LIMIT, api_id, extra)
        if api_id == "ka00001":
            return self._ok({"acctNo": account.acct_no})
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
        payload = self._summary(account, lines, sum(h.loan for h in account.holdings.get(exchange, [])))
        payload["stk_cntr_remn"] = page
        response_headers = {"api-id": "kt00005", "cont-yn": "Y" if more else "N", "next-key": ""}
        if more:
            response_headers["next-key"] = f"SIM{start + self.page_size}"
        if fault is not None and fault.kind == "bad_value":
            name = fault.field or "cur_prc"
            if name in payload:
                payload[name] = fault.value
            elif page:
                page[0][name] = fault.value
        if fault is not None and fault.kind == "loop_next_key":
            response_headers.update({"cont-yn": "Y", "next-key": "SIM0"})
        return (
            200,
            response_headers,
            json.dumps(payload | {"return_code": 0, "return_msg": OK_MESSAGE}, ensure_ascii=False),
        )

    def _lines(self, account: SimAccount, exchange: str, *, move: bool) -> list[dict[str, str]]:
        with self._lock:
            for holding in account.holdings.get(exchange, []) if move else []:
                step = self._rng.choice((-2, -1, 0, 1, 2))
                holding.price = max(100, holding.price + step * max(10, holding.price // 500))
            return [holding.line() for holding in account.holdings.get(exchange, [])]

    def _summary(self, account: SimAccount, lines: list[dict[str, str]], loan: int) -> dict[str, Any]:
        """The answer's summary: totals that agree with `lines`, the account's cash, and `loan` as crd_loan_tot."""
        purchase = sum(int(line["pur_amt"]) for line in lines)
        evaluation = sum(int(line["evlt_amt"]) for line in lines)
        profit = evaluation - purchase
        deposit = account.deposit
        d1 = deposit - 84 if account.deposit_d1 is None else account.deposit_d1
        d2 = deposit - 4984 if account.deposit_d2 is None else account.deposit_d2
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
            "dpst_grnt_use_amt_amt": 0,
            "grnt_loan_amt": 0,
        }
        payload: dict[str, Any] = {name: _amount(value) for name, value in summary.items()}
        payload["tot_pl_rt"] = _rate(profit, purchase)
        payload["crd_grnt_rt"] = _rate(d2 + evaluation, loan)  # collateral over loan, "0.00" without one
        return payload

    def _ok(self, data: dict[str, Any], message: str = OK_MESSAGE) -> tuple[int, dict[str, str], str]:
        return 200, {}, json.dumps(data | {"return_code": 0, "return_msg": message}, ensure_ascii=False)

    def _error(
        self, status: int, error: tuple[int, str], api_id: str = "", extra: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], str]:
        code, message = error
        body = {"return_code": code, "return_msg": message.format(api_id=api_id)}
        return status, extra or {}, json.dumps(body, ensure_ascii=False)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API
    # Headers and body leave in two writes: with Nagle's algorithm the body then waits for a delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
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
        status, response_headers, text = self.server.simulator.handle(self.path, headers, body)
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
