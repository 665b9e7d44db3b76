"""The real-time listener (etl.app.realtime) against a hostile feed: a real WebSocket server over loopback that logs
the listener in and then sends what a broken or malicious server might (the simulator serves REST: tokens, account
numbers, snapshots). Each test states what must hold: the listener thread lives on, a fill is kept or refused and
counted, no secret is echoed into status or /healthz."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from etl.app.realtime import Realtime
from etl.daemon.metrics import Metrics
from etl.sim.simulator import Simulator
from etl.sim.simulator import serve as serve_rest
from etl.store.models import EtlRun, Execution
from tests.app.test_realtime import NOON, listening, make_simulator, running, settings_for
from tests.support import Clock, wait_until_true

# What the hostile server sends after LOGIN and REG: a script of frames per connection, given the token it got.
Script = Callable[[str], list[str]]


@dataclass
class Hostile:
    simulator: Simulator
    realtime: Realtime
    metrics: Metrics
    acct_no: str
    logins: list[str]  # the tokens the server was sent, in order

    def count(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    def alive(self) -> bool:
        """Whether the listener's thread is still running."""
        return any(thread.name == "realtime-0" and thread.is_alive() for thread in threading.enumerate())


def fill_values(acct_no: str, order_no: str, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "9201": acct_no,
        "9203": order_no,
        "9001": "005930",
        "913": "체결",
        "302": "삼성전자",
        "907": "2",
        "908": "110000",
        "909": "1",
        "910": "70000",
        "911": "1",
        "938": "0",
        "939": "0",
        "2134": "1",
    }
    values.update(extra)
    return values


def real(*values: dict[str, Any]) -> str:
    return json.dumps(
        {"trnm": "REAL", "data": [{"type": "00", "name": "주문체결", "item": "", "values": v} for v in values]}
    )


@contextmanager
def hostile_feed(
    script: Script, *, login_reply: Callable[[str], dict[str, Any]] | None = None
) -> Iterator[tuple[str, list[str]]]:
    """A WebSocket server that answers LOGIN (by `login_reply`, default: accepted) and REG, sends `script`'s frames
    once per connection, then PINGs until the client leaves."""
    logins: list[str] = []

    def handle(connection: ServerConnection) -> None:
        try:
            token = json.loads(connection.recv(timeout=10)).get("token", "")
            logins.append(token)
            reply = login_reply(token) if login_reply else {"trnm": "LOGIN", "return_code": 0, "return_msg": ""}
            connection.send(json.dumps(reply))
            if reply.get("return_code") != 0:
                connection.close()
                return
            connection.recv(timeout=10)  # REG
            connection.send(json.dumps({"trnm": "REG", "return_code": 0, "return_msg": ""}))
            for frame in script(token):
                connection.send(frame)
            while True:
                connection.send(json.dumps({"trnm": "PING"}))
                try:
                    connection.recv(timeout=0.3)
                except TimeoutError:
                    pass
        except (ConnectionClosed, TimeoutError, OSError):
            pass

    with serve(handle, "127.0.0.1", 0, ping_interval=None, max_size=1 << 21) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/api/dostk/websocket", logins
        finally:
            server.shutdown()
            thread.join()


@contextmanager
def against(engine: Engine, tmp_path: Path, script: Script, **kwargs: Any) -> Iterator[Hostile]:
    simulator = make_simulator()
    with serve_rest(simulator) as url, hostile_feed(script, **kwargs) as (feed, logins):
        settings = settings_for(url, feed, simulator, engine, tmp_path, realtime_settle=timedelta(seconds=0.1))
        with running(settings, engine, Clock(NOON), silence=5.0) as (realtime, metrics):
            yield Hostile(simulator, realtime, metrics, simulator.accounts[0].acct_no, logins)


def stored(engine: Engine, order_no: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).where(Execution.order_no == order_no)) or 0


def test_a_deeply_nested_frame_is_counted_and_the_listener_lives_on(engine: Engine, tmp_path: Path) -> None:
    # 100 KB of nested JSON: json.loads raises RecursionError, which is no ValueError.
    nested = '{"trnm": "REAL", "data": ' + "[" * 50_000 + "]" * 50_000 + "}"

    def script(_token: str) -> list[str]:
        return [nested]

    with against(engine, tmp_path, script) as on:
        wait_until_true(lambda: on.count("kiwoom_etl_realtime_messages_total", type="malformed") == 1 or not on.alive())
        assert on.alive(), "the listener thread died on a deeply nested frame"


