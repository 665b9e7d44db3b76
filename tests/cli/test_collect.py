"""`kiwoom-etl instruments` as a user runs it: a separate process against the simulator over HTTP."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, select

from etl.apis.instruments import Instrument
from etl.sim.accounts import Holding, make_account
from etl.sim.simulator import Simulator, serve
from tests.support import account_env, kiwoom_etl


def test_instruments_refreshes_the_master_and_says_what_it_did(sqlite_url: str, tmp_path: Path) -> None:
    account = make_account(1, 2, exchanges=("KRX",))
    account.holdings["KRX"].append(Holding("950170", "비상장바이오", 10, 8000, 8120))
    simulator = Simulator(accounts=[account], rate_per_second=200, burst=50, retry_after=None)
    with serve(simulator) as url:
        env = account_env(simulator, url, sqlite_url, tmp_path)
        assert kiwoom_etl("migrate", env=env).returncode == 0
        assert kiwoom_etl("snapshot", env=env).returncode == 0
        done = kiwoom_etl("instruments", env=env)
        one = kiwoom_etl("instruments", "--code", "005930", env=env)
        wrong = kiwoom_etl("instruments", "--code", "5930", env=env)
    assert done.returncode == 0, done.stderr
    assert "ka10099" in done.stdout and "instrument lists" in done.stdout and "ka10100" in done.stdout
    assert "950170" in done.stdout  # the held code no list had, asked alone
    assert "14 instrument row(s) received" in done.stdout  # the ETF is on two lists; 950170 asked alone
    assert "950170 has marketCode '30'" in done.stderr  # the guess shows
    assert one.returncode == 0 and "1 instrument row(s) received, 1 written." in one.stdout, one.stderr
    assert wrong.returncode == 2 and "six letters or digits" in wrong.stderr
    with create_engine(sqlite_url).connect() as connection:
        markets = {row[0]: row[1] for row in connection.execute(select(Instrument.stock_code, Instrument.market))}
    assert markets["005930"] == "KOSPI" and markets["069500"] == "ETF" and markets["950170"] == "OTHER"


def test_instruments_help_says_whose_key_it_uses() -> None:
    shown = kiwoom_etl("instruments", "--help")
    assert shown.returncode == 0 and "first configured account's app key" in shown.stdout
