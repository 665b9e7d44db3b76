"""Snapshots end to end: simulator on loopback → client → transform → a migrated SQLite file and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from etl.errors import SchemaNotMigrated
from etl.jobs.replay import import_pages
from etl.jobs.snapshot import Snapshotter
from etl.settings import Account, Secret, Settings
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun, PositionSnapshot, RawResponse
from etl.store.schema import require_current_schema
from tests.support import make_settings, sim_accounts


@pytest.fixture
def settings(sim_url: str, simulator: Simulator, engine: Engine, tmp_path: Path) -> Settings:
    return make_settings(
        sim_url, engine.url.render_as_string(hide_password=False), tmp_path / "state", sim_accounts(simulator)
    )


def take(settings: Settings, engine: Engine, **kw: Any) -> list[Any]:
    snapshotter = Snapshotter(settings, engine)
    try:
        return snapshotter.take(**kw)
    finally:
        snapshotter.close()


def rows(engine: Engine, model: Any, *order: Any) -> list[Any]:
    with engine.connect() as connection:
        return list(connection.execute(select(model.__table__).order_by(*order)).mappings())


def expected_amount(text: str) -> int:
    """An independent reading of a Kiwoom amount: sign, then digits."""
    sign = -1 if text.startswith("-") else 1
    return sign * int(text.lstrip("+-"))


def test_every_value_of_every_page_lands_exactly(settings: Settings, engine: Engine, simulator: Simulator) -> None:
    results = take(settings, engine)
    assert [(r.account, r.exchange, r.status) for r in results] == [
        (a.acct_no, x, "success") for a in simulator.accounts for x in ("KRX", "NXT")
    ]
    raw = rows(engine, RawResponse, RawResponse.id)
    krx = [r for r in raw if r["account_no"] == simulator.accounts[0].acct_no and r["exchange"] == "KRX"]
    assert [r["page_no"] for r in krx] == [0, 1, 2] and [r["cont_yn"] for r in krx] == ["Y", "Y", "N"]
    sent_lines = [line for r in krx for line in json.loads(r["payload"])["stk_cntr_remn"]]
    summary = json.loads(krx[0]["payload"])

    account = next(r for r in rows(engine, AccountSnapshot, AccountSnapshot.id) if r["id"] == krx[0]["snapshot_id"])
    assert account["deposit"] == expected_amount(summary["entr"])
    assert account["total_evaluation_amount"] == expected_amount(summary["evlt_amt_tot"])
    assert account["total_profit_loss_rate"] == Decimal(summary["tot_pl_rt"])
    assert isinstance(account["total_profit_loss_rate"], Decimal)
    assert account["position_count"] == len(sent_lines) == 7
    assert account["captured_at"] == krx[0]["received_at"] and account["captured_at"].tzinfo is not None
    assert account["scheduled_for"] is None

    positions = [
        p for p in rows(engine, PositionSnapshot, PositionSnapshot.line_no) if p["snapshot_id"] == account["id"]
    ]
    assert [p["line_no"] for p in positions] == list(range(7))
    for line, position in zip(sent_lines, positions, strict=True):
        assert position["stock_code"] == line["stk_cd"][1:]
        assert position["stock_name"] == line["stk_nm"]
        assert position["quantity"] == expected_amount(line["cur_qty"])
        assert position["evaluation_amount"] == expected_amount(line["evlt_amt"])
        assert position["profit_loss"] == expected_amount(line["evltv_prft"])
        assert position["profit_loss_rate"] == Decimal(line["pl_rt"])
        assert position["loan_date"] == (date(2026, 10, 15) if line["loan_dt"] else None)
        assert (position["account_no"], position["exchange"]) == (account["account_no"], "KRX")
        assert position["captured_at"] == account["captured_at"]
    # The API page's own example line, as the contract reads it.
    assert (
        positions[0]["stock_code"],
        positions[0]["purchase_amount"],
        positions[0]["evaluation_amount"],
        positions[0]["profit_loss"],
        positions[0]["profit_loss_rate"],
    ) == ("005930", 373500, 209542, -163958, Decimal("-43.8977"))

    runs = rows(engine, EtlRun, EtlRun.id)
    assert [r["status"] for r in runs] == ["success"] * 4 and all(r["error"] is None for r in runs)
    assert runs[0]["page_count"] == 3 and runs[0]["position_count"] == 7 and runs[0]["trigger"] == "manual"


def test_a_configured_name_labels_the_account(settings: Settings, engine: Engine, simulator: Simulator) -> None:
    named = settings.with_overrides(accounts=sim_accounts(simulator, **{simulator.accounts[0].acct_no: "main"}))
    take(named, engine)
    labels = {r["account_no"] for r in rows(engine, AccountSnapshot, AccountSnapshot.id)}
    assert labels == {"main", simulator.accounts[1].acct_no}


def test_scheduled_for_is_kept_and_unique(settings: Settings, engine: Engine) -> None:
    slot = datetime(2026, 11, 24, 0, 5, tzinfo=UTC)
    assert all(r.ok for r in take(settings, engine, scheduled_for=slot, trigger="scheduled"))
    again = take(settings, engine, scheduled_for=slot, trigger="scheduled")
    assert not any(r.ok for r in again)  # the slot is taken: (account_no, exchange, scheduled_for) is unique
    snapshots = rows(engine, AccountSnapshot, AccountSnapshot.id)
    assert len(snapshots) == 4 and {s["scheduled_for"] for s in snapshots} == {slot}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("cur_prc", "00000007000X"),
        ("pl_rt", "NaN"),
        ("evlt_amt_tot", "１２３"),
        ("loan_dt", "20261332"),
        ("tot_pl_rt", "1e5"),
        ("evlt_amt", "99999999999999999999"),
    ],
)
def test_an_unreadable_value_fails_the_run_names_the_field_and_loads_nothing(
    settings: Settings, engine: Engine, simulator: Simulator, field: str, value: str
) -> None:
    simulator.inject("bad_value", api_id="kt00005", field=field, value=value)
    results = take(settings, engine)
    failed = [r for r in results if not r.ok]
    assert len(failed) == 1 and field in (failed[0].error or "") and repr(value) in (failed[0].error or "")
    assert sum(r.ok for r in results) == 3  # the other snapshots went on
    run = next(r for r in rows(engine, EtlRun, EtlRun.id) if r["id"] == failed[0].run_id)
    assert run["status"] == "failed" and field in run["error"] and run["finished_at"] is not None
    assert not any(s["run_id"] == run["id"] for s in rows(engine, AccountSnapshot, AccountSnapshot.id))
    kept = [r for r in rows(engine, RawResponse, RawResponse.id) if r["run_id"] == run["id"]]
    assert kept and all(r["snapshot_id"] is None for r in kept)
    assert value in "".join(r["payload"] for r in kept)  # the raw page, as received, is there for a replay


def test_broken_json_fails_the_run_and_keeps_the_body(settings: Settings, engine: Engine, simulator: Simulator) -> None:
    simulator.inject("broken_json", api_id="kt00005", after=1)  # the second page of the first snapshot
    results = take(settings, engine)
    assert [r.ok for r in results] == [False, True, True, True]
    assert "kt00005: page 1 is not valid JSON" in (results[0].error or "")
    kept = [r for r in rows(engine, RawResponse, RawResponse.id) if r["run_id"] == results[0].run_id]
    assert [r["page_no"] for r in kept] == [0, 1]
    assert kept[0]["payload"] is not None and kept[1]["payload"] is None
    assert kept[1]["body_text"].startswith('{"entr"')
    assert not any(s["run_id"] == results[0].run_id for s in rows(engine, AccountSnapshot, AccountSnapshot.id))


def test_a_bad_account_does_not_stop_the_others(settings: Settings, engine: Engine, simulator: Simulator) -> None:
    bad = Account(Secret("sim-appkey-1"), Secret("wrong-secret"), name="bad", exchanges=("KRX", "NXT"))
    results = take(settings.with_overrides(accounts=(bad, *settings.accounts)), engine)
    assert [(r.account, r.ok) for r in results[:2]] == [("bad", False), ("bad", False)]
    assert all(r.ok for r in results[2:]) and len(results) == 6
    assert "8002" in (results[0].error or "") and "wrong-secret" not in (results[0].error or "")
    failed = [r for r in rows(engine, EtlRun, EtlRun.id) if r["status"] == "failed"]
    assert [(r["account_no"], r["exchange"]) for r in failed] == [("bad", "KRX"), ("bad", "NXT")]


def test_many_positions_over_many_pages(settings: Settings, engine: Engine, simulator: Simulator) -> None:
    from etl.sim.accounts import make_account

    simulator.accounts[:] = [make_account(7, 450, exchanges=("KRX",))]
    simulator.page_size = 40
    results = take(settings.with_overrides(accounts=sim_accounts(simulator)), engine)
    assert [(r.positions, r.pages) for r in results] == [(450, 12)]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(PositionSnapshot)).scalar() == 450


def test_snapshot_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaNotMigrated, match="kiwoom-etl migrate"):
        require_current_schema(engine)
    engine.dispose()


def test_a_token_answer_is_never_kept(settings: Settings, engine: Engine, simulator: Simulator) -> None:
    # The token dies mid-chain, and the answer that re-issues it arrives cut in half: the snapshot fails,
    # and nothing of the token answer reaches raw_responses.
    simulator.inject("revoke_token", api_id="kt00005", after=1)
    simulator.inject("truncated", api_id="au10001", after=1)
    results = take(settings, engine)
    assert not results[0].ok and "au10001: the answer is not valid JSON" in (results[0].error or "")
    raw = rows(engine, RawResponse, RawResponse.id)
    assert {r["api_id"] for r in raw} == {"kt00005"}
    stored = " ".join(str(r["payload"]) + str(r["body_text"]) for r in raw)
    assert "expires_dt" not in stored and not any(token in stored for token in simulator.issued)


def test_a_nul_character_fails_the_run_and_keeps_the_page(
    settings: Settings, engine: Engine, simulator: Simulator
) -> None:
    simulator.inject("bad_value", api_id="kt00005", field="stk_nm", value="삼성\x00전자")
    results = take(settings, engine)
    assert not results[0].ok and "stk_nm of position line 0 (page 0): contains a NUL" in (results[0].error or "")
    run = next(r for r in rows(engine, EtlRun, EtlRun.id) if r["id"] == results[0].run_id)
    assert run["status"] == "failed"
    kept = [r for r in rows(engine, RawResponse, RawResponse.id) if r["run_id"] == run["id"]]
    assert [r["page_no"] for r in kept] == [0, 1, 2]  # the whole chain is kept for a replay
    assert kept[0]["payload"] is None and "\\u0000" in kept[0]["body_text"]  # JSONB cannot hold \u0000
    assert kept[1]["payload"] is not None and kept[1]["body_text"] is None


def test_a_lone_surrogate_fails_the_run_by_name_and_keeps_the_page(engine: Engine, tmp_path: Path) -> None:
    """A JSON escape of half a UTF-16 pair ("\\ud800") decodes to a character no UTF-8 column holds: the transform
    refuses it by field and line, and the page, which JSONB cannot hold either, is kept as text for a replay."""
    line = {
        "crd_tp": "00",
        "loan_dt": "",
        "expr_dt": "",
        "stk_cd": "A005930",
        "stk_nm": "삼성\ud800",
        "setl_remn": "000000000003",
        "cur_qty": "000000000003",
        "cur_prc": "000000070000",
        "buy_uv": "000000124500",
        "pur_amt": "000000373500",
        "evlt_amt": "000000209542",
        "evltv_prft": "-00000163958",
        "pl_rt": "-43.8977",
    }
    page = {"entr": "000000017534", "stk_cntr_remn": [line], "return_code": 0, "return_msg": "OK"}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")  # ensure_ascii: the surrogate stays an escape
    captured = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert import_pages(engine, [path], account_no="5012345678", exchange="KRX", captured_at=captured) == "failed"
    (run,) = rows(engine, EtlRun, EtlRun.id)
    assert (run["status"], run["reason"]) == ("failed", "payload_refused")
    assert "stk_nm of position line 0 (page 0): contains a lone UTF-16 surrogate" in run["error"]
    (kept,) = rows(engine, RawResponse, RawResponse.id)
    assert kept["payload"] is None and kept["body_text"] == path.read_text(encoding="utf-8")
    assert rows(engine, AccountSnapshot, AccountSnapshot.id) == []


def test_an_unusable_state_directory_fails_each_snapshot_cleanly(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    results = take(settings.with_overrides(state_dir=blocker), engine)
    assert len(results) == 4 and not any(r.ok for r in results)
    assert all("state directory" in (r.error or "") for r in results)
    assert [r["status"] for r in rows(engine, EtlRun, EtlRun.id)] == ["failed"] * 4
