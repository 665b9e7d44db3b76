"""etl.app.outputs: the ledger exported for a portfolio tool (a second file for the transfers of securities, or
nothing written; stdout when no file is named), and which filters a view or table takes."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from etl.app.collect import DayJobs, run_day
from etl.app.outputs import deliveries_file, export_for_a_tool, filter_problem
from etl.clock import KST, krx_calendar
from etl.files import Protected
from etl.read.export import Filters
from etl.sim.accounts import make_account
from etl.sim.history import make_history
from etl.sim.simulator import Simulator, serve
from tests.support import Clock, make_settings, sim_accounts

START = date(2026, 10, 19)  # a Monday
END = date(2026, 11, 20)  # a Friday


@pytest.fixture
def ledger(engine: Engine, tmp_path: Path) -> Engine:
    """A database holding one account's ledger, a transfer of securities in it."""
    account = make_account(1, 3)
    account.history = make_history(START, (END - START).days + 1, seed=3)
    simulator = Simulator(accounts=[account], today=lambda: END, retry_after=None, rate_per_second=1000, burst=100)
    with serve(simulator) as url:
        settings = make_settings(url, str(engine.url), tmp_path / "state", sim_accounts(simulator))
        jobs = DayJobs(settings, engine, clock=Clock(datetime.combine(END, time(12, 0), tzinfo=KST)))
        try:
            assert run_day(jobs, krx_calendar(), since=START).added > 0
        finally:
            jobs.close()
    return engine


def test_the_transfers_of_securities_need_a_second_file_or_nothing_is_written(ledger: Engine, tmp_path: Path) -> None:
    protected = Protected()
    nowhere = export_for_a_tool(ledger, "portfolio-performance", protected=protected)
    assert nowhere.needs_out and nowhere.stdout is None and nowhere.exported.deliveries >= 1
    out = tmp_path / "pp.csv"
    written = export_for_a_tool(ledger, "portfolio-performance", out=out, protected=protected)
    assert not written.needs_out and written.deliveries == deliveries_file(out) == tmp_path / "pp-deliveries.csv"
    assert out.exists() and written.deliveries.exists() and written.stdout is None
    assert any("kind other left out" in note for note in written.notes)  # a remark no mapping knows


def test_ghostfolio_goes_to_stdout_when_no_file_is_named(ledger: Engine) -> None:
    done = export_for_a_tool(ledger, "ghostfolio", protected=Protected())
    assert done.stdout is not None and done.deliveries is None and not done.needs_out
    assert len(json.loads(done.stdout)["accounts"]) == 1
    # Ghostfolio keeps the cash of an account's first import: the notes give the number to set by hand.
    (cash,) = [note for note in done.notes if "cash" in note]
    assert cash.startswith("Kiwoom ") and " KRW. Ghostfolio takes an account's balances only when" in cash


def test_a_filter_a_source_has_no_column_for_is_named() -> None:
    assert filter_problem("account_daily", date(2026, 1, 1), None, "1234", "KRX") is None
    problem = filter_problem("account_transactions", None, None, None, "KRX")
    assert problem is not None and problem.startswith("--exchange cannot be used with account_transactions")


def test_a_forced_export_without_transfers_leaves_no_stale_deliveries_file_beside_its_out(
    ledger: Engine, tmp_path: Path
) -> None:
    # The first export writes pp.csv and pp-deliveries.csv; a forced one over a period without a transfer replaces
    # pp.csv. Left as it was, pp-deliveries.csv would still hold the first export's transfer, and importing the pair
    # as the README says would bring a transfer from outside the period in.
    out, protected = tmp_path / "pp.csv", Protected()
    first = export_for_a_tool(ledger, "portfolio-performance", out=out, protected=protected)
    assert first.deliveries is not None
    (transfer,) = csv.DictReader(io.StringIO(first.deliveries.read_text(encoding="utf-8")))
    after = Filters(since=date.fromisoformat(transfer["Date"]) + timedelta(days=1))
    again = export_for_a_tool(ledger, "portfolio-performance", after, out=out, protected=protected, force=True)
    assert again.exported.deliveries == 0 and again.exported.rows > 0
    sibling = deliveries_file(out)
    stale = list(csv.DictReader(io.StringIO(sibling.read_text(encoding="utf-8")))) if sibling.exists() else []
    assert stale == []


def test_an_export_with_no_ledger_line_says_where_the_lines_come_from(ledger: Engine, tmp_path: Path) -> None:
    """A period (or an account) the ledger was never read for exports an empty file: the notes say why, not only
    "0 rows"."""
    account = make_account(1, 3).acct_no  # the fixture's
    later = Filters(since=END + timedelta(days=30), account=account)
    for fmt in ("ghostfolio", "portfolio-performance"):
        done = export_for_a_tool(ledger, fmt, later, out=tmp_path / fmt, protected=Protected())
        assert done.exported.rows == 0
        (note,) = [n for n in done.notes if "holds no line" in n]
        assert f"of account {account}" in note and "kiwoom-etl backfill --since DATE" in note
    full = export_for_a_tool(ledger, "ghostfolio", protected=Protected())
    assert not [n for n in full.notes if "holds no line" in n]
