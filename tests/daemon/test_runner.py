"""The daemon's slots in process, with a controlled clock: claims, missed and skipped slots, failures, health."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event, select

from etl.clock import CalendarCorrections, Window, utc_now
from etl.daemon.runner import Daemon, fan_out_workers, serve_health
from etl.jobs.flush import flush
from etl.read.status import calendar_line, pair_statuses
from etl.settings import Account, Secret, Settings, load_settings
from etl.sim.accounts import make_account
from etl.sim.simulator import Simulator, serve
from etl.store.engine import POOL_MAX_OVERFLOW, POOL_SIZE
from etl.store.models import AccountSnapshot, EtlRun
from tests.support import Clock, PoolWatch, kiwoom_etl, make_settings, sim_accounts, wait_until_true
from tests.support.daemon import SLOT, build_schedule
from tests.support.schema import migrated

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.fixture
def settings(sim_url: str, simulator: Simulator, engine: Engine, tmp_path: Path) -> Settings:
    return make_settings(
        sim_url, engine.url.render_as_string(hide_password=False), tmp_path / "state", sim_accounts(simulator)
    )


@pytest.fixture
def daemon_for(engine: Engine) -> Callable[..., Daemon]:
    made: list[Daemon] = []

    def make(settings: Settings, clock: Clock, **kw: object) -> Daemon:
        schedule = build_schedule(corrections=settings.calendar, **kw)  # type: ignore[arg-type]
        daemon = Daemon(settings, schedule, engine, clock=clock)
        made.append(daemon)
        return daemon

    yield make  # type: ignore[misc]
    for daemon in made:
        daemon.fetcher.close()


def runs(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(EtlRun.__table__).order_by(EtlRun.id)).mappings()]


def test_a_slot_snapshots_every_account_and_exchange(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]
) -> None:
    results = daemon_for(settings, Clock(SLOT)).run_slot(SLOT)
    assert sorted((r.exchange, r.status) for r in results) == [("KRX", "success")] * 2 + [("NXT", "success")] * 2
    with engine.connect() as connection:
        slots = connection.execute(select(AccountSnapshot.scheduled_for)).scalars().all()
    assert slots == [SLOT] * 4
    assert {r["trigger"] for r in runs(engine)} == {"scheduled"} and all(
        r["duration_ms"] is not None for r in runs(engine)
    )


def test_a_slot_claims_the_runs_of_every_known_account_in_one_commit(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]
) -> None:
    daemon = daemon_for(settings, Clock(SLOT))
    daemon.resolve_accounts()  # as recover does at start: the numbers are known before the first slot
    commits: list[object] = []

    def committed(connection: object) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        results = daemon.run_slot(SLOT)
    finally:
        event.remove(engine, "commit", committed)
    assert sorted((r.exchange, r.status) for r in results) == [("KRX", "success")] * 2 + [("NXT", "success")] * 2
    assert len(commits) == 1 + 4  # the slot's four claims together, then each load
    rows = runs(engine)
    assert len({r["started_at"] for r in rows}) == 1 and {r["scheduled_for"] for r in rows} == {SLOT}


def test_one_app_key_listed_twice_is_snapshotted_once_a_slot(
    sim_url: str, simulator: Simulator, engine: Engine, tmp_path: Path, daemon_for: Callable[..., Daemon]
) -> None:
    first = sim_accounts(simulator)[0]
    twice = (first, replace(first, source="accounts[1]"))
    settings = make_settings(sim_url, engine.url.render_as_string(hide_password=False), tmp_path / "state", twice)
    daemon = daemon_for(settings, Clock(SLOT))
    daemon.resolve_accounts()
    results = daemon.run_slot(SLOT)
    assert sorted((r.exchange, r.status) for r in results) == [
        ("KRX", "skipped"),
        ("KRX", "success"),
        ("NXT", "skipped"),
        ("NXT", "success"),
    ]
    assert sorted((r["exchange"], r["status"]) for r in runs(engine)) == [("KRX", "success"), ("NXT", "success")]


def test_a_claimed_run_is_handed_to_one_worker_only(
    engine: Engine, tmp_path: Path, daemon_for: Callable[..., Daemon]
) -> None:
    """Two app keys of one account, the second never resolved: the slot's claim holds the account's run once, and
    the second key's worker, learning the same number, is told the slot is taken rather than load into it too."""
    first = make_account(1, 3, exchanges=("KRX",))
    second_key = replace(first, appkey="sim-appkey-second", secretkey="sim-secretkey-second")
    simulator = Simulator(accounts=[first, second_key], page_size=3, rate_per_second=200, burst=50, retry_after=None)
    with serve(simulator) as url:
        database_url = engine.url.render_as_string(hide_password=False)
        settings = make_settings(url, database_url, tmp_path / "state", sim_accounts(simulator))
        daemon = daemon_for(settings, Clock(SLOT))
        known = settings.accounts[0]
        daemon.fetcher.account_number(known, daemon.fetcher.client(known))  # only the first key is known yet
        results = daemon.run_slot(SLOT)
    assert sorted((r.status, r.reason) for r in results) == [("skipped", "claimed_elsewhere"), ("success", None)]
    assert [r["status"] for r in runs(engine)] == ["success"]
    with engine.connect() as connection:
        assert len(connection.execute(select(AccountSnapshot.id)).all()) == 1


