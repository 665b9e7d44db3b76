"""The daemon as a user runs it: real processes, real signals, the simulator on loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import re
import signal
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun, Execution, PositionSnapshot, RealtimeLease
from tests.support import account_env, kiwoom_etl
from tests.support.daemon import DaemonProcess, wait_until


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[..., DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(env: dict[str, str], *extra: str, name: str = "daemon") -> DaemonProcess:
        process = DaemonProcess(["run", "--interval", "2s", "--all-hours", *extra], env, tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.wait()


def count(engine: Engine, model: object, *where: object) -> int:
    with engine.connect() as connection:
        return len(connection.execute(select(model).where(*where)).all())  # type: ignore[call-overload]


def test_the_daemon_snapshots_on_the_marks_and_stops_cleanly_on_sigterm(
    db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path, daemons: Callable[..., DaemonProcess]
) -> None:
    env = account_env(simulator, sim_url, db_url, tmp_path)
    assert kiwoom_etl("migrate", env=env).returncode == 0
    engine = make_engine(db_url)
    try:
        daemon = daemons(env)
        snapshot_runs = EtlRun.api_id == "kt00005"
        wait_until(
            lambda: count(engine, EtlRun.id, snapshot_runs, EtlRun.status == "success") >= 6, "three slots of snapshots"
        )
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.output()
        with engine.connect() as connection:
            rows = connection.execute(
                select(EtlRun.status, EtlRun.scheduled_for, EtlRun.position_count).where(snapshot_runs)
            ).all()
            ledger = connection.execute(
                select(EtlRun.trigger, EtlRun.status, EtlRun.exchange).where(EtlRun.api_id == "kt00015")
            ).all()
            snapshots = connection.execute(select(AccountSnapshot.id, AccountSnapshot.position_count)).all()
            positions = Counter(connection.execute(select(PositionSnapshot.snapshot_id)).scalars())
    finally:
        engine.dispose()
    statuses = Counter(status for status, _, _ in rows)
    assert set(statuses) <= {"success", "missed"} and statuses["success"] >= 6  # nothing left running or failed
    assert all(slot.second % 2 == 0 and slot.microsecond == 0 for _, slot, _ in rows)  # on the 2-second marks
    assert all(positions[snapshot_id] == expected for snapshot_id, expected in snapshots)  # every snapshot whole
    assert ledger == [("start", "success", None)]  # the ledger at start, beside the snapshots
    assert "stopping" in daemon.output() and "Traceback" not in daemon.output()
    assert f"{simulator.accounts[0].acct_no} KRX for slot" in daemon.output()  # one line per snapshot

    status = kiwoom_etl("status", "--all-hours", "--interval", "1h", env=env)
    assert status.returncode == 0, status.stderr
    assert "ok" in status.stdout and simulator.accounts[0].acct_no in status.stdout


def test_the_daemon_listens_keeps_each_fill_once_and_closes_the_session_on_sigterm(
    db_url: str,
    sim_url: str,
    feed_url: str,
    simulator: Simulator,
    tmp_path: Path,
    daemons: Callable[..., DaemonProcess],
) -> None:
    env = account_env(simulator, sim_url, db_url, tmp_path, feed=feed_url)
    env["KIWOOM_ETL_REALTIME_SETTLE"] = "1s"
    assert kiwoom_etl("migrate", env=env).returncode == 0
    account = simulator.accounts[0]
    engine = make_engine(db_url)
    try:
        daemon = daemons(env, "--health-port", "0")
        wait_until(lambda: simulator.feed.registered(account.appkey, "00"), "the listener registered")
        wait_until(lambda: count(engine, EtlRun.id, EtlRun.trigger == "catch_up") == 2, "the catch-up snapshots")
        order = simulator.order(account.acct_no, "005930", 5, "buy", fills=2)
        wait_until(lambda: count(engine, Execution.id) == 2, "the fills stored")
        wait_until(lambda: count(engine, EtlRun.id, EtlRun.trigger == "event") >= 2, "the event snapshots")
        port = re.search(r"http://127.0.0.1:(\d+)/healthz", daemon.output())
        assert port is not None, daemon.output()
        with urllib.request.urlopen(f"http://127.0.0.1:{port[1]}/healthz", timeout=5) as answer:
            health = answer.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port[1]}/metrics", timeout=5) as answer:
            metrics = answer.read().decode()
        status = kiwoom_etl("status", "--all-hours", "--interval", "1h", env=env)
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.output()
        with engine.connect() as connection:
            orders = set(connection.scalars(select(Execution.order_no)))
            leases = connection.scalars(select(RealtimeLease.app_key_id)).all()
            events = connection.scalars(select(EtlRun.scheduled_for).where(EtlRun.trigger == "event")).all()
    finally:
        engine.dispose()
    assert orders == {order.order_no}
    assert events and all(slot is None for slot in events)  # an event run claims no slot
    assert f"realtime {account.acct_no}: connected since" in health
    assert f'kiwoom_etl_realtime_connected{{key="{account.acct_no}"}} 1.0' in metrics
    assert 'kiwoom_etl_event_snapshots_total{result="success"}' in metrics
    assert status.returncode == 0 and "connected" in status.stdout and account.acct_no in status.stdout
    assert simulator.feed.sessions() == 0 and leases == []  # the session closed and its lease given back
    assert f"realtime {account.acct_no}: fill buy " in daemon.output()  # a line per fill
    assert f"{account.acct_no} KRX (event): loaded" in daemon.output()  # an event snapshot says why it ran
    assert "Traceback" not in daemon.output() and account.appkey not in daemon.output()


def test_a_second_signal_exits_at_once_and_leaves_nothing_partial(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path, daemons: Callable[..., DaemonProcess]
) -> None:
    env = account_env(simulator, sim_url, sqlite_url, tmp_path)
    assert kiwoom_etl("migrate", env=env).returncode == 0
    simulator.inject("hold", api_id="kt00005", after=1)  # the second page hangs until released
    engine = make_engine(sqlite_url)
    try:
        daemon = daemons(env)
        wait_until(lambda: simulator.count("kt00005") >= 2, "a snapshot in flight")
        daemon.signal(signal.SIGTERM)
        wait_until(lambda: "stopping" in daemon.output(), "the first signal taken")  # not merged with the second
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 128 + signal.SIGTERM
        simulator.release()
        with engine.connect() as connection:
            statuses = connection.execute(select(EtlRun.status).where(EtlRun.api_id == "kt00005")).scalars().all()
            snapshots = connection.execute(select(AccountSnapshot.id)).all()
    finally:
        engine.dispose()
    # The slot's two runs (KRX in flight, NXT not begun) were claimed together: both say so; no half snapshot.
    assert statuses == ["running", "running"] and snapshots == []
    assert "second signal" in daemon.output()


def test_two_daemons_on_one_postgresql_never_duplicate_a_slot_and_hold_one_feed_session(
    postgres_url: str,
    sim_url: str,
    feed_url: str,
    simulator: Simulator,
    tmp_path: Path,
    daemons: Callable[..., DaemonProcess],
) -> None:
    config = tmp_path / "accounts.toml"
    config.write_text(
        "".join(f'[[accounts]]\nappkey = "{a.appkey}"\nsecretkey = "{a.secretkey}"\n' for a in simulator.accounts),
        encoding="utf-8",
    )
    config.chmod(0o600)  # it holds keys
    env = account_env(simulator, sim_url, postgres_url, tmp_path, feed=feed_url) | {"KIWOOM_ETL_CONFIG": str(config)}
    del env["KIWOOM_APPKEY"], env["KIWOOM_SECRETKEY"]
    assert kiwoom_etl("migrate", env=env).returncode == 0
    engine = make_engine(postgres_url)
    try:
        first = daemons(env, name="first")
        second = daemons(env, name="second")
        wait_until(lambda: count(engine, AccountSnapshot.id) >= 4 * 4, "four slots of snapshots")
        keys = [account.appkey for account in simulator.accounts]
        wait_until(lambda: all(simulator.feed.registered(key, "00") for key in keys), "both keys listened to")
        sessions = simulator.feed.sessions()  # one per app key, whichever replica holds it
        for daemon in (first, second):
            daemon.signal(signal.SIGTERM)
        assert first.wait() == 0 and second.wait() == 0, first.output() + second.output()
        with engine.connect() as connection:
            runs = connection.execute(
                select(EtlRun.account_no, EtlRun.exchange, EtlRun.scheduled_for, EtlRun.status).where(
                    EtlRun.api_id == "kt00005"
                )
            ).all()
            snapshots = connection.execute(
                select(AccountSnapshot.account_no, AccountSnapshot.exchange, AccountSnapshot.scheduled_for)
            ).all()
    finally:
        engine.dispose()
    assert sessions == len(keys)
    assert {status for *_, status in runs} <= {"success", "missed"}
    assert len(snapshots) == sum(status == "success" for *_, status in runs)  # every success is one snapshot
    slots = {slot for *_, slot, status in runs if status == "success" and slot is not None}  # not the catch-ups
    assert all(sum(1 for *_, s, st in runs if s == slot and st == "success") == 4 for slot in slots)
    # A slot's runs are claimed together, so the replica that claims first takes the whole slot (which one may
    # change from slot to slot); losing a race is no error.
    assert any(" for slot " in daemon.output() for daemon in (first, second))
    for daemon in (first, second):
        assert " ERROR " not in daemon.output(), daemon.output()
        assert "session ended (replaced)" not in daemon.output()  # the replicas never logged each other out


def holder_pid(engine: Engine) -> int | None:
    """The process id of the replica holding the feed's lease (its holder is host:pid:suffix), if any."""
    with engine.connect() as connection:
        holder = connection.scalar(select(RealtimeLease.holder))
    return None if holder is None else int(holder.split(":")[-2])


