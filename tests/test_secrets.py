"""No credential anywhere: every command's DEBUG output, the tables, the spool and the state directory (where only
the token cache may hold a token, never a key)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import MetaData, select

from etl.kiwoom.client import new_session
from etl.kiwoom.simulator import Simulator
from etl.store.engine import make_engine
from tests.support import account_env, kiwoom_etl

DOWN = "postgresql://postgres@127.0.0.1:9/nowhere"


def test_a_debug_run_of_every_command_leaks_no_secret(
    db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    env = account_env(simulator, sim_url, db_url, tmp_path)
    down = env | {"KIWOOM_ETL_DATABASE_URL": DOWN}
    page = tmp_path / "page.json"
    outputs = []

    def run(*args: str, environment: dict[str, str] = env) -> None:
        result = kiwoom_etl("--log-level", "DEBUG", *args, env=environment)
        outputs.append(result.stdout + result.stderr)

    run("migrate")
    simulator.inject("revoke_token", api_id="kt00005", after=1)  # a second token, issued mid-pagination
    run("snapshot", environment=down)  # the database is away: the pages go to the spool
    spool = [p.read_text() for p in (tmp_path / "state" / "spool").glob("*.json")]
    assert len(spool) == 2
    page.write_text(json.dumps(json.loads(json.loads(spool[0])["pages"][0]["text"])), encoding="utf-8")
    simulator.inject("broken_json", api_id="kt00005", after=1)  # and a failed run with its raw body
    for args in (
        ["flush", "--into-this-database"],
        ["snapshot"],
        ["status"],
        ["replay"],
        ["import", str(page), "--account", "x", "--exchange", "KRX", "--captured-at", "2026-11-20T15:30"],
        ["revoke-token"],
    ):
        run(*args)
    assert all("DEBUG" in output for output in outputs[:2])  # the runs really logged at DEBUG
    assert simulator.count("au10001") == 2

    engine = make_engine(db_url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        # Every value in full: a Row's repr would shorten long texts, and hide what sits in their middle.
        tables = [
            " ".join(str(value) for value in row)
            for table in metadata.sorted_tables
            for row in connection.execute(select(table))
        ]
    engine.dispose()
    assert sum("stk_cntr_remn" in row for row in tables) >= 7  # the raw pages are there to be searched

    state_files = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    state = "".join(p.read_text(errors="replace") for p in state_files)
    outside_token_cache = "".join(p.read_text(errors="replace") for p in state_files if p.parent.name != "tokens")
    issued = list(simulator.issued)
    assert len(issued) == 2
    keys = [env["KIWOOM_APPKEY"], env["KIWOOM_SECRETKEY"]]
    for secret in [*keys, *issued]:
        for text in [*outputs, *tables, *spool, outside_token_cache]:
            assert secret not in text
    for key in keys:
        assert key not in state  # the token cache holds a token, never the keys


def test_tls_certificates_are_always_checked() -> None:
    session = new_session()
    assert session.verify is True
    session.close()
    sources = "".join(p.read_text() for p in (Path(__file__).parent.parent / "etl").glob("*.py"))
    assert "verify=False" not in sources and "CERT_NONE" not in sources
