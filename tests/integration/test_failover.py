"""The database fails over: the daemon, on a multi-host URL, outlives its primary through a promoted standby.

The daemon's test builds its own primary and synchronous streaming standby with PostgreSQL's server programs
(initdb, pg_basebackup, pg_ctl) on free ports of 127.0.0.1, and is skipped only where those programs are not
installed; docs/deploy/postgresql-failover.md is the same recipe for a real deployment. A commit that lands while
its server dies unanswered is shown on each backend.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from etl.jobs.flush import flush
from etl.jobs.snapshot import Snapshotter
from etl.settings import normalize_database_url
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import AccountSnapshot, EtlRun, RawResponse
from etl.store.runs import ABANDONED_AFTER, claim_slot
from tests.support import account_env, assert_nothing_partial, kiwoom_etl, make_settings, sim_accounts
from tests.support.daemon import HANG_GUARD, DaemonProcess, wait_until

SERVER_PROGRAMS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
INTERVAL = timedelta(seconds=2)
# Small and fast: nothing here must survive the machine, only the server (which `pg_ctl stop -m immediate` kills).
SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 40
shared_buffers = 16MB
fsync = off
wal_level = replica
max_wal_senders = 4
synchronous_standby_names = 'FIRST 1 (standby)'
synchronous_commit = on
"""


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def server_programs() -> Path | None:
    """The folder of PostgreSQL's server programs: pg_config's, else Debian's newest, else the PATH's."""
    candidates = []
    if pg_config := shutil.which("pg_config"):
        answer = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(answer.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name), reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    return next((c for c in candidates if all((c / p).is_file() for p in SERVER_PROGRAMS)), None)