def test_a_fill_with_a_lone_surrogate_in_an_unread_fid_does_not_kill_the_listener(
    engine: Engine, tmp_path: Path
) -> None:
    # A JSON escape the parsed fields refuse (etl.normalize.transform), but an FID nobody reads is kept in `message`.
    def script(_token: str) -> list[str]:
        poisoned = real(fill_values(acct_no, "0000001")).replace('"2134"', '"9999": "\\ud800", "2134"')
        return [poisoned, real(fill_values(acct_no, "0000002"))]

    acct_no = make_simulator().accounts[0].acct_no
    with against(engine, tmp_path, script) as on:
        wait_until_true(lambda: stored(engine, "0000002") == 1 or not on.alive())
        assert on.alive(), "the listener thread died on a fill whose unread FID holds a lone surrogate"


def test_a_fill_with_nan_or_nul_in_an_unread_fid_is_stored(engine: Engine, tmp_path: Path) -> None:
    # Python's json reads NaN, and "\u0000" is valid JSON; PostgreSQL's JSONB refuses both in `message`, and the
    # fill itself, whose every column is fine, is dropped with it.
    def script(_token: str) -> list[str]:
        nan = real(fill_values(acct_no, "0000001")).replace('"2134"', '"9998": NaN, "2134"')
        nul = real(fill_values(acct_no, "0000002")).replace('"2134"', '"9997": "\\u0000", "2134"')
        return [nan, nul, real(fill_values(acct_no, "0000003"))]

    acct_no = make_simulator().accounts[0].acct_no
    with against(engine, tmp_path, script) as on:
        wait_until_true(lambda: stored(engine, "0000003") == 1 or not on.alive())
        assert on.alive()
        assert (stored(engine, "0000001"), stored(engine, "0000002")) == (1, 1)


def test_a_login_refusal_that_echoes_the_token_reaches_no_status_line(engine: Engine, tmp_path: Path) -> None:
    def refuse(token: str) -> dict[str, Any]:
        return {"trnm": "LOGIN", "return_code": 9999, "return_msg": f"bad session for {token}"}

    with against(engine, tmp_path, lambda _token: [], login_reply=refuse) as on:
        wait_until_true(lambda: on.count("kiwoom_etl_realtime_reconnects_total", reason="error") >= 1)
        (state,) = on.realtime.states()
        shown = f"{state.line(NOON)} {state.last_problem}"
        assert on.logins and not any(token in shown for token in on.logins), shown


def test_stop_does_not_wait_for_an_event_snapshot_stuck_on_the_api(engine: Engine, tmp_path: Path) -> None:
    # The daemon bounds the scheduled snapshots in flight by stop_timeout (then exits 1); Realtime.stop, called before
    # that, waits for a running event snapshot without any bound (EventSnapshots.close: pool.shutdown(wait=True)).
    simulator = make_simulator()
    simulator.inject("hold", api_id="kt00005", count=100, seconds=90)
    with listening(engine, tmp_path, simulator, http_timeout=90.0) as on:
        try:
            wait_until_true(lambda: simulator.count("kt00005") >= 1)  # the catch-up snapshot is held
            stopper = threading.Thread(target=on.realtime.stop, kwargs={"timeout": 1.0}, daemon=True)
            stopper.start()
            wait_until_true(lambda: not stopper.is_alive())  # gives up after 60 s: stop() is still waiting
        finally:
            simulator.release()


def test_a_push_for_another_account_is_refused_counted_and_asks_for_no_snapshot(engine: Engine, tmp_path: Path) -> None:
    other = "9999999999"

    def script(_token: str) -> list[str]:
        balance = {"type": "04", "name": "현물잔고", "item": "005930", "values": {"9201": other, "930": "5"}}
        return [real(fill_values(other, "0000001")), json.dumps({"trnm": "REAL", "data": [balance]})]

    with against(engine, tmp_path, script) as on:
        wait_until_true(lambda: on.count("kiwoom_etl_realtime_messages_total", type="refused") == 2)
        wait_until_true(lambda: on.realtime.events.idle())
        assert on.alive() and stored(engine, "0000001") == 0
        with engine.connect() as connection:
            events = connection.scalar(select(func.count()).where(EtlRun.trigger == "event"))
        assert events == 0  # neither push was this session's account: nothing changed here