@pytest.mark.parametrize("resolved", [False, True], ids=["claimed-one-by-one", "claimed-together"])
def test_two_daemons_on_one_database_take_a_slot_once(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon], resolved: bool
) -> None:
    first, second = daemon_for(settings, Clock(SLOT)), daemon_for(settings, Clock(SLOT))
    if resolved:
        first.resolve_accounts()
    outcomes: list[list[object]] = []
    racers = [threading.Thread(target=lambda d=d: outcomes.append(d.run_slot(SLOT))) for d in (first, second)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    statuses = sorted(r.status for outcome in outcomes for r in outcome)  # type: ignore[attr-defined]
    assert statuses == ["skipped"] * 4 + ["success"] * 4  # the loser of each race did nothing
    rows = runs(engine)
    assert len(rows) == 4 and {r["status"] for r in rows} == {"success"}
    with engine.connect() as connection:
        assert len(connection.execute(select(AccountSnapshot.id)).all()) == 4


def test_slots_passed_while_down_are_recorded_as_missed(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]
) -> None:
    daemon_for(settings, Clock(SLOT)).run_slot(SLOT)
    restarted = daemon_for(settings, Clock(SLOT + timedelta(minutes=17)))
    # 09:05 and 09:10 × 2 accounts × 2 exchanges; 09:15 may still be a replica's slot in progress, left to the tick
    assert restarted.recover() == 2 * 4
    missed = [r for r in runs(engine) if r["status"] == "missed"]
    assert {r["scheduled_for"] for r in missed} == {SLOT + timedelta(minutes=m) for m in (5, 10)}
    assert {r["reason"] for r in missed} == {"daemon_down"}
    assert restarted.recover() == 0  # recorded once, however often asked
    restarted.tick()  # 09:17: the 09:15 slot, two minutes late but within the grace, is taken
    assert restarted.wait_idle()
    assert {
        (r["scheduled_for"], r["status"]) for r in runs(engine) if r["scheduled_for"] > SLOT + timedelta(minutes=10)
    } == {(SLOT + timedelta(minutes=15), "success")}


def test_a_gap_between_ticks_is_recorded_as_missed(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]
) -> None:
    clock = Clock(SLOT + timedelta(seconds=1))
    daemon = daemon_for(settings, clock)
    daemon.tick()
    daemon.tick()  # the same slot again: nothing to do
    assert daemon.wait_idle() and len(runs(engine)) == 4
    clock.now = SLOT + timedelta(minutes=15, seconds=2)  # the machine slept through 09:05 and 09:10
    daemon.tick()
    assert daemon.wait_idle()
    by_slot = {(r["scheduled_for"], r["status"]) for r in runs(engine)}
    assert by_slot == {
        (SLOT, "success"),
        (SLOT + timedelta(minutes=5), "missed"),
        (SLOT + timedelta(minutes=10), "missed"),
        (SLOT + timedelta(minutes=15), "success"),
    }
    assert {r["reason"] for r in runs(engine) if r["status"] == "missed"} == {"not_started"}