@pytest.mark.postgres
def test_when_the_replica_holding_the_feed_dies_the_other_takes_the_session_over(
    postgres_url: str,
    sim_url: str,
    feed_url: str,
    simulator: Simulator,
    tmp_path: Path,
    daemons: Callable[..., DaemonProcess],
) -> None:
    env = account_env(simulator, sim_url, postgres_url, tmp_path, feed=feed_url)
    assert kiwoom_etl("migrate", env=env).returncode == 0
    account = simulator.accounts[0]
    engine = make_engine(postgres_url)
    try:
        replicas = [daemons(env, name="first"), daemons(env, name="second")]
        wait_until(lambda: simulator.feed.registered(account.appkey, "00"), "one replica listening")
        by_pid = {daemon.process.pid: daemon for daemon in replicas}
        holding = by_pid[holder_pid(engine) or 0]
        (standby,) = [daemon for daemon in replicas if daemon is not holding]
        assert simulator.feed.sessions() == 1
        holding.process.kill()  # kill -9: no clean stop, the lease is left to expire
        holding.wait()
        wait_until(
            lambda: holder_pid(engine) == standby.process.pid and simulator.feed.registered(account.appkey, "00"),
            "the standby holding the session",
        )
        order = simulator.order(account.acct_no, "005930", 1, "buy")
        wait_until(lambda: count(engine, Execution.id, Execution.order_no == order.order_no) == 1, "its fill stored")
        standby.signal(signal.SIGTERM)
        assert standby.wait() == 0, standby.output()
    finally:
        engine.dispose()
    assert "holding the session" in standby.output() and "Traceback" not in standby.output()
