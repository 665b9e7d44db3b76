"""The real-time listener (etl.app.realtime) against the simulator's WebSocket feed over loopback, into a real
database: fills kept once, event snapshots after them, reconnects with a catch-up, token expiry, the replica lease
and R10001, a malformed push."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

from etl.app.realtime import Realtime
from etl.app.wiring import build_schedule
from etl.clock import KST
from etl.daemon.metrics import Metrics
from etl.jobs.ledger import LedgerJob
from etl.kiwoom.fetcher import Fetcher
from etl.settings import Settings
from etl.sim.accounts import make_account
from etl.sim.feed import serve_feed
from etl.sim.history import make_history
from etl.sim.simulator import Simulator, serve
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun, Execution, PositionSnapshot
from tests.support import Clock, make_settings, sim_accounts, wait_until_true
from tests.support.schema import migrated

DAY = date(2026, 11, 18)  # a Wednesday
NOON = datetime.combine(DAY, time(11, 0), tzinfo=KST)
CODE = "005930"


@dataclass
class Listening:
    simulator: Simulator
    realtime: Realtime
    metrics: Metrics
    settings: Settings
    acct_no: str

    def count(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


def make_simulator() -> Simulator:
    account = make_account(1, 3, exchanges=("KRX",))
    return Simulator(
        accounts=[account],
        today=lambda: DAY,
        now=lambda: NOON,
        retry_after=None,
        rate_per_second=1000,
        burst=100,
        feed_ping_interval=0.5,
    )


def settings_for(
    url: str, feed: str, simulator: Simulator, engine: Engine, tmp_path: Path, **overrides: object
) -> Settings:
    values: dict[str, object] = dict(
        realtime_enabled=True,
        realtime_url=feed,
        realtime_settle=timedelta(seconds=0.3),
        realtime_min_gap=timedelta(seconds=0.5),
    )
    values.update(overrides)
    return make_settings(
        url,
        str(engine.url.render_as_string(hide_password=False)),
        tmp_path / "state",
        sim_accounts(simulator),
        **values,
    )


@contextmanager
def listening(
    engine: Engine,
    tmp_path: Path,
    simulator: Simulator | None = None,
    *,
    clock: Clock | None = None,
    all_hours: bool = True,
    **overrides: object,
) -> Iterator[Listening]:
    simulator = simulator or make_simulator()
    with serve(simulator) as url, serve_feed(simulator.feed) as feed:
        settings = settings_for(url, feed, simulator, engine, tmp_path, **overrides)
        with running(settings, engine, clock or Clock(NOON), all_hours=all_hours, silence=2.0) as (realtime, metrics):
            yield Listening(simulator, realtime, metrics, settings, simulator.accounts[0].acct_no)


@contextmanager
def running(
    settings: Settings, engine: Engine, clock: Clock, *, all_hours: bool = True, silence: float
) -> Iterator[tuple[Realtime, Metrics]]:
    """The listeners of `settings`, started (short backoffs), with their metrics; stopped afterwards."""
    metrics = Metrics()
    fetcher = Fetcher(settings, clock=clock)
    realtime = Realtime(
        settings,
        engine,
        fetcher,
        build_schedule(settings, all_hours=all_hours),
        observer=metrics,
        clock=clock,
        silence=silence,
        backoff=(0.05, 0.2),
    )
    realtime.start()
    try:
        yield realtime, metrics
    finally:
        realtime.stop()
        fetcher.close()


def runs(engine: Engine, trigger: str) -> list[int]:
    with engine.connect() as connection:
        return list(connection.scalars(select(EtlRun.id).where(EtlRun.trigger == trigger, EtlRun.status == "success")))


def fills(engine: Engine) -> list[tuple[str, str, int, int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Execution.order_no, Execution.execution_no, Execution.quantity, Execution.price).order_by(
                Execution.order_no, Execution.execution_no
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def held(engine: Engine, run_id: int, code: str) -> int | None:
    with engine.connect() as connection:
        return connection.scalar(
            select(PositionSnapshot.quantity)
            .join(AccountSnapshot, AccountSnapshot.id == PositionSnapshot.snapshot_id)
            .where(AccountSnapshot.run_id == run_id, PositionSnapshot.stock_code == code)
        )


def connected(listening: Listening) -> bool:
    (state,) = listening.realtime.states()
    return state.connected_since is not None and listening.simulator.feed.registered(
        listening.simulator.accounts[0].appkey, "00"
    )


def test_a_fill_is_kept_once_and_followed_by_one_snapshot_that_shows_it(engine: Engine, tmp_path: Path) -> None:
    with listening(engine, tmp_path) as on:
        wait_until_true(lambda: connected(on) and len(runs(engine, "catch_up")) == 1)
        before = held(engine, runs(engine, "catch_up")[0], CODE)
        order = on.simulator.order(on.acct_no, CODE, 7, "buy")
        wait_until_true(lambda: len(runs(engine, "event")) == 1 and len(fills(engine)) == 1)
        (event,) = runs(engine, "event")
        assert held(engine, event, CODE) == (before or 0) + 7
        ((order_no, _, quantity, price),) = fills(engine)
        assert (order_no, quantity, price) == (order.order_no, 7, order.fills[0].price)
        assert on.count("kiwoom_etl_realtime_connected", key=on.acct_no) == 1
        assert on.count("kiwoom_etl_event_snapshots_total", result="success") == 2  # the catch-up and the event
    with engine.connect() as connection:
        scheduled_for = connection.scalar(select(EtlRun.scheduled_for).where(EtlRun.id == event))
    assert scheduled_for is None  # an event run claims no slot


def test_a_burst_of_twenty_fills_is_one_or_two_snapshots(engine: Engine, tmp_path: Path) -> None:
    with listening(engine, tmp_path, realtime_settle=timedelta(seconds=1), realtime_min_gap=timedelta(seconds=5)) as on:
        wait_until_true(lambda: connected(on) and len(runs(engine, "catch_up")) == 1)
        for _ in range(20):
            on.simulator.order(on.acct_no, CODE, 1, "buy")
        wait_until_true(lambda: len(fills(engine)) == 20 and len(runs(engine, "event")) >= 1)
        wait_until_true(lambda: on.realtime.events.idle())
        assert 1 <= len(runs(engine, "event")) <= 2


def test_a_dropped_connection_reconnects_catches_up_and_stores_no_fill_twice(engine: Engine, tmp_path: Path) -> None:
    simulator = make_simulator()
    today = [DAY]
    simulator.today = lambda: today[0]
    simulator.accounts[0].history = make_history(DAY - timedelta(days=30), 31, seed=1)  # its trades are booked
    with listening(engine, tmp_path, simulator) as on:
        wait_until_true(lambda: connected(on) and len(runs(engine, "catch_up")) == 1)
        on.simulator.order(on.acct_no, CODE, 2, "buy", fills=2)
        wait_until_true(lambda: len(fills(engine)) == 2)
        on.simulator.inject("feed_drop", api_id="REAL")  # the next push is not sent: the connection is cut
        lost = on.simulator.order(on.acct_no, CODE, 3, "buy")
        wait_until_true(lambda: len(runs(engine, "catch_up")) == 2 and connected(on))
        on.simulator.order(on.acct_no, CODE, 1, "buy")
        wait_until_true(lambda: len(fills(engine)) == 3)
        assert on.count("kiwoom_etl_realtime_reconnects_total", reason="closed") >= 1
        before = checked(engine)
        # Two weekdays later the ledger books the day's trades, the lost one too.
        today[0] = DAY + timedelta(days=2)
        evening = Clock(datetime.combine(today[0], time(21, 0), tzinfo=KST))
        (ledger,) = LedgerJob(on.settings, engine, clock=evening).run(since=DAY - timedelta(days=30))
        assert ledger.ok, ledger.error
    stored = fills(engine)
    assert len(stored) == len(set(stored)) == 3
    assert lost.order_no not in {order_no for order_no, *_ in stored}  # Kiwoom does not push it again
    assert before == (3, 0, "disagrees")  # the fills, before the ledger has the day
    assert checked(engine) == (3, 6, "disagrees")  # the ledger has the lost fill's 3 shares the feed never sent


def checked(engine: Engine) -> tuple[int, int, str]:
    """execution_checks' row of the day's buys of CODE: the fills' quantity, the ledger's, the result."""
    with engine.connect() as connection:
        (row,) = connection.execute(
            text(
                "SELECT quantity, ledger_quantity, result FROM execution_checks "
                "WHERE trade_date = :day AND stock_code = :code AND side = 'buy'"
            ),
            {"day": DAY, "code": CODE},
        ).all()
    return int(row.quantity), int(row.ledger_quantity), str(row.result)


def test_a_token_the_login_refuses_is_replaced_and_the_session_comes_back(engine: Engine, tmp_path: Path) -> None:
    with listening(engine, tmp_path) as on:
        # After the catch-up: its REST call would otherwise meet the revoked token first and replace it.
        wait_until_true(lambda: connected(on) and len(runs(engine, "catch_up")) == 1 and on.realtime.events.idle())
        issued = len(on.simulator.issued)
        on.simulator.revoke_all_tokens()
        on.simulator.inject("feed_drop", api_id="PING")
        wait_until_true(lambda: len(on.simulator.issued) > issued and connected(on))
        on.simulator.order(on.acct_no, CODE, 1, "buy")
        wait_until_true(lambda: len(fills(engine)) == 1)
        assert on.count("kiwoom_etl_realtime_reconnects_total", reason="token") == 1


def test_a_malformed_or_unknown_message_is_counted_and_the_connection_kept(engine: Engine, tmp_path: Path) -> None:
    with listening(engine, tmp_path) as on:
        wait_until_true(lambda: connected(on) and len(runs(engine, "catch_up")) == 1)
        on.simulator.inject("feed_malformed", api_id="REAL")
        on.simulator.inject("feed_unknown", api_id="REAL")
        on.simulator.order(on.acct_no, CODE, 1, "buy")
        wait_until_true(lambda: len(fills(engine)) == 1)
        assert on.count("kiwoom_etl_realtime_messages_total", type="malformed") == 1
        assert on.count("kiwoom_etl_realtime_messages_total", type="unknown") == 1
        assert on.count("kiwoom_etl_realtime_reconnects_total", reason="closed") == 0
        assert len(runs(engine, "catch_up")) == 1


def test_a_silent_server_is_left_and_the_session_opened_again(engine: Engine, tmp_path: Path) -> None:
    with listening(engine, tmp_path) as on:
        wait_until_true(lambda: connected(on))
        on.simulator.inject("feed_silence", api_id="PING")
        wait_until_true(lambda: on.count("kiwoom_etl_realtime_reconnects_total", reason="silence") == 1)
        wait_until_true(lambda: connected(on))


@pytest.mark.postgres
def test_two_replicas_hold_one_session_and_the_standby_takes_over(postgres_url: str, tmp_path: Path) -> None:
    engine = migrated(make_engine(postgres_url))
    try:
        replicas(engine, tmp_path)
    finally:
        engine.dispose()


def replicas(engine: Engine, tmp_path: Path) -> None:
    simulator = make_simulator()
    first_clock, second_clock = Clock(NOON), Clock(NOON)
    with listening(engine, tmp_path / "a", simulator, clock=first_clock) as first:
        wait_until_true(lambda: connected(first))
        with listening(engine, tmp_path / "b", simulator, clock=second_clock) as second:
            (standby,) = second.realtime.states()
            wait_until_true(lambda: not standby.holder and standby.last_problem is None)
            assert simulator.feed.sessions() == 1
            # The holder stops renewing (as if it hung): once its lease has expired, the standby takes over, and
            # the holder's session is closed with R10001 by the standby's login; it then stands by.
            second_clock.now = NOON + timedelta(minutes=1)
            wait_until_true(lambda: connected(second))
            (holder,) = first.realtime.states()
            wait_until_true(lambda: holder.connected_since is None and not holder.holder)
            assert first.count("kiwoom_etl_realtime_reconnects_total", reason="replaced") == 1
            simulator.order(second.acct_no, CODE, 1, "buy")
            wait_until_true(lambda: len(fills(engine)) == 1)


def test_outside_the_windows_the_listener_keeps_fills_but_takes_no_snapshot(engine: Engine, tmp_path: Path) -> None:
    evening = datetime.combine(DAY, time(21, 0), tzinfo=KST)  # after NXT's window closed
    with listening(engine, tmp_path, clock=Clock(evening), all_hours=False) as on:
        wait_until_true(lambda: connected(on))
        on.simulator.order(on.acct_no, CODE, 1, "buy")
        wait_until_true(lambda: len(fills(engine)) == 1)
        wait_until_true(lambda: on.count("kiwoom_etl_event_snapshots_total", result="closed") == 2)
        wait_until_true(lambda: on.realtime.events.idle())
    assert runs(engine, "event") == runs(engine, "catch_up") == []


def test_fills_are_held_while_the_database_is_away_and_stored_once_it_is_back(tmp_path: Path) -> None:
    path = tmp_path / "kiwoom_etl.db"
    engine = migrated(make_engine(f"sqlite:///{path}?timeout=0.2"))  # a busy timeout shorter than the default 30 s
    try:
        with listening(engine, tmp_path) as on:
            wait_until_true(lambda: connected(on) and len(runs(engine, "catch_up")) == 1 and on.realtime.events.idle())
            holder = sqlite3.connect(path, isolation_level=None)
            try:
                holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock: the database is away
                order = on.simulator.order(on.acct_no, CODE, 4, "buy")
                (listener,) = on.realtime.listeners
                wait_until_true(lambda: listener.fills.held == 1)
                assert connected(on)  # the session stays while the lease has not expired
            finally:
                holder.close()  # the database is back
            wait_until_true(lambda: listener.fills.held == 0 and len(fills(engine)) == 1)
            assert fills(engine)[0][:3] == (order.order_no, order.fills[0].execution_no, 4)
    finally:
        engine.dispose()
