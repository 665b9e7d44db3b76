"""The spool knows its database: each spooled snapshot names the database it was meant for (never a credential), and
`flush` loads it there only; the others are listed, and `--into-this-database` moves them deliberately."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from etl.daemon.runner import Daemon
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.identity import DatabaseIdentity, identity_of, learn_identity
from etl.store.models import AccountSnapshot
from etl.store.schema import guard, head_revision
from tests.support import Clock, account_env, kiwoom_etl, make_settings, sim_accounts
from tests.support.daemon import SLOT, build_schedule
from tests.support.schema import migrated

FORMAT_1 = Path(__file__).parent.parent / "fixtures" / "state" / "spool"


def targets(state: Path) -> list[dict[str, object] | None]:
    return [json.loads(p.read_text()).get("target") for p in sorted((state / "spool").glob("*.json"))]


def snapshots(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(AccountSnapshot)).scalar_one())
    finally:
        engine.dispose()


def test_snapshots_spooled_for_one_database_are_listed_not_loaded_into_another_until_moved(
    sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    env = account_env(simulator, sim_url, f"sqlite:///{a}", tmp_path)
    assert kiwoom_etl("snapshot", env=env).returncode == 1  # a is not migrated: spooled for a
    assert (
        targets(tmp_path / "state")
        == [{"backend": "sqlite", "database": str(a), "hosts": [], "system_identifier": None}] * 2
    )
    into_b = env | {"KIWOOM_ETL_DATABASE_URL": f"sqlite:///{b}"}
    assert kiwoom_etl("migrate", env=into_b).returncode == 0

    flushed = kiwoom_etl("flush", env=into_b)
    assert flushed.returncode == 1 and "Traceback" not in flushed.stderr
    listed = [line for line in flushed.stdout.splitlines() if ": spooled for " in line]
    assert len(listed) == 2 and all(line.endswith(f"spooled for SQLite file {a}") for line in listed)
    assert "0 loaded, 0 recorded as failed, 0 already loaded, 2 spooled for another database; 2 left" in flushed.stdout
    assert "--into-this-database" in flushed.stderr
    assert snapshots(f"sqlite:///{b}") == 0 and len(targets(tmp_path / "state")) == 2
    taken = kiwoom_etl("snapshot", env=into_b)  # b's own snapshots load; a's stay where they are
    assert taken.returncode == 0 and "spooled snapshot(s) first" not in taken.stdout
    assert snapshots(f"sqlite:///{b}") == 2 and len(targets(tmp_path / "state")) == 2

    moved = kiwoom_etl("flush", "--into-this-database", env=into_b)
    assert moved.returncode == 0, moved.stderr
    assert "2 loaded, 0 recorded as failed, 0 already loaded; 0 left" in moved.stdout
    assert snapshots(f"sqlite:///{b}") == 4 and targets(tmp_path / "state") == []


def test_snapshots_spooled_while_postgresql_was_away_name_it_without_credentials(
    sqlite_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    away = "postgresql://kiwoom:s3cret-pw@127.0.0.1:9/production?host=127.0.0.1:6543"
    env = account_env(simulator, sim_url, away, tmp_path)
    assert kiwoom_etl("snapshot", env=env).returncode == 1
    expected = {
        "backend": "postgresql",
        "database": "production",
        "hosts": ["127.0.0.1:6543", "127.0.0.1:9"],
        "system_identifier": None,
    }
    assert targets(tmp_path / "state") == [expected] * 2
    assert not any(
        "s3cret" in p.read_text() or "kiwoom:" in p.read_text() for p in (tmp_path / "state" / "spool").glob("*.json")
    )
    into_scratch = env | {"KIWOOM_ETL_DATABASE_URL": sqlite_url}
    assert kiwoom_etl("migrate", env=into_scratch).returncode == 0
    flushed = kiwoom_etl("flush", env=into_scratch)
    assert flushed.returncode == 1 and "s3cret" not in flushed.stdout + flushed.stderr
    assert (
        flushed.stdout.count(
            "spooled for postgresql database production on 127.0.0.1:6543,127.0.0.1:9 (system identifier unknown)"
        )
        == 2
    )
    assert snapshots(sqlite_url) == 0


def test_a_spool_file_from_before_targets_loads_with_a_warning(sqlite_url: str, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(FORMAT_1, state / "spool")
    env = {"KIWOOM_ETL_DATABASE_URL": sqlite_url, "KIWOOM_ETL_STATE_DIR": str(state)}
    assert kiwoom_etl("migrate", env=env).returncode == 0
    flushed = kiwoom_etl("flush", env=env)
    assert flushed.returncode == 0, flushed.stderr
    assert "1 loaded" in flushed.stdout
    assert "20261124T000003250000-5000001111-KRX-5f0c2a9e4b7d.json names no database" in flushed.stderr
    assert snapshots(sqlite_url) == 1


@pytest.mark.parametrize(
    ("spooled", "here", "same"),
    [
        # A standby promoted after a failover keeps its primary's system identifier: the same database elsewhere.
        (("db", ("a:5432",), "7301"), ("db", ("b:5433",), "7301"), True),
        # A new cluster at the old address is another database, though the URL reads the same.
        (("db", ("a:5432",), "7301"), ("db", ("a:5432",), "9999"), False),
        # Spooled while the server was away: its identifier unknown, the servers tell.
        (("db", ("a:5432", "b:5433"), None), ("db", ("b:5433",), "7301"), True),
        (("db", ("a:5432",), None), ("db", ("c:5432",), "7301"), False),
        # One cluster holds several databases under one identifier.
        (("db", ("a:5432",), "7301"), ("other", ("a:5432",), "7301"), False),
    ],
)
def test_postgresql_identities_match_on_the_system_identifier_when_both_know_it(
    spooled: tuple[str, tuple[str, ...], str | None], here: tuple[str, tuple[str, ...], str | None], same: bool
) -> None:
    assert DatabaseIdentity("postgresql", *spooled).matches(DatabaseIdentity("postgresql", *here)) is same


def test_a_multi_host_url_names_every_server_and_no_credential() -> None:
    url = make_url(
        "postgresql+psycopg://kiwoom:pw@/history?host=db1:5432&host=db2:5433&target_session_attrs=read-write"
    )
    identity = identity_of(url)
    assert identity == DatabaseIdentity("postgresql", "history", ("db1:5432", "db2:5433"))
    assert "pw" not in json.dumps(identity.as_dict()) and "kiwoom" not in json.dumps(identity.as_dict())
    assert DatabaseIdentity.from_dict(identity.as_dict()) == identity
    assert identity_of(make_url("postgresql+psycopg://u@db1/history")).hosts == ("db1:5432",)


@pytest.mark.postgres
def test_postgresql_snapshots_spooled_by_a_daemon_carry_the_system_identifier_and_match_it_under_another_host(
    postgres_url: str, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    from etl.jobs.flush import flush
    from etl.jobs.spool import Spool

    engine = make_engine(postgres_url)
    migrated(engine)
    with engine.connect() as connection:
        system = str(connection.execute(text("SELECT system_identifier FROM pg_control_system()")).scalar())
    settings = make_settings(sim_url, postgres_url, tmp_path / "state", sim_accounts(simulator))
    guarded = guard(make_engine(postgres_url))
    clock = Clock(SLOT)
    daemon = Daemon(settings, build_schedule(), guarded, clock=clock)
    try:
        daemon.recover()
        daemon.tick()  # a good slot: the daemon learns whom it writes to
        assert daemon.wait_idle()
        with engine.begin() as connection:  # then a newer version migrates it
            connection.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
        clock.now = SLOT + timedelta(minutes=5)
        daemon.tick()
        assert daemon.wait_idle()
    finally:
        daemon.fetcher.close()
        guarded.dispose()
    assert {t["system_identifier"] for t in targets(tmp_path / "state")} == {system}  # type: ignore[index]
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()})
    # The same server under another name (as a promoted standby would be): its identifier says it is the same.
    url = make_url(postgres_url)
    elsewhere = make_engine(url.set(host="localhost").render_as_string(hide_password=False))
    try:
        here = learn_identity(elsewhere)
        assert here.hosts != identity_of(url).hosts and here.system_identifier == system
        report = flush(elsewhere, Spool(tmp_path / "state"))
        assert (report.loaded, report.elsewhere) == (4, [])
    finally:
        elsewhere.dispose()
        engine.dispose()


def test_ipv6_servers_are_named_with_their_port_in_every_spelling() -> None:
    def hosts(url: str) -> tuple[str, ...]:
        return identity_of(make_url(url)).hosts

    # Two clusters on one machine are two servers: a spool for one must not match the other on the host alone.
    assert hosts("postgresql://u@[::1]:5432/db") == ("[::1]:5432",)
    assert hosts("postgresql://u@[::1]:5433/db") == ("[::1]:5433",)
    assert not DatabaseIdentity("postgresql", "db", hosts("postgresql://u@[::1]:5432/db")).matches(
        DatabaseIdentity("postgresql", "db", hosts("postgresql://u@[::1]:5433/db"), "7301")
    )
    # One server spelled as the URL's host or as ?host= is one server.
    assert hosts("postgresql://u@[::1]/db") == hosts("postgresql://u@/db?host=[::1]:5432") == ("[::1]:5432",)
    assert hosts("postgresql://u@/db?host=[::1]") == ("[::1]:5432",)
    assert hosts("postgresql://u@/db?host=/var/run/postgresql") == ("/var/run/postgresql",)
