"""etl.app.status: which account × exchange pairs `status` shows (the configured ones, else every one with runs),
and what in an account's ledger needs the user's eye."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine

from etl.app.collect import account_day
from etl.app.status import LEDGER_NOT_OFFERED, Attention, findings, waiting
from etl.app.wiring import build_schedule
from etl.clock import utc_now
from etl.settings import Settings
from etl.sim.simulator import Simulator
from tests.support import make_settings, sim_accounts, take_snapshots


def shown(settings: Settings, engine: Engine) -> tuple[set[tuple[str, str]], bool]:
    found = findings(settings, engine, build_schedule(settings, all_hours=True), utc_now(), spooled=frozenset())
    return {(p.account_no, p.exchange) for p in found.pairs}, found.every


def test_the_configured_accounts_are_shown_else_every_account_with_runs(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    take_snapshots(sim_url, simulator, engine, tmp_path, rounds=1)  # learns the numbers under tmp_path / "state"
    accounts = sim_accounts(simulator)
    first, second = simulator.accounts
    settings = make_settings(sim_url, str(engine.url), tmp_path / "state", accounts[:1])
    assert shown(settings, engine) == ({(first.acct_no, x) for x in first.holdings}, False)
    everyone = {(a.acct_no, x) for a in (first, second) for x in a.holdings}
    elsewhere = settings.with_overrides(accounts=(replace(accounts[0], name="elsewhere"),))
    assert shown(elsewhere, engine) == (everyone, True)  # none configured has runs: every account is shown
    assert waiting(settings).summary.count == 0


def test_a_server_without_the_ledger_needs_the_user_s_eye(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    simulator.unsupported = {"kt00015"}
    settings = make_settings(sim_url, str(engine.url), tmp_path / "state", sim_accounts(simulator)[:1])
    day = account_day(settings, engine)
    assert [(r.status, r.reason) for r in day.ledger] == [("failed", "not_supported")]
    found = findings(settings, engine, build_schedule(settings, all_hours=True), utc_now(), spooled=frozenset())
    [note] = found.attention
    assert note == Attention(simulator.accounts[0].acct_no, LEDGER_NOT_OFFERED, error=note.error)
    assert "8104" in note.error
