"""A local stand-in for the Kiwoom REST API, for demos and tests: the tokens (au10001, au10002) and every account API
a renderer module declares (etl.sim.render_<api-id>, listed in RENDERERS): the account, the balance and the account
history's APIs.

It behaves as the API notes describe: tokens with a KST `expires_dt`, logical errors inside HTTP 200 answers,
HTTP 429 with return_code 5 when a client outpaces it, continuation through the `cont-yn`/`next-key` headers,
several accounts, prices that move between calls. Faults can be injected (in process or over HTTP) for tests, an
API can be switched to "not supported in mock trading" (8104), and "no data" comes as an empty list or as Kiwoom's
return_code 2000. An account with a history (etl.sim.history) answers the account APIs from it, as of the
simulator's `today`; one without answers kt00005 as before and the history APIs with no lines.

`Simulator` is the facade: its settings and request log, and the order in which a request meets the fault queue
(etl.sim.faults), the tokens (etl.sim.tokens), the pacing (etl.sim.pacing) and the API's renderer (its
etl.sim.renderer.Renderer); `serve` and `bind` put it behind HTTP. It also holds the WebSocket feed's sessions
(etl.sim.feed, served on a port of its own by `serve_feed`) and takes orders (`order`, etl.sim.orders) that change
an account and are pushed on the feed; POST /_sim/orders takes one over HTTP.
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
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from etl.clock import KST
from etl.sim import (
    render_ka00001,
    render_ka10074,
    render_ka10081,
    render_ka10099,
    render_ka10100,
    render_ka20006,
    render_kt00002,
    render_kt00005,
    render_kt00015,
    render_kt00017,
)
from etl.sim.accounts import SimAccount
from etl.sim.bars import ChartMarket
from etl.sim.call import Call
from etl.sim.faults import Fault, fault_answer, make_fault, take_fault
from etl.sim.feed import Feed
from etl.sim.orders import Order, OrderError, Orders
from etl.sim.pacing import Buckets, too_fast
from etl.sim.pages import Listed
from etl.sim.renderer import Kept, Renderer
from etl.sim.tokens import BAD_TOKEN, Tokens
from etl.sim.wire import BAD_INPUT, Answer, error

NOT_IN_MOCK = (2, "모의투자에서 지원하지 않는 API 입니다.[8104:모의투자에서 지원하지 않는 API 입니다.]")
NOT_FOR_COMPANIES = (
    2,
    "법인 고객은 해당 API를 지원하지 않습니다.[8200:법인 고객은 해당 API를 지원하지 않습니다. API ID={api_id}]",
)

# The APIs it answers (the account APIs and the market APIs), each as its renderer module declares it.
RENDERERS: tuple[Renderer, ...] = (
    render_ka00001.RENDERER,
    render_kt00005.RENDERER,
    render_kt00015.RENDERER,
    render_kt00017.RENDERER,
    render_kt00002.RENDERER,
    render_ka10099.RENDERER,
    render_ka10100.RENDERER,
    render_ka20006.RENDERER,
    render_ka10081.RENDERER,
    render_ka10074.RENDERER,
)


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
    corporate: set[str] = field(default_factory=set)  # app keys of company accounts: some APIs answered 8200
    # The market it answers the charts from, when it plays one (the demo's): its trading days and closes. Unset, a
    # stock closes at the caller's history's price of a weekday, else on a seeded walk (etl.sim.bars).
    market: ChartMarket | None = None
    feed_ping_interval: float = 10.0  # seconds between the feed's PINGs; a session that misses an echo is closed
    now: Callable[[], datetime] | None = None  # the time of the feed's pushes (FID 908); unset, the time now
    served: deque[str] = field(init=False)
    requests: deque[dict[str, Any]] = field(init=False)
    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.served = deque(maxlen=self.log_limit)
        self.requests = deque(maxlen=self.log_limit)
        self._tokens = Tokens(self.tokens, self.issued, self._lock)
        self._buckets = Buckets(self._lock)
        kept = Kept(self._lock, random.Random(self.seed), Listed(), lambda: self.moves, self.seed, lambda: self.market)
        self._apis = {renderer.api_id: renderer for renderer in RENDERERS}
        self._answers: dict[str, Callable[[Call], Answer]] = {
            renderer.api_id: renderer.answering(kept) for renderer in RENDERERS
        }
        self.feed = Feed(self._tokens.owner, lambda: self.feed_ping_interval, self._feed_fault)
        self._orders = Orders(self._lock)

    def order(
        self,
        acct_no: str,
        code: str,
        quantity: int,
        side: str,
        *,
        exchange: str = "KRX",
        fills: int = 1,
        outcome: str = "filled",
    ) -> Order:
        """Take an order of the account `acct_no` (etl.sim.orders): filled, cancelled or rejected, in `fills` fills;
        its state changes at once and the feed pushes what Kiwoom would. OrderError naming the field it refuses."""
        account = next((a for a in self.accounts if a.acct_no == acct_no), None)
        if account is None:
            raise OrderError("no account of the simulator's", field="acct_no", value=acct_no)
        return self._orders.place(
            account,
            code,
            quantity,
            side,
            exchange=exchange,
            fills=fills,
            outcome=outcome,
            today=self._today(),
            now=self._now,
            push=self.feed.push,
        )

    def inject(self, kind: str, **options: Any) -> None:
        """Queue a fault (see Fault) for the requests to come, or the feed's messages for a feed kind; ValueError for
        an unknown kind or option."""
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
        """Whether a /_sim/faults or /_sim/orders request from `client_host` carrying X-Sim-Token `token` is allowed."""
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
        """Every live token dies: its holders must ask for a new one."""
        self._tokens.revoke_all()

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
        caller = self._tokens.bearer(self.accounts, headers.get("authorization", ""))
        appkey = caller.appkey if caller else (body.get("appkey") if isinstance(body, dict) else None)
        with self._lock:
            fault = take_fault(self.faults, api_id, appkey)
        answer: tuple[int, dict[str, str], str | None] | None = None
        if fault is not None:
            answer = fault_answer(
                fault,
                api_id,
                retry_after=self.retry_after,
                revoke_tokens=self.revoke_all_tokens,
                released=self._released,
            )
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

    def _serve(self, path: str, headers: dict[str, str], body: Any, fault: Fault | None) -> Answer:
        api_id = headers.get("api-id", "")
        if not isinstance(body, dict):
            return error(400, BAD_INPUT)
        if path == "/oauth2/token" and api_id == "au10001":
            return self._tokens.issue(self.accounts, body, self.token_lifetime)
        if path == "/oauth2/revoke" and api_id == "au10002":
            return self._tokens.revoke(body)
        known = self._apis.get(api_id)
        if path != (known.path if known else "/api/dostk/acnt") or (known is None and api_id not in self.unsupported):
            return error(404, BAD_INPUT)
        account = self._tokens.bearer(self.accounts, headers.get("authorization", ""))
        if account is None:
            return error(200, BAD_TOKEN)
        if not self._buckets.take((account.appkey, api_id), self.rate_per_second, self.burst):
            return too_fast(api_id, self.retry_after)
        if api_id in self.unsupported:
            return error(200, NOT_IN_MOCK)
        renderer = self._apis[api_id]
        if not renderer.for_companies and account.appkey in self.corporate:
            return error(200, NOT_FOR_COMPANIES, api_id)
        if fault is not None and not fault.field:
            fault = replace(fault, field=renderer.bad_field)  # a copy: the fault may wait for other APIs' requests
        call = Call(account, body, headers, fault, self._today, self.page_size, self.empty_ledger_form)
        return self._answers[api_id](call)

    def _today(self) -> date:
        return self.today() if self.today is not None else datetime.now(KST).date()

    def _now(self) -> datetime:
        return self.now() if self.now is not None else datetime.now(UTC)

    def _feed_fault(self, appkey: str | None, trnm: str) -> Fault | None:
        with self._lock:
            return take_fault(self.faults, trnm, appkey, feed=True)


# What POST /_sim/orders takes: Simulator.order's arguments, the first four required.
ORDER_FIELDS = ("acct_no", "code", "quantity", "side", "exchange", "fills", "outcome")
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
        if self.path in ("/_sim/faults", "/_sim/orders") and not self.server.simulator.may_inject(
            self.client_address[0], self.headers.get("X-Sim-Token")
        ):
            self._send(403, {}, json.dumps({"error": f"{self.path}: a loopback client or X-Sim-Token"}))
            return
        if self.path == "/_sim/orders":
            self._order(body)
            return
        if self.path == "/_sim/faults":
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

    def _order(self, body: Any) -> None:
        """POST /_sim/orders: an order of Simulator.order's arguments, answered with what it did (400 naming the
        field it refuses)."""
        if not isinstance(body, dict):
            self._send(400, {}, json.dumps({"error": "an order is a JSON object", "field": None}))
            return
        unknown = sorted(set(body) - set(ORDER_FIELDS))
        missing = [name for name in ORDER_FIELDS[:4] if name not in body]
        if unknown or missing:
            name = (unknown or missing)[0]
            problem = "unknown field" if unknown else "missing"
            fields = ", ".join(ORDER_FIELDS)
            self._send(400, {}, json.dumps({"error": f"{name}: {problem}; an order has {fields}", "field": name}))
            return
        try:
            order = self.server.simulator.order(**body)
        except OrderError as exc:
            self._send(400, {}, json.dumps({"error": str(exc), "field": exc.field}, ensure_ascii=False))
            return
        self._send(200, {}, json.dumps(order.as_json(), ensure_ascii=False))

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