def server_account() -> tuple[int, int] | None:
    """The uid and gid to run the servers as: None for ourselves; as root (which initdb refuses), postgres or nobody."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return entry.pw_uid, entry.pw_gid
    pytest.fail("running as root, which PostgreSQL refuses, and there is no postgres or nobody account to run it as")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Servers:
    """A primary and its standby in `root`, run by `account`; `port` of each, and their programs in `programs`."""

    programs: Path
    root: Path
    account: tuple[int, int] | None
    ports: dict[str, int]

    def run(self, program: str, *args: str, check: bool = True) -> str:
        """Run one of PostgreSQL's programs as the server account; its output, or (`check`) AssertionError with it."""
        user = {} if self.account is None else {"user": self.account[0], "group": self.account[1], "extra_groups": []}
        done = subprocess.run(
            [str(self.programs / program), *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
            check=False,
            **user,  # type: ignore[call-overload]
        )
        assert done.returncode == 0 or not check, f"{program} {' '.join(args)}: {done.stdout}{done.stderr}"
        return str(done.stdout)

    def pg_ctl(self, name: str, *args: str, check: bool = True) -> str:
        log = str(self.root / f"{name}.log")
        return self.run("pg_ctl", *args, "-D", str(self.root / name), "-l", log, "-w", check=check)

    def url(self, name: str, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.ports[name]}/{database}"

    def multi_host_url(self, database: str) -> str:
        """SQLAlchemy's multi-host form: libpq tries each host in turn and keeps the one that accepts writes."""
        hosts = "&".join(f"host=127.0.0.1:{port}" for port in self.ports.values())
        return f"postgresql://postgres@/{database}?{hosts}&target_session_attrs=read-write&connect_timeout=5"


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            result = connection.execute(text(sql))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


@pytest.fixture
def servers() -> Iterator[Servers]:
    """A primary and a synchronous streaming standby (pg_basebackup -R), both running; stopped and removed after."""
    programs = server_programs()
    if programs is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup, postgres) are not installed")
    account = server_account()
    # Not in tmp_path: pytest's base folder is private to us, and the server account could not reach inside it.
    root = Path(tempfile.mkdtemp(prefix="kiwoom-etl-failover-"))
    if account is not None:
        os.chown(root, *account)
    made = Servers(programs, root, account, {"primary": free_port(), "standby": free_port()})
    try:
        made.run(
            "initdb", "-D", str(root / "primary"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "-N"
        )
        with (root / "primary" / "postgresql.conf").open("a") as conf:
            conf.write(SETTINGS + f"port = {made.ports['primary']}\n")
        made.pg_ctl("primary", "start")
        made.run(
            "pg_basebackup",
            *("-D", str(root / "standby"), "-h", "127.0.0.1", "-p", str(made.ports["primary"]), "-U", "postgres"),
            *("-X", "stream", "-R", "-c", "fast", "--no-sync"),
        )
        with (root / "standby" / "postgresql.conf").open("a") as conf:
            # Once promoted it has no standby of its own: waiting for one would hang every commit for good.
            conf.write(f"port = {made.ports['standby']}\ncluster_name = 'standby'\nsynchronous_standby_names = ''\n")
        made.pg_ctl("standby", "start")
        wait_until(
            lambda: (
                query(made.url("primary"), "SELECT application_name, sync_state FROM pg_stat_replication")
                == [("standby", "sync")]
            ),
            "the standby streaming synchronously",
        )
        query(made.url("primary"), "CREATE DATABASE kiwoom")
        yield made
    finally:
        for name in ("primary", "standby"):
            if (root / name / "postmaster.pid").exists():
                made.pg_ctl(name, "stop", "-m", "immediate", check=False)  # never hiding why the test failed
        shutil.rmtree(root, ignore_errors=True)


def test_the_daemon_outlives_its_primary_through_a_promoted_standby(
    servers: Servers, sim_url: str, feed_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    url = servers.multi_host_url("kiwoom")
    config = tmp_path / "accounts.toml"
    config.write_text(
        "".join(f'[[accounts]]\nappkey = "{a.appkey}"\nsecretkey = "{a.secretkey}"\n' for a in simulator.accounts),
        encoding="utf-8",
    )
    config.chmod(0o600)  # it holds keys: kiwoom-etl refuses it readable by others
    # With the listener on: its lease cannot be renewed while no server takes writes, and it must not stop the rest.
    env = account_env(simulator, sim_url, url, tmp_path, feed=feed_url) | {"KIWOOM_ETL_CONFIG": str(config)}
    del env["KIWOOM_APPKEY"], env["KIWOOM_SECRETKEY"]
    migrated = kiwoom_etl("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    pairs = {(a.acct_no, x): len(a.holdings[x]) for a in simulator.accounts for x in a.holdings}
    spool = tmp_path / "state" / "spool"
    engine = make_engine(normalize_database_url(url, "test"))
    daemon = DaemonProcess(["run", "--interval", "2s", "--all-hours"], env, tmp_path / "daemon.log")

    def whole_slots() -> int:
        """How many slots every pair has a snapshot of."""
        with engine.connect() as connection:
            query = (
                select(AccountSnapshot.scheduled_for)
                .where(AccountSnapshot.scheduled_for.is_not(None))  # the listener's catch-ups serve no slot
                .group_by(AccountSnapshot.scheduled_for)
            )
            return len(connection.execute(query.having(func.count() == len(pairs))).all())

    def spooled() -> int:
        return len(list(spool.glob("*.json")))

    def waiting(condition: Callable[[], bool], what: str) -> None:
        try:
            wait_until(condition, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the daemon's log ends:\n{daemon.output()[-4000:]}") from None

    try:
        waiting(lambda: whole_slots() >= 2, "two whole slots on the primary")
        with engine.connect() as connection:
            ledger = select(EtlRun.id).where(EtlRun.api_id == "kt00015", EtlRun.status == "success")
            waiting(lambda: connection.execute(ledger).first() is not None, "the ledger at start")
        # Right after a whole slot, so that no commit is in flight (the docs tell what an answer lost with its
        # server does).
        before = whole_slots()
        waiting(lambda: whole_slots() > before, "the next whole slot")
        servers.pg_ctl("primary", "stop", "-m", "immediate")
        # The standby still answers, read-only: target_session_attrs=read-write refuses it, so every slot spools.
        waiting(lambda: spooled() >= 2 * len(pairs), "two slots in the spool")
        servers.pg_ctl("standby", "promote")
        waiting(lambda: spooled() == 0, "the spool loaded into the promoted standby")
        after = whole_slots()
        waiting(lambda: whole_slots() > after, "a whole slot on the new primary")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait() == 0, daemon.output()
        with engine.connect() as connection:
            runs = connection.execute(
                select(EtlRun.account_no, EtlRun.exchange, EtlRun.scheduled_for, EtlRun.status, EtlRun.reason).where(
                    EtlRun.api_id == "kt00005"
                )
            ).all()
            snapshots = connection.execute(
                select(AccountSnapshot.account_no, AccountSnapshot.exchange, AccountSnapshot.position_count)
            ).all()
            pages = connection.execute(select(func.count()).where(RawResponse.api_id == "kt00005")).scalar_one()
            server = connection.execute(text("SELECT inet_server_port(), pg_is_in_recovery()")).one()
        whole = assert_nothing_partial(engine)
        slotted = [run for run in runs if run.scheduled_for is not None]
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.wait()
        engine.dispose()
    assert tuple(server) == (servers.ports["standby"], False)  # the promoted standby takes the writes
    assert "Traceback" not in daemon.output() and "LOST" not in daemon.output()
    assert ": listening (ws://" in daemon.output()  # the listener was on throughout
    assert spooled() == 0 and not list(spool.glob("conflicts/*"))  # nothing left behind, nothing set aside
    # Every slot from the first to the last, for every pair, once: none lost, none twice, each one a success.
    slots = sorted({slot for _, _, slot, _, _ in slotted})
    assert slots == [slots[0] + n * INTERVAL for n in range(int((slots[-1] - slots[0]) / INTERVAL) + 1)]
    assert Counter((a, x, s) for a, x, s, _, _ in slotted) == Counter({(a, x, s): 1 for a, x in pairs for s in slots})
    assert {status for *_, status, _ in runs} == {"success"}  # the catch-ups too
    assert len({slot for _, _, slot, _, reason in slotted if reason == "spooled"}) >= 2  # the gap, through the spool
    # Every snapshot is whole and holds what the simulator served: its positions, and every page once.
    assert whole == len(runs) == len(snapshots)
    assert all(count == pairs[(account, exchange)] for account, exchange, count in snapshots)
    assert pages == simulator.count("kt00005")

    # An interval of a minute, not the daemon's 2 s: status calls a pair stale after two intervals without a success,
    # and on a busy machine more than 4 s can pass between the daemon's last slot and this line.
    status = kiwoom_etl("status", "--all-hours", "--interval", "60s", env=env)
    assert status.returncode == 0, status.stderr
    states = {(f[0], f[1]): f[2] for f in map(str.split, status.stdout.splitlines()) if tuple(f[:2]) in pairs}
    assert states == dict.fromkeys(pairs, "ok") and "Spool: empty." in status.stdout


def test_a_claim_that_landed_unanswered_holds_its_spooled_snapshots_an_hour_at_most(
    engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path
) -> None:
    """The server died before it answered a slot's claim, yet the claim landed (on it, or on the standby promoted
    since): the daemon spooled the snapshots without their runs, which stay `running` with nobody to finish them."""
    down_url = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"
    settings = make_settings(sim_url, down_url, tmp_path / "state", sim_accounts(simulator)[:1])
    down = make_engine(down_url)
    snapshotter = Snapshotter(settings, down)
    slot = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    try:
        assert {r.status for r in snapshotter.take(trigger="scheduled", scheduled_for=slot)} == {"spooled"}
    finally:
        snapshotter.close()
        down.dispose()
    captured = min(capture.captured_at for _, capture in snapshotter.spool.items())
    pairs = [(simulator.accounts[0].acct_no, exchange) for exchange in ("KRX", "NXT")]
    claims = claim_slot(
        engine, trigger="scheduled", started_at=captured - timedelta(seconds=1), scheduled_for=slot, pairs=pairs
    )
    # The spool names a server that is gone; this database stands in for its promoted standby.
    soon = flush(engine, snapshotter.spool, clock=lambda: captured + timedelta(minutes=5), into_this_database=True)
    assert (soon.loaded, soon.left) == (0, 2)  # the runs may still be another daemon's, taking the slot now
    an_hour_on = captured + ABANDONED_AFTER + timedelta(minutes=1)
    later = flush(engine, snapshotter.spool, clock=lambda: an_hour_on, into_this_database=True)
    assert (later.loaded, later.left) == (2, 0)  # an hour on, they are nobody's: the snapshots complete them
    with engine.connect() as connection:
        runs = connection.execute(select(EtlRun.id, EtlRun.status)).all()
    assert sorted(runs) == sorted((claims.take(*pair).id, "success") for pair in pairs)  # type: ignore[union-attr]
