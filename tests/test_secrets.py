"""No credential anywhere: a DEBUG run's output, the tables, the state directory (but the token cache's token)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData, select

from etl.db import make_engine
from etl.simulator import Simulator
from tests.test_cli import account_env, kiwoom_etl


def test_a_debug_run_leaks_no_secret(db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    env = account_env(simulator, sim_url, db_url, tmp_path)
    simulator.inject("revoke_token", api_id="kt00005", after=1)  # a second token, issued mid-pagination
    simulator.inject("broken_json", api_id="kt00005", after=3)  # and a failed run with its raw body
    outputs = []
    for args in (["migrate"], ["snapshot"], ["revoke-token"]):
        result = kiwoom_etl("--log-level", "DEBUG", *args, env=env)
        outputs.append(result.stdout + result.stderr)
    assert "DEBUG" in outputs[1]  # the run really logged at DEBUG
    assert simulator.count("au10001") == 2

    engine = make_engine(db_url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        tables = [str(row) for table in metadata.sorted_tables for row in connection.execute(select(table))]
    engine.dispose()
    assert any("stk_cntr_remn" in row for row in tables), (
        tables[:3],
        outputs[1][-3000:],
    )  # the raw pages are there to be searched

    state_files = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    state = "".join(p.read_text(errors="replace") for p in state_files)
    issued = list(simulator.issued)
    secrets = [env["KIWOOM_APPKEY"], env["KIWOOM_SECRETKEY"], *issued]
    assert len(issued) == 2
    for secret in secrets:
        for text in [*outputs, *tables]:
            assert secret not in text
    for secret in secrets[:2]:
        assert secret not in state  # the token cache holds a token, never the keys