def test_a_holiday_is_skipped_with_its_reason_and_no_request(
    settings: Settings, engine: Engine, simulator: Simulator, daemon_for: Callable[..., Daemon]
) -> None:
    chuseok_eve = datetime(2026, 9, 24, 8, 30, tzinfo=SEOUL)
    assert daemon_for(settings, Clock(chuseok_eve)).run_slot(chuseok_eve) == []
    skipped = runs(engine)
    assert len(skipped) == 2 and {r["exchange"] for r in skipped} == {"KRX"}  # NXT's window began at 07:50
    assert all(r["status"] == "skipped" and r["reason"] == "market_closed" for r in skipped)
    assert all("Chuseok" in str(r["detail"]) for r in skipped)  # the holiday's name
    assert simulator.count("kt00005") == 0


def test_a_bad_account_fails_alone(settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]) -> None:
    bad = Account(Secret("sim-appkey-1"), Secret("wrong"), name="bad", exchanges=("KRX", "NXT"))
    with_bad = settings.with_overrides(accounts=(bad, *settings.accounts))
    results = daemon_for(with_bad, Clock(SLOT)).run_slot(SLOT)
    assert sorted((r.account, r.status) for r in results if r.account == "bad") == [("bad", "failed")] * 2
    assert [r.status for r in results if r.account != "bad"] == ["success"] * 4
    failed = [r for r in runs(engine) if r["status"] == "failed"]
    assert {(r["account_no"], r["exchange"]) for r in failed} == {("bad", "KRX"), ("bad", "NXT")}
    assert all("8002" in str(r["error"]) for r in failed)


def test_health_and_metrics_over_http(settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]) -> None:
    clock = Clock(SLOT)
    daemon = daemon_for(settings, clock)
    daemon.started_at = SLOT - timedelta(hours=1)
    server = serve_health(daemon, 0)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        daemon.run_slot(SLOT)
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
            assert answer.status == 200
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as answer:
            metrics = answer.read().decode()
        assert 'kiwoom_etl_snapshots_total{reason="",result="success"} 4.0' in metrics
        assert "kiwoom_etl_snapshot_duration_seconds_bucket" in metrics
        assert 'kiwoom_etl_last_success_timestamp_seconds{account="5000001111",exchange="KRX"}' in metrics
        clock.now = SLOT + timedelta(minutes=11)  # inside the window, and more than twice the interval later
        with pytest.raises(urllib.error.HTTPError) as stale:
            urllib.request.urlopen(f"{base}/healthz", timeout=5)
        assert stale.value.code == 503
        stale.value.close()
    finally:
        server.shutdown()
        server.server_close()


def test_api_retries_are_counted_by_reason(
    settings: Settings, simulator: Simulator, daemon_for: Callable[..., Daemon]
) -> None:
    daemon = daemon_for(settings, Clock(SLOT))
    simulator.inject("http_503", api_id="kt00005", count=2)
    simulator.inject("rate_limit", api_id="kt00005", after=4)
    daemon.run_slot(SLOT)
    metrics = daemon.metrics.exposition().decode()
    assert 'kiwoom_etl_api_retries_total{reason="server_error"} 2.0' in metrics
    assert 'kiwoom_etl_api_retries_total{reason="rate_limited"} 1.0' in metrics


def test_status_names_stale_pairs_and_exits_non_zero(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]
) -> None:
    # `status` judges against the real time: the snapshot is an hour before now, whatever today is.
    schedule = build_schedule(all_hours=True)
    an_hour_ago = schedule.floor(utc_now() - timedelta(hours=1))
    daemon_for(settings, Clock(an_hour_ago), all_hours=True).run_slot(an_hour_ago)
    env = {"KIWOOM_ETL_DATABASE_URL": settings.database_url, "KIWOOM_ETL_STATE_DIR": str(settings.state_dir)}
    result = kiwoom_etl("status", "--all-hours", env=env)
    assert result.returncode == 1, result.stderr
    spool_line, *lines = result.stdout.splitlines()
    assert spool_line == "Spool: empty."
    assert lines[0].split()[:3] == ["account", "exchange", "state"] and len(lines) == 2 + 4
    shown = f"{schedule.local(an_hour_ago):%Y-%m-%d %H:%M:}"
    assert all(" STALE " in line and shown in line for line in lines[2:])
    assert "4 of 4 account × exchange(s) STALE" in result.stderr


