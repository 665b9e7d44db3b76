"""The backfill: kt00002's daily estimates and the ledger of the days before the first snapshot, against the
simulator over HTTP into a real database; account_returns_daily takes the estimates on KRX days without a snapshot
and says so."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from etl.apis.estimates import ESTIMATES, AccountDailyEstimate
from etl.clock import KST
from etl.errors import TransformError
from etl.jobs.backfill import EstimatesJob
from etl.jobs.ledger import LedgerJob
from etl.jobs.replay import replay_rows
from etl.jobs.snapshot import Snapshotter
from etl.kiwoom.pages import Page, parse_json_object
from etl.normalize.estimates import estimate_rows
from etl.read.views import ACCOUNT_FLOWS_DAILY, ACCOUNT_RETURNS_DAILY
from etl.sim.accounts import make_account
from etl.sim.history import History, make_history
from etl.sim.simulator import Simulator, serve
from etl.store.models import EtlRun, RawResponse
from tests.support import Clock, kiwoom_etl, make_settings, sim_accounts

START = date(2026, 10, 19)  # a Monday
END = date(2026, 11, 20)  # a Friday: the only day with a snapshot
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

# Kiwoom's own sample (the API page): its first two lines.
SAMPLE = {
    "daly_prsm_dpst_aset_amt_prst": [
        {
            "dt": "20241111",
            "entr": "000000100000",
            "grnt_use_amt": "000000000000",
            "crd_loan": "000000000000",
            "ls_grnt": "000000000000",
            "repl_amt": "000000000000",
            "prsm_dpst_aset_amt": "000000000000",
            "prsm_dpst_aset_amt_bncr_skip": "000000000000",
        },
        {"dt": "20241112", "entr": "000000100000"},
    ],
    "return_code": 0,
    "return_msg": "일자별 계좌별 추정예탁자산 내역이 조회 되었습니다.",
}


def page_of(body: dict[str, object]) -> Page:
    text = json.dumps(body, ensure_ascii=False)
    return Page("kt00002", 0, NOW, 200, text, parse_json_object(text))


def test_kiwoom_s_sample_reads_exactly_and_an_absent_field_is_null() -> None:
    rows = estimate_rows(page_of(SAMPLE), account_no="1234").rows
    assert [(r["trade_date"], r["cash"], r["estimated_assets"]) for r in rows] == [
        (date(2024, 11, 11), 100000, 0),
        (date(2024, 11, 12), 100000, None),
    ]
    assert rows[0]["captured_at"] == NOW


@pytest.mark.parametrize(("field", "value"), [("entr", "1,000"), ("dt", "2024-11-11"), ("dt", ""), ("crd_loan", 5)])
def test_a_value_off_the_contract_refuses_the_page_naming_it(field: str, value: object) -> None:
    body = json.loads(json.dumps(SAMPLE))
    body["daly_prsm_dpst_aset_amt_prst"][1][field] = value
    with pytest.raises(TransformError) as caught:
        estimate_rows(page_of(body), account_no="1234", first_line=10)
    assert caught.value.field == field and f"{field} of estimate line 11" in str(caught.value)


@pytest.fixture
def history() -> History:
    return make_history(START, (END - START).days + 1, seed=3)


def equity_by_hand(history: History, day: date) -> int:
    """kt00002's estimate of `day` less its collateral loan, from the history's facts: the booked cash and the
    booked shares at the day's price, the credit line's loan set apart."""
    shares = sum(p.settled * history.price(p.code, day) for p in history.positions(day))
    return history.cash(day) + shares - history.loan(day)


def test_backfill_reaches_back_before_the_first_snapshot_and_the_returns_say_which_days_are_estimates(
    engine: Engine, history: History, tmp_path: Path
) -> None:
    account = make_account(1, 3)
    account.history = history
    simulator = Simulator(
        accounts=[account], page_size=7, today=lambda: END, retry_after=None, rate_per_second=1000, burst=100
    )
    clock = Clock(datetime.combine(END, time(15, 40), tzinfo=KST))
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        job = EstimatesJob(settings, engine, clock=clock)
        assert all(s.ok for s in Snapshotter(settings, engine, job.fetcher, clock=clock).take())  # KRX and NXT
        (estimates,) = job.run(since=START)
        (again,) = job.run(since=START)  # again: the same days, replaced
        (ledger,) = LedgerJob(settings, engine, job.fetcher, clock=clock).run(since=START)
        job.fetcher.close()
    weekdays = [d for d in history.weekdays if d <= END]
    assert estimates.ok and again.ok and ledger.ok, (estimates.error, ledger.error)
    assert estimates.days == len(weekdays) and estimates.pages > 2  # two months, with continuation
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(AccountDailyEstimate)).scalar_one()
        runs = connection.execute(select(EtlRun.status).where(EtlRun.api_id == "kt00002")).scalars().all()
        flows = {r.trade_date: r for r in connection.execute(select(ACCOUNT_FLOWS_DAILY.table()))}
        table = ACCOUNT_RETURNS_DAILY.table()
        krx = list(connection.execute(select(table).where(table.c.exchange == "KRX").order_by(table.c.trade_date)))
        nxt = list(connection.execute(select(table).where(table.c.exchange == "NXT")))
    assert stored == len(weekdays) and runs == ["success", "success"]
    assert [(r.trade_date, r.source) for r in krx] == [(d, "estimate") for d in weekdays[:-1]] + [(END, "snapshot")]
    assert [(r.trade_date, r.source) for r in nxt] == [(END, "snapshot")]  # estimates fill the KRX series only
    for row in krx[:-1]:
        assert row.equity == equity_by_hand(history, row.trade_date), row.trade_date
        assert row.time == datetime.combine(row.trade_date, time(15, 30), tzinfo=KST)
    transfer = next(e for e in history.events if e.kind == "securities_in")
    assert flows[transfer.day].unvalued_transfers == 1  # no close price that day: no snapshot to take it from
    for before, row in zip(krx, krx[1:], strict=False):
        day = row.trade_date
        moved = sum(e.amount for e in history.events if e.day == day and e.kind == "deposit")
        moved -= sum(e.amount for e in history.events if e.day == day and e.kind == "withdrawal")
        assert row.external_flow == moved, day
        assert row.daily_return == pytest.approx((row.equity - moved) / before.equity - 1, rel=1e-12), day
    deposits = [e.day for e in history.events if e.kind == "deposit" and e.day > START]
    assert deposits and all(flows[d].external_flow > 0 for d in deposits)  # the mid-history deposit is a flow


def test_the_command_line_backfills_and_replay_rebuilds_the_estimates(sqlite_url: str, tmp_path: Path) -> None:
    today = datetime.now(KST).date()  # the command line runs on the real clock
    history = make_history(today - timedelta(days=30), 31, seed=1)
    account = make_account(1, 3)
    account.history = history
    simulator = Simulator(accounts=[account], today=lambda: today)
    from tests.support import account_env

    with serve(simulator) as url:
        env = account_env(simulator, url, sqlite_url, tmp_path)
        assert kiwoom_etl("migrate", env=env).returncode == 0
        filled = kiwoom_etl("backfill", "--since", f"{history.start}", env=env)
        backwards = kiwoom_etl("backfill", "--since", f"{today}", "--until", f"{history.start}", env=env)
        missing = kiwoom_etl("backfill", env=env)
    weekdays = [d for d in history.weekdays if d <= today]
    assert filled.returncode == 0, filled.stderr
    assert f"{len(weekdays)} estimated day(s) loaded; there is no KRX snapshot yet" in filled.stdout
    assert "Ledger (kt00015):" in filled.stdout
    assert backwards.returncode == 2 and "is after --until" in backwards.stderr
    assert missing.returncode == 2 and "--since" in missing.stderr
    from etl.store.engine import make_engine

    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(AccountDailyEstimate.__table__.delete())
    assert replay_rows(engine, ESTIMATES) == (_pages(engine), 0)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(AccountDailyEstimate)).scalar_one() == len(weekdays)
    engine.dispose()


def _pages(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(RawResponse).where(RawResponse.api_id == "kt00002")
        ).scalar_one()
