"""No credential anywhere: every command's DEBUG output, the tables, the spool and the state directory (where only
the token cache may hold a token, never a key)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from etl.kiwoom.client import new_session
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import RawResponse
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
    sources = "".join(p.read_text() for p in (Path(__file__).parents[2] / "etl").rglob("*.py"))
    assert "verify=False" not in sources and "CERT_NONE" not in sources


PASSWORD = "Pg-Pass-In-Query-7731"
TOKEN = "Gateway-Token-4402"


def test_a_password_in_the_database_url_and_a_token_in_the_base_url_reach_no_output(
    db_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    url = f"{db_url}{'&' if '?' in db_url else '?'}password={PASSWORD}"
    env = account_env(simulator, sim_url, url, tmp_path) | {"KIWOOM_BASE_URL": f"{sim_url}?access_token={TOKEN}"}
    down = env | {"KIWOOM_ETL_DATABASE_URL": f"postgresql://kiwoom@127.0.0.1:9/history?password={PASSWORD}"}
    outputs: dict[str, str] = {}

    def run(name: str, *args: str, environment: dict[str, str] = env, fmt: str = "text") -> int:
        result = kiwoom_etl("--log-level", "DEBUG", "--log-format", fmt, *args, env=environment)
        outputs[f"{name} ({fmt})"] = result.stdout + result.stderr
        return result.returncode

    for fmt in ("text", "json"):
        assert run("migrate", "migrate", fmt=fmt) == 0
        assert run("snapshot", "snapshot", fmt=fmt) == 0  # the token rides in the query of every request
        assert run("report", "report", "--out", str(tmp_path / f"report-{fmt}.html"), fmt=fmt) == 0
        assert run("status, database down", "status", environment=down, fmt=fmt) == 1
        assert run("snapshot, database down", "snapshot", environment=down, fmt=fmt) == 1  # fetched and spooled
        assert run("migrate, database down", "migrate", environment=down, fmt=fmt) == 1
    assert "spool" in outputs["snapshot, database down (text)"]
    assert "password=***" in outputs["migrate (text)"] and "password=***" in outputs["status, database down (json)"]
    assert '"level": "DEBUG"' in outputs["snapshot (json)"] and "access_token=***" in outputs["snapshot (text)"]
    reports = [(tmp_path / f"report-{fmt}.html").read_text(encoding="utf-8") for fmt in ("text", "json")]
    assert all("password=***" in report for report in reports)  # the header names the database, masked
    for name, text in [*outputs.items(), ("report", "".join(reports))]:
        assert PASSWORD not in text, name
        assert TOKEN not in text, name


def test_a_base_url_with_user_information_is_refused_at_start(tmp_path: Path) -> None:
    env = {"KIWOOM_BASE_URL": "https://me:pw-8451@api.kiwoom.com", "KIWOOM_ETL_DATABASE_URL": f"sqlite:///{tmp_path}/x"}
    result = kiwoom_etl("snapshot", env=env | {"KIWOOM_APPKEY": "k", "KIWOOM_SECRETKEY": "s"})
    assert result.returncode == 2
    assert result.stderr == (
        "kiwoom-etl: error: Kiwoom authenticates with a token; remove user:password from KIWOOM_BASE_URL\n"
    )


@pytest.mark.parametrize(("mode", "code", "words"), [(0o600, 0, ""), (0o640, 0, "chmod 600"), (0o644, 2, "chmod 600")])
def test_a_config_file_holding_a_key_is_refused_when_others_can_read_it(
    tmp_path: Path, mode: int, code: int, words: str
) -> None:
    config = tmp_path / "kiwoom-etl.toml"
    config.write_text("[[accounts]]\nappkey = 'plain-appkey'\nsecretkey = 'plain-secretkey'\n", encoding="utf-8")
    config.chmod(mode)
    if os.geteuid() == 0:
        os.chown(config, 65534, -1)  # a file of root's may be read by its group: give it to an ordinary user
    result = kiwoom_etl("--config", str(config), "migrate", env={"KIWOOM_ETL_DATABASE_URL": f"sqlite:///{tmp_path}/x"})
    assert result.returncode == code
    assert (words in result.stderr) if words else "WARNING" not in result.stderr
    assert "plain-appkey" not in result.stderr and "Traceback" not in result.stderr


def test_only_the_commands_that_call_kiwoom_need_the_env_secrets(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    config = tmp_path / "kiwoom-etl.toml"  # references only: any mode will do
    config.write_text(
        "[[accounts]]\nname = 'main'\nappkey = 'env:MAIN_APPKEY'\nsecretkey = 'env:MAIN_SECRETKEY'\n", encoding="utf-8"
    )
    env = account_env(simulator, sim_url, sqlite_url, tmp_path) | {"KIWOOM_ETL_CONFIG": str(config)}
    keys = {"MAIN_APPKEY": env.pop("KIWOOM_APPKEY"), "MAIN_SECRETKEY": env.pop("KIWOOM_SECRETKEY")}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    assert kiwoom_etl("snapshot", env=env | keys).returncode == 0
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        nxt = (RawResponse.api_id == "kt00005") & (RawResponse.exchange == "NXT")  # its 2 lines fill one page
        body = connection.execute(select(RawResponse.payload).where(nxt)).scalars().one()
    engine.dispose()
    page = tmp_path / "page.json"
    page.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")

    for args, code in (
        (["status", "--interval", "24h"], 0),
        (["report", "--out", str(tmp_path / "r.html")], 0),
        (["export", "account_daily", "--out", str(tmp_path / "daily.csv")], 0),
        (["returns"], 1),  # it read the one day there is, and says a return needs two
        (["flush"], 0),
        (["replay"], 0),
        (["migrate"], 0),
        (["import", str(page), "--account", "main", "--exchange", "NXT", "--captured-at", "2026-11-20T15:30"], 0),
    ):
        result = kiwoom_etl(*args, env=env)
        assert result.returncode == code, (args, result.stderr)
        assert "is not set" not in result.stderr
    assert "main" in kiwoom_etl("status", "--interval", "24h", env=env).stdout  # the configured name is known

    for args in (["snapshot"], ["ledger"], ["backfill", "--since", "2026-11-01"], ["revoke-token"], ["run"]):
        result = kiwoom_etl(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr == (
            f"kiwoom-etl: error: {config}: accounts[0].appkey: environment variable MAIN_APPKEY is not set\n"
        ), args


def test_status_without_the_keys_shows_an_unnamed_accounts_runs(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    config = tmp_path / "kiwoom-etl.toml"
    config.write_text("[[accounts]]\nappkey = 'env:MAIN_APPKEY'\nsecretkey = 'env:MAIN_SECRETKEY'\n", encoding="utf-8")
    env = account_env(simulator, sim_url, sqlite_url, tmp_path) | {"KIWOOM_ETL_CONFIG": str(config)}
    keys = {"MAIN_APPKEY": env.pop("KIWOOM_APPKEY"), "MAIN_SECRETKEY": env.pop("KIWOOM_SECRETKEY")}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    assert kiwoom_etl("snapshot", env=env | keys).returncode == 0  # stored under the account's number
    result = kiwoom_etl("status", "--interval", "24h", env=env)
    assert result.returncode == 0, result.stderr
    # Without its key the account's learned number cannot be looked up: every account is shown, without a complaint.
    assert simulator.accounts[0].acct_no in result.stdout
    assert "None of the configured accounts" not in result.stdout
