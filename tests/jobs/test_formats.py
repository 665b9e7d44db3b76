"""Files in today's on-disk formats, frozen under tests/fixtures/state, read unchanged by the code.

The fixtures were written once by the code of their time (a real snapshot's pages from the simulator, spooled by
Spool.write; a token saved by TokenCache.save; a number remembered by KnownAccounts) and are never regenerated
here: a change that cannot read them any more breaks the state directories users already have.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from etl.jobs.flush import flush
from etl.jobs.spool import Spool
from etl.kiwoom.accounts import KnownAccounts
from etl.kiwoom.tokens import TokenCache, cache_key
from etl.settings import Account, Secret
from etl.store.engine import make_engine
from tests.support.schema import migrated

FIXTURES = Path(__file__).parent.parent / "fixtures" / "state"
SPOOLED = FIXTURES / "spool" / "20261124T000003250000-5000001111-KRX-5f0c2a9e4b7d.json"
BASE_URL = "http://127.0.0.1:8080"  # the simulator's default address, where the fixtures were made
ACCOUNT = Account(Secret("sim-appkey-1"), Secret("sim-secretkey-1"), exchanges=("KRX",))


def test_a_spool_file_of_format_1_is_read() -> None:
    item = Spool(FIXTURES).read(SPOOLED)
    assert item.account_no == "5000001111" and item.exchange == "KRX"
    assert item.captured_at == datetime(2026, 11, 24, 0, 0, 3, 250000, tzinfo=UTC)
    assert len(item.pages) == 3
    first = item.pages[0].data or {}
    assert first["stk_cntr_remn"][0]["stk_cd"] == "A005930" and first["stk_cntr_remn"][0]["evlt_amt"] == "000000209542"
    assert sum(len((page.data or {})["stk_cntr_remn"]) for page in item.pages) == 7


def test_a_spool_file_of_format_1_flushes_into_a_migrated_database(tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(FIXTURES / "spool", state / "spool")  # flush removes what it loaded: a copy, not the fixture
    engine = make_engine(f"sqlite:///{tmp_path / 'formats.db'}")
    try:
        migrated(engine)
        report = flush(engine, Spool(state))
        with engine.connect() as connection:
            accounts = connection.execute(
                text("SELECT account_no, exchange, position_count FROM account_snapshots")
            ).all()
            positions = connection.execute(text("SELECT count(*) FROM position_snapshots")).scalar_one()
    finally:
        engine.dispose()
    assert (report.loaded, report.left, report.error) == (1, 0, None)
    assert [tuple(row) for row in accounts] == [("5000001111", "KRX", 7)]
    assert positions == 7
    assert Spool(state).paths() == [] and SPOOLED.is_file()


def test_a_token_cache_file_is_read() -> None:
    token = TokenCache(FIXTURES).load(cache_key(BASE_URL, "sim-appkey-1", "sim-secretkey-1"))
    assert token is not None
    assert token.value == "fixture-token-Wd3kQ9"
    assert token.expires_at == datetime(2026, 11, 25, 0, 0, 3, tzinfo=UTC)
    assert TokenCache(FIXTURES).load(cache_key(BASE_URL, "sim-appkey-1", "another-secret")) is None


def test_an_accounts_file_is_read() -> None:
    known = KnownAccounts(FIXTURES, BASE_URL)
    assert known.number(ACCOUNT) == "5000001111"
    assert known.account_no(ACCOUNT) == "5000001111"
    assert KnownAccounts(FIXTURES, "http://elsewhere:8080").number(ACCOUNT) is None