def test_status_with_nothing_for_a_week_names_the_newest_run_and_fails(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    env = {"KIWOOM_ETL_DATABASE_URL": settings.database_url, "KIWOOM_ETL_STATE_DIR": str(settings.state_dir)}
    empty = kiwoom_etl("status", env=env)
    assert empty.returncode == 1 and "no snapshot was ever attempted" in empty.stderr
    schedule = build_schedule(all_hours=True)
    long_ago = schedule.floor(utc_now() - timedelta(days=8))
    daemon_for(settings, Clock(long_ago), all_hours=True).run_slot(long_ago)
    result = kiwoom_etl("status", env=env)
    assert result.returncode == 1, result.stdout
    assert "No snapshot runs in the last week" in result.stdout
    assert f"the newest run is success, started {schedule.local(long_ago):%Y-%m-%d %H:%M:}" in result.stderr


def test_a_slow_account_does_not_hold_up_the_others(
    settings: Settings, engine: Engine, simulator: Simulator, daemon_for: Callable[..., Daemon]
) -> None:
    slow = simulator.accounts[1]
    simulator.inject("hold", api_id="kt00005", appkey=slow.appkey)  # held until released: no race with the clock
    clock = Clock(SLOT)
    daemon = daemon_for(settings, clock)
    daemon.tick()  # starts 09:00 for both accounts; the second hangs for a while
    quick = simulator.accounts[0].acct_no
    wait_until_true(lambda: sum(r["status"] == "success" and r["account_no"] == quick for r in runs(engine)) == 2)
    clock.now = SLOT + timedelta(minutes=5)
    daemon.tick()  # 09:05: the quick account goes on, the slow one is still busy with 09:00
    simulator.release()  # the 09:05 slot is recorded: now 09:00 of the slow account may end
    assert daemon.wait_idle()
    got = {(r["account_no"], r["exchange"], r["scheduled_for"]): (r["status"], r["reason"]) for r in runs(engine)}
    later = SLOT + timedelta(minutes=5)
    assert got[(quick, "KRX", later)] == ("success", None) and got[(quick, "NXT", later)] == ("success", None)
    assert got[(slow.acct_no, "KRX", SLOT)][0] == "success"
    assert got[(slow.acct_no, "KRX", later)] == ("missed", "still_running")


def test_runs_cut_off_long_ago_are_closed_at_start(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]
) -> None:
    from etl.store.runs import start_run

    cut_off = start_run(
        engine,
        trigger="scheduled",
        started_at=SLOT - timedelta(hours=3),
        account_no="x",
        exchange="KRX",
        scheduled_for=SLOT - timedelta(hours=3),
    )
    recent = start_run(engine, trigger="manual", started_at=SLOT - timedelta(minutes=1), account_no="x", exchange="KRX")
    daemon_for(settings, Clock(SLOT)).recover()
    status = {r["id"]: (r["status"], r["error"]) for r in runs(engine)}
    assert status[cut_off.id][0] == "failed" and "abandoned" in str(status[cut_off.id][1])
    assert {r["reason"] for r in runs(engine) if r["id"] == cut_off.id} == {"abandoned"}
    assert status[recent.id] == ("running", None)  # perhaps another replica's, still at work


