"""The simulator's WebSocket feed over loopback with a real client: LOGIN, the PING echo, REG/REMOVE, the pushes of an
order (and the account state it changes, over HTTP), R10001, the feed's faults, the handshake's 404 and a clean
exit with sessions open."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from etl.normalize.executions import execution_of
from etl.sim.accounts import SimAccount, make_account
from etl.sim.faults import FEED_KINDS, Fault
from etl.sim.feed import serve_feed
from etl.sim.history import SETTLEMENT, make_history, weekdays_after
from etl.sim.orders import OrderError
from etl.sim.simulator import Simulator, serve
from tests.support import wait_until_true

TODAY = date(2026, 12, 2)  # a Wednesday
NOW = datetime(2026, 12, 2, 1, 23, 45, tzinfo=UTC)  # 10:23:45 KST
GUARD = 30.0  # seconds a receive waits at most: a guard against hanging, not a speed requirement
BOTH = [{"item": [""], "type": ["00", "04"]}]


def _simulator(*, history: bool = False, **options: Any) -> Simulator:
    accounts = [make_account(1, 3), make_account(2, 3)]
    if history:
        accounts[0].history = make_history(TODAY - timedelta(days=41), 42)
    values: dict[str, Any] = {
        "accounts": accounts,
        "rate_per_second": 1000,
        "burst": 1000,
        "page_size": 100,
        "feed_ping_interval": 0.2,
        "today": lambda: TODAY,
        "now": lambda: NOW,
        "moves": False,
    }
    return Simulator(**(values | options))


def _token(base: str, account: SimAccount) -> str:
    body = {"grant_type": "client_credentials", "appkey": account.appkey, "secretkey": account.secretkey}
    answer = requests.post(f"{base}/oauth2/token", json=body, headers={"api-id": "au10001"}, timeout=5)
    return str(answer.json()["token"])


def _receive(ws: ClientConnection, *, echo: bool = True) -> Any:
    """The next message that is not a PING (each PING echoed), parsed; the text when it is not JSON."""
    while True:
        raw = ws.recv(timeout=GUARD)
        if raw == '{"trnm": "PING"}':
            if echo:
                ws.send(raw)
            continue
        try:
            return json.loads(raw)
        except ValueError:
            return raw


def _reg(ws: ClientConnection, trnm: str = "REG", data: list[dict[str, Any]] = BOTH) -> None:
    ws.send(json.dumps({"trnm": trnm, "grp_no": "1", "refresh": "1", "data": data}))
    assert _receive(ws) == {"trnm": trnm, "return_code": 0, "return_msg": ""}


@contextmanager
def _session(url: str, token: str, types: list[dict[str, Any]] | None = BOTH) -> Iterator[ClientConnection]:
    """A logged-in session, registered for `types` (BOTH unless None)."""
    with connect(url, open_timeout=GUARD) as ws:
        ws.send(json.dumps({"trnm": "LOGIN", "token": token}))
        assert _receive(ws) == {"trnm": "LOGIN", "return_code": 0, "return_msg": ""}
        if types is not None:
            _reg(ws, data=types)
        yield ws


@contextmanager
def _feed(simulator: Simulator) -> Iterator[tuple[str, str]]:
    with serve(simulator) as base, serve_feed(simulator.feed) as url:
        yield base, url


def _values(message: Any) -> tuple[str, dict[str, str]]:
    assert message["trnm"] == "REAL", message
    (item,) = message["data"]
    return item["type"], item["values"]


def test_a_session_logs_in_and_registers() -> None:
    simulator = _simulator()
    with _feed(simulator) as (base, url), _session(url, _token(base, simulator.accounts[0])) as ws:
        _reg(ws, "REMOVE", [{"item": [""], "type": ["04"]}])
        assert simulator.feed.registered(simulator.accounts[0].appkey, "00")
        assert not simulator.feed.registered(simulator.accounts[0].appkey, "04")
        ws.send(json.dumps({"trnm": "REG", "grp_no": "1", "data": "00"}))
        refused = _receive(ws)
        assert refused["trnm"] == "REG" and refused["return_code"] == 1 and "data" in refused["return_msg"]


@pytest.mark.parametrize("how", ["expired", "revoked", "unknown"])
def test_a_token_not_alive_is_refused_8005_and_closed(how: str) -> None:
    simulator = _simulator(token_lifetime=timedelta(0) if how == "expired" else timedelta(hours=1))
    with _feed(simulator) as (base, url), connect(url) as ws:
        token = _token(base, simulator.accounts[0]) if how != "unknown" else "not-a-token"
        if how == "revoked":
            simulator.revoke_all_tokens()
        ws.send(json.dumps({"trnm": "LOGIN", "token": token}))
        answer = _receive(ws)
        assert answer["trnm"] == "LOGIN" and answer["return_code"] == 8005 and "8005" in answer["return_msg"]
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=GUARD)
        assert simulator.feed.sessions() == 0


def test_a_message_before_login_is_answered_login_first_and_closed() -> None:
    simulator = _simulator()
    with _feed(simulator) as (_, url), connect(url) as ws:
        ws.send(json.dumps({"trnm": "REG", "grp_no": "1", "data": BOTH}))
        assert _receive(ws) == {"trnm": "REG", "return_code": 1, "return_msg": "LOGIN first"}
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=GUARD)


def test_echoed_pings_keep_the_session_and_a_missed_echo_closes_it() -> None:
    simulator = _simulator()
    with _feed(simulator) as (base, url), _session(url, _token(base, simulator.accounts[0])) as ws:
        for _ in range(4):  # four intervals: the session would have been closed without the echoes
            assert ws.recv(timeout=GUARD) == '{"trnm": "PING"}'
            ws.send('{"trnm": "PING"}')
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=GUARD)  # the PINGs, not echoed, until the server closes
        assert (ws.close_code, ws.close_reason) == (1008, "no PING echo")


def test_a_filled_order_pushes_its_events_in_order_and_each_fill_reads_as_made() -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    with _feed(simulator) as (base, url), _session(url, _token(base, account)) as ws:
        held = next(h for h in account.holdings["KRX"] if h.code == "005930")
        before, average = held.quantity, held.purchase_price
        order = simulator.order(account.acct_no, "005930", 7, "buy", fills=2)
        pushed = [_values(_receive(ws)) for _ in range(5)]
    assert [(kind, values.get("913")) for kind, values in pushed] == [
        ("00", "접수"),
        ("00", "체결"),
        ("04", None),
        ("00", "체결"),
        ("04", None),
    ]
    assert [fill.quantity for fill in order.fills] == [4, 3]
    received = datetime(2026, 12, 2, 1, 24, tzinfo=UTC)
    for fill, (_, values) in zip(order.fills, (pushed[1], pushed[3]), strict=True):
        execution = execution_of({"type": "00", "values": values}, trade_date=TODAY, received_at=received)
        assert execution is not None
        assert {k: execution.values[k] for k in ("account_no", "order_no", "execution_no", "quantity", "price")} == {
            "account_no": account.acct_no,
            "order_no": order.order_no,
            "execution_no": fill.execution_no,
            "quantity": fill.quantity,
            "price": order.price,
        }
        assert (execution.values["exchange"], execution.values["side"], execution.values["stock_code"]) == (
            "KRX",
            "buy",
            "005930",
        )
        assert execution.values["executed_at"] == NOW
    accepted, first, last = pushed[0][1], pushed[1][1], pushed[3][1]
    assert (accepted["900"], accepted["902"], accepted["909"], accepted["908"]) == ("7", "7", "", "102345")
    assert (first["902"], first["903"], last["902"], last["903"]) == (
        "3",
        str(4 * order.price),
        "0",
        str(7 * order.price),
    )
    commissions = [fill.commission for fill in order.fills]
    assert (first["938"], last["938"], last["939"]) == (str(commissions[0]), str(sum(commissions)), "0")
    holding = pushed[4][1]
    after_first = (before * average + 4 * order.price) // (before + 4)  # each fill moves it, as the history's do
    expected_average = ((before + 4) * after_first + 3 * order.price) // (before + 7)
    assert (holding["930"], holding["931"], holding["945"], holding["946"]) == (
        str(before + 7),
        str(expected_average),
        "7",
        "2",
    )
    assert (held.quantity, held.purchase_price) == (before + 7, expected_average)


def test_a_sell_adds_its_tax_to_the_days_totals() -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    with _feed(simulator) as (base, url), _session(url, _token(base, account)) as ws:
        bought = simulator.order(account.acct_no, "005930", 2, "buy")
        sold = simulator.order(account.acct_no, "005930", 2, "sell", fills=2)
        pushed = [_values(_receive(ws)) for _ in range(3 + 5)]
    fills = [*bought.fills, *sold.fills]
    last = pushed[-2][1]
    assert last["913"] == "체결" and last["907"] == "1" and last["905"] == "-매도"
    assert (last["938"], last["939"]) == (str(sum(f.commission for f in fills)), str(sum(f.tax for f in fills)))
    assert sum(f.tax for f in sold.fills) > 0 and pushed[-1][1]["945"] == "0"
    assert len({f.execution_no for f in fills}) == 3 and bought.order_no != sold.order_no


@pytest.mark.parametrize(("outcome", "last"), [("cancelled", "취소"), ("rejected", "거부")])
def test_an_order_not_filled_pushes_its_end_and_changes_nothing(outcome: str, last: str) -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    before = [(h.code, h.quantity) for h in account.holdings["KRX"]]
    with _feed(simulator) as (base, url), _session(url, _token(base, account)) as ws:
        order = simulator.order(account.acct_no, "005930", 5, "buy", outcome=outcome)
        simulator.order(account.acct_no, "000660", 1, "buy", outcome=outcome)  # the marker: nothing came between
        pushed = [_values(_receive(ws)) for _ in range(3)]
    assert [values["913"] for _, values in pushed] == ["접수", last, "접수"]
    assert (pushed[1][1]["919"] != "") == (outcome == "rejected")
    assert order.fills == () and [(h.code, h.quantity) for h in account.holdings["KRX"]] == before


def test_only_the_registered_types_are_pushed_and_remove_stops_them() -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    with _feed(simulator) as (base, url), _session(url, _token(base, account), [{"item": [""], "type": ["00"]}]) as ws:
        simulator.order(account.acct_no, "005930", 1, "buy")
        simulator.order(account.acct_no, "005930", 1, "buy")
        assert [_values(_receive(ws))[1]["913"] for _ in range(3)] == ["접수", "체결", "접수"]  # no 04 between
        assert _values(_receive(ws))[1]["913"] == "체결"
        _reg(ws, data=[{"item": [""], "type": ["04"]}])
        _reg(ws, "REMOVE", [{"item": [""], "type": ["00"]}])
        simulator.order(account.acct_no, "005930", 1, "buy")
        assert _values(_receive(ws))[0] == "04"  # neither 접수 nor 체결 before it
        _reg(ws, "REMOVE", [{"item": [""], "type": ["04"]}])
        assert not simulator.feed.push(account.appkey, {"type": "04", "values": {}})
        _reg(ws, data=BOTH)
        ws.send(json.dumps({"trnm": "REMOVE", "grp_no": "1"}))  # without data: the whole group
        assert _receive(ws) == {"trnm": "REMOVE", "return_code": 0, "return_msg": ""}
        assert not simulator.feed.registered(account.appkey, "00")


def test_another_accounts_order_is_not_pushed() -> None:
    simulator = _simulator()
    first, second = simulator.accounts
    with _feed(simulator) as (base, url), _session(url, _token(base, first)) as ws:
        simulator.order(second.acct_no, "005930", 1, "buy")
        simulator.order(first.acct_no, "000660", 1, "buy")
        assert _values(_receive(ws))[1]["9001"] == "000660"


def test_a_second_login_with_the_same_app_key_closes_the_first_with_r10001() -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    with _feed(simulator) as (base, url), _session(url, _token(base, account)) as old:
        with _session(url, _token(base, account)) as new:
            system = _receive(old)
            assert system["trnm"] == "SYSTEM" and system["code"] == "R10001"
            with pytest.raises(ConnectionClosed):
                _receive(old)
            simulator.order(account.acct_no, "005930", 1, "buy")
            assert _values(_receive(new))[1]["913"] == "접수"
            assert simulator.feed.sessions() == 1


def test_an_order_changes_kt00005_at_once_and_kt00015_from_its_booking_day() -> None:
    days = [TODAY]
    simulator = _simulator(history=True, today=lambda: days[0])
    account = simulator.accounts[0]
    assert account.history is not None
    code = next(iter(account.history.prices))
    with serve(simulator) as base:
        token = _token(base, account)

        def post(api_id: str, body: dict[str, str]) -> dict[str, Any]:
            headers = {"api-id": api_id, "authorization": f"Bearer {token}"}
            answer = requests.post(f"{base}/api/dostk/acnt", json=body, headers=headers, timeout=5).json()
            assert answer["return_code"] == 0, answer
            return dict(answer)

        def held() -> int:
            lines = post("kt00005", {"dmst_stex_tp": "KRX"})["stk_cntr_remn"]
            return sum(int(line["cur_qty"]) for line in lines if line["stk_cd"] == "A" + code)

        def booked(day: date) -> list[dict[str, str]]:
            days[0] = day
            asked = {"strt_dt": f"{TODAY:%Y%m%d}", "end_dt": f"{day:%Y%m%d}", "tp": "3", "stk_cd": code}
            body = asked | {"crnc_cd": "", "gds_tp": "0", "frgn_stex_code": "", "dmst_stex_tp": "%", "qry_sort_tp": ""}
            lines = post("kt00015", body)["trst_ovrl_trde_prps_array"]
            return [line for line in lines if line["cntr_dt"] == f"{TODAY:%Y%m%d}"]

        before = held()
        order = simulator.order(account.acct_no, code, 5, "buy", fills=2)
        assert held() == before + 5
        day = weekdays_after(TODAY, SETTLEMENT)
        assert booked(day - timedelta(days=1)) == []
        lines = booked(day)
    assert [int(line["trde_qty_jwa_cnt"]) for line in lines] == [fill.quantity for fill in order.fills]
    assert [int(line["cmsn"]) for line in lines] == [fill.commission for fill in order.fills]
    assert all(line["trde_dt"] == f"{day:%Y%m%d}" for line in lines)


def test_partial_fills_add_up_to_the_order() -> None:
    simulator = _simulator(history=True)
    account = simulator.accounts[0]
    assert account.history is not None
    code = next(iter(account.history.prices))
    with _feed(simulator) as (base, url), _session(url, _token(base, account), [{"item": [""], "type": ["00"]}]) as ws:
        order = simulator.order(account.acct_no, code, 10, "buy", fills=3)
        pushed = [_values(_receive(ws))[1] for _ in range(4)]
    assert [fill.quantity for fill in order.fills] == [4, 3, 3]
    assert sum(int(values["911"]) for values in pushed[1:]) == 10 and pushed[-1]["902"] == "0"
    assert len({values["909"] for values in pushed[1:]}) == 3


def test_an_order_is_refused_naming_its_field() -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    for arguments, field in [
        ({"code": "999999"}, "code"),
        ({"quantity": 0}, "quantity"),
        ({"side": "short"}, "side"),
        ({"fills": 6}, "fills"),
        ({"outcome": "lost"}, "outcome"),
        ({"quantity": 100_000, "side": "sell"}, "quantity"),
    ]:
        values: dict[str, Any] = {"code": "005930", "quantity": 5, "side": "buy"} | arguments
        with pytest.raises(OrderError) as caught:
            simulator.order(account.acct_no, values.pop("code"), values.pop("quantity"), values.pop("side"), **values)
        assert caught.value.field == field
    with pytest.raises(OrderError) as unknown:
        simulator.order("0000000000", "005930", 1, "buy")
    assert unknown.value.field == "acct_no"


def test_orders_over_http_need_the_token_when_one_is_set() -> None:
    simulator = _simulator(fault_token="s3cret")
    account = simulator.accounts[0]
    with serve(simulator) as base:
        body = {"acct_no": account.acct_no, "code": "005930", "quantity": 3, "side": "buy", "fills": 3}
        refused = requests.post(f"{base}/_sim/orders", json=body, timeout=5)
        assert refused.status_code == 403
        headers = {"X-Sim-Token": "s3cret"}
        done = requests.post(f"{base}/_sim/orders", json=body, headers=headers, timeout=5)
        assert done.status_code == 200, done.text
        assert done.json()["quantity"] == 3 and [fill["quantity"] for fill in done.json()["fills"]] == [1, 1, 1]
        bad = requests.post(f"{base}/_sim/orders", json=body | {"side": "hold"}, headers=headers, timeout=5)
        assert bad.status_code == 400 and bad.json()["field"] == "side"
        extra = requests.post(f"{base}/_sim/orders", json=body | {"price": 1}, headers=headers, timeout=5)
        assert extra.status_code == 400 and extra.json()["field"] == "price"


def test_every_feed_fault_kind_is_documented_and_checked() -> None:
    simulator = _simulator()
    for kind in FEED_KINDS:
        assert kind in (Fault.__doc__ or "")
        simulator.inject(kind, api_id="REAL")
    with pytest.raises(ValueError, match="REAL, PING"):
        simulator.inject("feed_drop", api_id="kt00005")


def test_a_dropped_feed_ends_without_a_close_frame() -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    with _feed(simulator) as (base, url), _session(url, _token(base, account)) as ws:
        simulator.inject("feed_drop", api_id="REAL")
        simulator.order(account.acct_no, "005930", 1, "buy")
        with pytest.raises(ConnectionClosed):
            _receive(ws)
        assert ws.protocol.close_rcvd is None
        wait_until_true(lambda: simulator.feed.sessions() == 0)


@pytest.mark.parametrize("kind", ["feed_malformed", "feed_unknown"])
def test_a_bad_message_comes_before_the_push_and_the_session_stays(kind: str) -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    with _feed(simulator) as (base, url), _session(url, _token(base, account)) as ws:
        fault = {"kind": kind, "api_id": "REAL", "appkey": account.appkey}
        assert requests.post(f"{base}/_sim/faults", json=[fault], timeout=5).status_code == 200  # the same endpoint
        simulator.order(account.acct_no, "005930", 1, "buy")
        bad = _receive(ws)
        if kind == "feed_malformed":
            assert isinstance(bad, str)
        else:
            assert bad["trnm"] not in ("REAL", "PING", "SYSTEM")
        assert [_values(_receive(ws))[0] for _ in range(3)] == ["00", "00", "04"]  # none lost
        _reg(ws)  # still answered


def test_a_delayed_push_comes_later_and_the_order_does_not_wait() -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    with _feed(simulator) as (base, url), _session(url, _token(base, account)) as ws:
        simulator.inject("feed_delay", api_id="REAL", seconds=0.5)
        ordered = time.monotonic()
        simulator.order(account.acct_no, "005930", 1, "buy")
        returned = time.monotonic()
        assert _values(_receive(ws))[1]["913"] == "접수"
        arrived = time.monotonic()
    assert arrived - ordered >= 0.5 and returned - ordered < 0.5  # a lower bound, and the order did not wait for it


def test_a_silent_feed_sends_nothing_and_keeps_the_connection() -> None:
    simulator = _simulator()
    quiet, other = simulator.accounts
    # Queued before the session opens, it is met by the session's first PING: no echo is owed when it falls silent.
    simulator.inject("feed_silence", appkey=quiet.appkey)
    with _feed(simulator) as (base, url), _session(url, _token(base, quiet)) as ws:
        wait_until_true(lambda: not simulator.faults)
        simulator.order(quiet.acct_no, "005930", 1, "buy")
        ws.send(json.dumps({"trnm": "REG", "grp_no": "1", "data": BOTH}))
        with _session(url, _token(base, other)) as watch:
            for _ in range(3):  # three intervals pass: a session owing an echo would have been closed
                assert watch.recv(timeout=GUARD) == '{"trnm": "PING"}'
                watch.send('{"trnm": "PING"}')
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0)  # no PING, no push, no answer to the REG
        assert ws.close_code is None
        wait_until_true(lambda: simulator.feed.sessions() == 1)  # the watcher's ends; the silent one stays


def test_http_requests_and_the_feed_never_take_each_others_faults() -> None:
    simulator = _simulator()
    account = simulator.accounts[0]
    with _feed(simulator) as (base, url), _session(url, _token(base, account)) as ws:
        simulator.inject("feed_drop")
        answer = requests.post(f"{base}/oauth2/token", json={}, headers={"api-id": "au10001"}, timeout=5)
        assert answer.status_code == 200 and [f.kind for f in simulator.faults] == ["feed_drop"]
        simulator.faults.clear()
        simulator.inject("http_500")
        simulator.order(account.acct_no, "005930", 1, "buy")
        assert _values(_receive(ws))[1]["913"] == "접수"
        assert [f.kind for f in simulator.faults] == ["http_500"]


def test_any_other_path_is_refused_at_the_handshake() -> None:
    simulator = _simulator()
    with _feed(simulator) as (_, url):
        with pytest.raises(InvalidStatus) as caught, connect(url.replace("/websocket", "/other"), open_timeout=GUARD):
            pass
    assert caught.value.response.status_code == 404


def test_a_message_too_large_closes_the_session() -> None:
    simulator = _simulator()
    with _feed(simulator) as (base, url), _session(url, _token(base, simulator.accounts[0])) as ws:
        ws.send("x" * (1 << 20))
        with pytest.raises(ConnectionClosed):
            _receive(ws)
        assert ws.close_code == 1009  # message too big


def test_the_server_exits_cleanly_with_sessions_open() -> None:
    simulator = _simulator()
    first, second = simulator.accounts
    with serve(simulator) as base, ExitStack() as clients:
        server = ExitStack()
        url = server.enter_context(serve_feed(simulator.feed))
        one = clients.enter_context(_session(url, _token(base, first)))
        two = clients.enter_context(_session(url, _token(base, second)))
        simulator.inject("feed_delay", api_id="REAL", seconds=60)
        simulator.order(second.acct_no, "005930", 1, "buy")  # its push waits in the sender
        wait_until_true(lambda: not simulator.faults)
        server.close()  # the sessions still open
        assert simulator.feed.sessions() == 0
        assert not [t for t in threading.enumerate() if t.name.startswith("kiwoom-simulator-feed")]
        for ws in (one, two):
            with pytest.raises(ConnectionClosed):
                while True:
                    ws.recv(timeout=GUARD)
            assert ws.close_code == 1001