def test_the_daemon_spools_while_the_database_is_away_and_flushes_when_it_is_back(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    from etl.store.engine import make_engine

    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    away = Daemon(settings, build_schedule(), down, clock=Clock(SLOT))
    try:
        assert away.recover() == 0  # starts anyway
        assert {r.status for r in away.run_slot(SLOT)} == {"spooled"}
    finally:
        away.fetcher.close()
        down.dispose()
    assert len(away.snapshotter.spool.paths()) == 4
    back = daemon_for(settings, Clock(SLOT + timedelta(minutes=1)))
    back.recover()  # a start flushes, as every interval does: what was spooled for this database
    assert len(back.snapshotter.spool.paths()) == 4 and runs(engine) == []  # they were meant for the one away
    report = flush(engine, back.snapshotter.spool, into_this_database=True)
    assert report.loaded == 4 and back.snapshotter.spool.paths() == []
    assert sorted(r["status"] for r in runs(engine)) == ["success"] * 4


def test_a_reader_holding_the_sqlite_file_does_not_block_a_load(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    import sqlite3

    from etl.store.engine import make_engine

    engine = make_engine(sqlite_url)
    migrated(engine)
    settings = make_settings(sim_url, sqlite_url, tmp_path / "state", sim_accounts(simulator))
    daemon = Daemon(settings, build_schedule(), engine, clock=Clock(SLOT))
    reader = sqlite3.connect(str(engine.url.database))
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM position_snapshots").fetchone()  # a BI tool in the middle of a query
        assert [r.status for r in daemon.run_slot(SLOT)] == ["success"] * 4  # WAL: readers never block the load
    finally:
        reader.close()
        daemon.fetcher.close()
        engine.dispose()


FIVE_MINUTES, ONE_MINUTE = timedelta(minutes=5), timedelta(minutes=1)


@pytest.mark.parametrize(
    ("accounts", "requests", "rate", "interval", "limit", "workers"),
    [
        (1, 2, 1.0, FIVE_MINUTES, None, 1),  # never more workers than accounts
        (3, 6, 1.0, FIVE_MINUTES, None, 3),
        (10, 20, 1.0, FIVE_MINUTES, None, 4),  # a few, so that a slow account never holds up the others
        (100, 200, 1.0, FIVE_MINUTES, None, 7),  # 200 paced requests of 1 s in a tenth of 5 minutes
        (1000, 2000, 1.0, FIVE_MINUTES, None, 67),
        (1000, 1000, 1.0, FIVE_MINUTES, None, 34),  # KRX only: half the requests
        (1000, 2000, 5.0, FIVE_MINUTES, None, 14),  # a faster pacing needs fewer
        (1000, 2000, 1.0, ONE_MINUTE, None, 256),  # 334 wanted, at most MAX_WORKERS without a setting
        (1000, 2000, 1.0, FIVE_MINUTES, 4, 4),  # `workers` is an upper bound
        (1000, 2000, 1.0, FIVE_MINUTES, 500, 67),  # a bound above the need changes nothing
        (2000, 4000, 1.0, ONE_MINUTE, 1000, 667),  # a bound given is honoured beyond MAX_WORKERS
        (0, 0, 1.0, FIVE_MINUTES, None, 1),
    ],
)
def test_the_worker_count_follows_from_the_accounts_the_pacing_and_the_interval(
    accounts: int, requests: int, rate: float, interval: timedelta, limit: int | None, workers: int
) -> None:
    assert fan_out_workers(accounts, requests, rate, interval, limit) == workers


def test_the_daemon_sizes_its_workers_from_its_accounts_and_the_workers_bound(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon]
) -> None:
    many = tuple(
        Account(Secret(f"k{i}"), Secret(f"s{i}"), source=f"accounts[{i}]", exchanges=("KRX",)) for i in range(40)
    )
    slow = settings.with_overrides(accounts=many, rate_per_second=1.0, rate_burst=2)
    assert daemon_for(slow, Clock(SLOT)).workers == 4  # 40 paced requests of 1 s fit in 30 s with 2: the minimum
    assert daemon_for(slow, Clock(SLOT), interval=timedelta(seconds=30)).workers == 14  # 40 s of turns in 3 s
    assert daemon_for(slow, Clock(SLOT), interval=timedelta(seconds=10)).workers == 40  # one per account
    assert daemon_for(slow.with_overrides(workers=8), Clock(SLOT), interval=timedelta(seconds=30)).workers == 8


@pytest.fixture
def fifty(tmp_path: Path) -> Iterator[tuple[Simulator, str]]:
    simulator = Simulator(
        accounts=[make_account(i, 4) for i in range(1, 51)], rate_per_second=200, burst=50, retry_after=None
    )
    with serve(simulator) as url:
        yield simulator, url


def test_many_accounts_are_each_served_exactly_once_per_slot_through_a_bounded_pool(
    fifty: tuple[Simulator, str], engine: Engine, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    simulator, url = fifty
    database_url = engine.url.render_as_string(hide_password=False)
    settings = make_settings(url, database_url, tmp_path / "state", sim_accounts(simulator), rate_per_second=1.0)
    pool = PoolWatch(engine)
    clock = Clock(SLOT)
    daemon = daemon_for(settings, clock, all_hours=True, interval=timedelta(seconds=30))
    assert daemon.workers == 34  # 100 requests paced at 1/s, in 3 s; more workers than pooled connections
    daemon.recover()
    for slot in (SLOT, SLOT + timedelta(seconds=30)):
        clock.now = slot
        daemon.tick()
        assert daemon.wait_idle()
    served = Counter((r["account_no"], r["exchange"], r["scheduled_for"], r["status"]) for r in runs(engine))
    expected = {
        (a.acct_no, x, slot, "success")
        for a in simulator.accounts
        for x in ("KRX", "NXT")
        for slot in (SLOT, SLOT + timedelta(seconds=30))
    }
    assert set(served) == expected and set(served.values()) == {1}  # every account × exchange once per slot
    assert simulator.count("kt00005") == 200 and simulator.count("ka00001") == 50  # each number asked once
    assert pool.most <= POOL_SIZE + POOL_MAX_OVERFLOW  # the workers waited for a connection rather than open more


def test_the_day_totals_are_taken_once_a_trading_day_after_the_close_however_many_daemons_run(
    settings: Settings, engine: Engine, simulator: Simulator, daemon_for: Callable[..., Daemon]
) -> None:
    morning = Clock(SLOT)
    daemon_for(settings, morning).run_ledger(daily=False)  # started in the morning: the day is not over
    assert simulator.count("kt00017") == 0
    evening = SLOT.replace(hour=20, minute=15)
    first, replica = daemon_for(settings, Clock(evening)), daemon_for(settings, Clock(evening))
    first.run_ledger()
    replica.run_ledger()  # a replica's evening on the same database: the day is claimed
    daemon_for(settings, Clock(evening + timedelta(hours=1))).run_ledger(daily=False)  # a restart after the close
    saturday = evening + timedelta(days=4)
    daemon_for(settings, Clock(saturday)).run_ledger()
    with engine.connect() as connection:
        taken = connection.execute(
            select(EtlRun.account_no, EtlRun.status, EtlRun.scheduled_for).where(EtlRun.api_id == "kt00017")
        ).all()
    assert sorted(taken) == sorted((a, "success", evening) for a in ("5000001111", "5000002222"))
    assert simulator.count("kt00017") == 2  # each account once
    metrics = first.metrics.exposition().decode()
    assert 'kiwoom_etl_day_totals_runs_total{reason="",result="success"} 2.0' in metrics


def with_calendar(settings: Settings, tmp_path: Path, table: str) -> Settings:
    """`settings` with the [calendar] of a config file holding `table`, read as `kiwoom-etl` reads it."""
    config = tmp_path / "calendar.toml"
    config.write_text(f"[calendar]\n{table}\n", encoding="utf-8")
    return settings.with_overrides(calendar=load_settings(config, environ={}).calendar)


def test_a_declared_holiday_is_skipped_with_its_reason_whether_the_daemon_runs_or_was_down(
    settings: Settings, engine: Engine, simulator: Simulator, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    # SLOT's Tuesday and the Wednesday after it are trading days in the package: the config closes them.
    corrected = with_calendar(settings, tmp_path, 'holidays = { "2026-11-24" = "market closure", "2026-11-25" = "" }')
    krx_opens = SLOT.replace(hour=8, minute=30)
    assert daemon_for(corrected, Clock(krx_opens)).run_slot(krx_opens) == []
    assert daemon_for(corrected, Clock(SLOT)).run_slot(SLOT) == []  # nothing is due at 09:00 of a closed day
    restarted = daemon_for(corrected, Clock(SLOT + timedelta(days=2, hours=-2)))  # down until Thursday 07:00
    assert restarted.recover() == 4  # Wednesday: NXT at 07:50 and KRX at 08:30, for each of the two accounts
    wednesday = SLOT + timedelta(days=1)
    assert sorted((r["scheduled_for"], r["exchange"], r["status"], r["reason"], r["detail"]) for r in runs(engine)) == [
        *[(krx_opens, "KRX", "skipped", "market_closed", "declared holiday (config): market closure")] * 2,
        *[(wednesday.replace(hour=7, minute=50), "NXT", "skipped", "market_closed", "declared holiday (config)")] * 2,
        *[(wednesday.replace(hour=8, minute=30), "KRX", "skipped", "market_closed", "declared holiday (config)")] * 2,
    ]
    assert simulator.count("kt00005") == 0
    thursday = SLOT + timedelta(days=2)  # `status`'s next slot passes over the declared holidays too
    next_slots = {(p.exchange, p.next_slot) for p in pair_statuses(engine, restarted.schedule, krx_opens)}
    assert next_slots == {("NXT", thursday.replace(hour=7, minute=50)), ("KRX", thursday.replace(hour=8, minute=30))}


def test_a_trading_day_entry_snapshots_a_day_the_package_calls_a_holiday(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    constitution_day = datetime(2026, 7, 17, 9, 0, tzinfo=SEOUL)  # an XKRX holiday in the package
    assert daemon_for(settings, Clock(constitution_day)).run_slot(constitution_day) == []
    corrected = with_calendar(settings, tmp_path, 'trading_days = ["2026-07-17"]')
    results = daemon_for(corrected, Clock(constitution_day)).run_slot(constitution_day)
    assert sorted((r.exchange, r.status) for r in results) == [("KRX", "success")] * 2 + [("NXT", "success")] * 2


def test_on_a_session_day_the_end_of_day_snapshot_is_taken_at_the_close_plus_15_minutes(
    settings: Settings, engine: Engine, daemon_for: Callable[..., Daemon], tmp_path: Path
) -> None:
    corrected = with_calendar(settings, tmp_path, 'sessions = { "2026-11-19" = "10:00-16:30" }')  # the exam day
    start = datetime(2026, 11, 19, 15, 40, tzinfo=SEOUL)
    clock = Clock(start)
    daemon = daemon_for(corrected, clock)
    for minutes in range(0, 70, 5):  # every slot from 15:40 to 16:45, as the scheduler calls the daemon
        clock.now = start + timedelta(minutes=minutes)
        daemon.tick()
        assert daemon.wait_idle()
    taken = {(r["scheduled_for"], r["exchange"], r["trigger"]) for r in runs(engine) if r["status"] == "success"}
    krx = sorted((at.astimezone(SEOUL).time(), trigger) for at, exchange, trigger in taken if exchange == "KRX")
    assert (time(15, 45), "scheduled") in krx and krx[-1] == (time(16, 45), "end_of_day")
    assert [at for at, trigger in krx if trigger == "end_of_day"] == [time(16, 45)]


def test_status_names_the_calendar_corrections_in_force() -> None:
    corrections = CalendarCorrections(
        holidays={date(2026, 6, 3): "", date(2026, 12, 30): "year-end closure"},
        trading_days=frozenset({date(2026, 7, 17)}),
        sessions={date(2026, 11, 19): Window(time(10, 0), time(16, 30))},
    )
    schedule = build_schedule(corrections=corrections)
    assert calendar_line(build_schedule(), SLOT) is None
    assert calendar_line(schedule, datetime(2026, 11, 1, 12, 0, tzinfo=SEOUL)) == (
        "Calendar ([calendar]): 2 declared holidays, 1 trading day, 1 session; coming: "
        "2026-11-19 trades 10:00-16:30, KRX's end of day at 16:45; 2026-12-30 closed (year-end closure)."
    )
    assert calendar_line(schedule, datetime(2027, 1, 4, 12, 0, tzinfo=SEOUL)) == (
        "Calendar ([calendar]): 2 declared holidays, 1 trading day, 1 session; none from today on."
    )


def test_status_prints_the_calendar_line_and_a_bad_calendar_is_refused_at_start(
    settings: Settings, tmp_path: Path
) -> None:
    env = {"KIWOOM_ETL_DATABASE_URL": settings.database_url, "KIWOOM_ETL_STATE_DIR": str(settings.state_dir)}
    config = tmp_path / "kiwoom-etl.toml"
    config.write_text(
        '[calendar]\nholidays = ["2026-06-03"]\ntrading_days = ["2026-07-17"]\n'
        'sessions = { "2026-11-19" = "10:00-16:30" }\n',
        encoding="utf-8",
    )
    shown = kiwoom_etl("--config", str(config), "status", env=env)
    assert "Calendar ([calendar]): 1 declared holiday, 1 trading day, 1 session; " in shown.stdout, shown.stderr
    config.write_text('[calendar]\nsessions = { "2026-11-19" = "16:30-10:00" }\n', encoding="utf-8")
    for command in ("status", "run"):
        refused = kiwoom_etl("--config", str(config), command, env=env)
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr == (
            f"kiwoom-etl: error: {config}: calendar.sessions.2026-11-19: the session must close after it opens, "
            "got '16:30-10:00'\n"
        )


def test_the_daemon_alone_refuses_a_market_time_before_the_close(settings: Settings, tmp_path: Path) -> None:
    """`run` would take the day's bars mid-session; `status` (any command but the daemon) still reads the settings."""
    env = {
        "KIWOOM_ETL_DATABASE_URL": settings.database_url,
        "KIWOOM_ETL_STATE_DIR": str(settings.state_dir),
        "KIWOOM_APPKEY": "app",
        "KIWOOM_SECRETKEY": "secret",
        "KIWOOM_ETL_MARKET_AT": "14:00",
    }
    refused = kiwoom_etl("run", env=env)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "[market] at (KIWOOM_ETL_MARKET_AT) 14:00 in Asia/Seoul is 14:00 KST, before KRX's close" in refused.stderr
    assert "Traceback" not in refused.stderr
    shown = kiwoom_etl("status", env=env)
    assert "market" not in shown.stderr, shown.stderr


def test_the_market_data_has_its_own_daily_jobs_and_worker(
    settings: Settings, daemon_for: Callable[..., Daemon]
) -> None:
    scheduler = daemon_for(settings.with_overrides(market_at=time(18, 45)), Clock(SLOT))._scheduler()
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert jobs["instruments"].executor == jobs["market"].executor == "market"
    assert str(jobs["instruments"].trigger) == "cron[hour='8', minute='0']"
    assert str(jobs["market"].trigger) == "cron[hour='18', minute='45']"


def test_the_market_data_is_taken_once_a_trading_day_however_many_daemons_run(
    settings: Settings, engine: Engine, simulator: Simulator, daemon_for: Callable[..., Daemon]
) -> None:
    morning, evening = SLOT.replace(hour=8, minute=0), SLOT.replace(hour=18, minute=30)
    first = daemon_for(settings, Clock(morning))
    assert [r.api.api_id for r in first.run_instruments()] == ["ka10099"]  # nothing held yet: no code asked alone
    assert daemon_for(settings, Clock(morning)).run_instruments() == []  # a replica: the day is claimed
    assert all(s.ok for s in first.snapshotter.take())
    taken = daemon_for(settings, Clock(evening)).run_market()
    assert daemon_for(settings, Clock(evening)).run_market() == []  # a replica
    saturday = evening + timedelta(days=4)
    assert daemon_for(settings, Clock(saturday)).run_market() == []  # no KRX trading day
    assert [(r.api.api_id, r.ok) for r in taken] == [("ka20006", True), ("ka10081", True)]
    with engine.connect() as connection:
        claimed = connection.execute(
            select(EtlRun.api_id, EtlRun.account_no, EtlRun.scheduled_for).where(EtlRun.api_id.like("ka%"))
        ).all()
    assert sorted(claimed) == sorted(
        [("ka10099", None, morning), ("ka20006", None, evening), ("ka10081", None, evening)]
    )
    assert simulator.count("ka20006") == 2  # one page each: it reaches before the day asked
    metrics = first.metrics.exposition().decode()
    assert 'kiwoom_etl_instruments_runs_total{reason="",result="success"} 1.0' in metrics
