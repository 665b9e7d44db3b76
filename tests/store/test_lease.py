"""The real-time lease on both backends: one holder per app key, taken over by the clock once expired, renewed,
released at once, exactly one winner when replicas race, and the app key never stored."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select

from etl.errors import DatabaseUnavailable
from etl.kiwoom.accounts import app_key_id
from etl.settings import Secret
from etl.store.engine import make_engine
from etl.store.lease import (
    LEASE_TTL,
    RENEW_EVERY,
    Lease,
    Session,
    acquire,
    lease_of,
    leases,
    release,
    replica_id,
)
from etl.store.models import RealtimeLease
from etl.store.schema import downgrade, migrate

KEY = "3f2a9c41d07b5e88"  # an app key id as app_key_id makes them
OTHER_KEY = "0b1c2d3e4f5a6b7c"
T0 = datetime(2026, 12, 7, 0, 30, tzinfo=UTC)
A, B = "host-a:4242:0a1b2c3d", "host-b:1:4e5f6a7b"


def test_a_free_key_is_taken_and_taking_it_again_renews_it_since_the_same_moment(engine: Engine) -> None:
    assert lease_of(engine, KEY) is None
    taken = acquire(engine, KEY, A, T0)
    assert taken == Lease(KEY, A, T0, T0, T0 + LEASE_TTL)
    again = acquire(engine, KEY, A, T0 + RENEW_EVERY)
    assert again == Lease(KEY, A, T0, T0 + RENEW_EVERY, T0 + RENEW_EVERY + LEASE_TTL)
    assert lease_of(engine, KEY) == again


def test_another_holder_is_refused_while_the_lease_is_live(engine: Engine) -> None:
    taken = acquire(engine, KEY, A, T0)
    assert taken is not None
    last_live = taken.expires_at - timedelta(microseconds=1)
    assert taken.live_at(last_live)
    assert acquire(engine, KEY, B, T0) is None
    assert acquire(engine, KEY, B, last_live) is None
    assert lease_of(engine, KEY) == taken  # a refused attempt changes nothing
    # Another app key is another lease.
    assert acquire(engine, OTHER_KEY, B, T0) == Lease(OTHER_KEY, B, T0, T0, T0 + LEASE_TTL)


def test_an_expired_lease_is_taken_over_by_the_clock(engine: Engine) -> None:
    taken = acquire(engine, KEY, A, T0)
    assert taken is not None and not taken.live_at(taken.expires_at)
    takeover = taken.expires_at
    assert acquire(engine, KEY, B, takeover) == Lease(KEY, B, takeover, takeover, takeover + LEASE_TTL)
    assert acquire(engine, KEY, A, takeover) is None  # the old holder is now the one refused


def test_renewing_extends_the_lease(engine: Engine) -> None:
    acquire(engine, KEY, A, T0)
    renewed = T0 + RENEW_EVERY
    assert acquire(engine, KEY, A, renewed) == Lease(KEY, A, T0, renewed, renewed + LEASE_TTL)
    # Past the first expiry, the renewal holds others off.
    assert acquire(engine, KEY, B, T0 + LEASE_TTL) is None
    assert acquire(engine, KEY, B, renewed + LEASE_TTL) is not None


def test_a_dead_holder_is_taken_over_within_30_s_of_its_last_renewal() -> None:
    # The standby asks every RENEW_EVERY: at worst it asks just before the expiry and then once more.
    assert LEASE_TTL + RENEW_EVERY <= timedelta(seconds=30)
    assert RENEW_EVERY * 3 < LEASE_TTL  # a holder survives two renewals in a row that fail


def test_renewing_after_a_takeover_says_the_lease_is_lost(engine: Engine) -> None:
    acquire(engine, KEY, A, T0)
    late = T0 + LEASE_TTL + timedelta(seconds=1)
    taken_over = acquire(engine, KEY, B, late)
    assert taken_over is not None
    assert acquire(engine, KEY, A, late + timedelta(seconds=1)) is None
    assert lease_of(engine, KEY) == taken_over  # the loser's renewal wrote nothing


def test_an_expired_lease_nobody_took_is_still_its_holders_to_renew(engine: Engine) -> None:
    acquire(engine, KEY, A, T0)
    late = T0 + LEASE_TTL + timedelta(seconds=1)
    assert acquire(engine, KEY, A, late) == Lease(KEY, A, T0, late, late + LEASE_TTL)  # since T0: never broken


def test_the_holder_tells_of_its_session_with_each_renewal(engine: Engine) -> None:
    acquire(engine, KEY, A, T0, session=Session('["5000001111"]'))
    renewed = T0 + RENEW_EVERY
    told = Session('["5000001111", "isa"]', connected_at=T0 + timedelta(seconds=1), last_message_at=renewed)
    assert acquire(engine, KEY, A, renewed, session=told) == Lease(
        KEY, A, T0, renewed, renewed + LEASE_TTL, '["5000001111", "isa"]', T0 + timedelta(seconds=1), renewed
    )
    assert acquire(engine, KEY, B, renewed, session=Session("someone else's")) is None
    assert lease_of(engine, KEY) == Lease(KEY, A, T0, renewed, renewed + LEASE_TTL, *vars(told).values())


def test_a_release_hands_the_lease_over_at_once(engine: Engine) -> None:
    acquire(engine, KEY, A, T0)
    acquire(engine, OTHER_KEY, A, T0)
    assert release(engine, KEY, A)
    assert lease_of(engine, KEY) is None
    soon = T0 + timedelta(seconds=1)
    assert acquire(engine, KEY, B, soon) == Lease(KEY, B, soon, soon, soon + LEASE_TTL)
    assert lease_of(engine, OTHER_KEY) is not None  # the holder's other key stays held
    assert not release(engine, KEY, A)  # nothing left to release


def test_a_release_by_another_holder_does_nothing(engine: Engine) -> None:
    taken = acquire(engine, KEY, A, T0)
    assert not release(engine, KEY, B)
    assert lease_of(engine, KEY) == taken
    assert acquire(engine, KEY, B, T0 + timedelta(seconds=1)) is None


def test_leases_lists_every_key_live_or_expired_by_its_id(engine: Engine) -> None:
    assert leases(engine) == []
    first = acquire(engine, KEY, A, T0)
    second = acquire(engine, OTHER_KEY, B, T0 + timedelta(minutes=5))
    assert leases(engine) == [second, first]
    assert first is not None and not first.live_at(T0 + timedelta(minutes=5))


def test_the_app_key_is_named_by_its_digest_and_never_stored(engine: Engine) -> None:
    appkey = "PSxk3nQm9vTzR8yWfL2aBcDe"
    key_id = app_key_id(Secret(appkey))
    acquire(engine, key_id, A, T0)
    with engine.connect() as connection:
        stored = [tuple(row) for row in connection.execute(select(RealtimeLease.__table__))]
    assert stored[0][0] == key_id and len(key_id) == 16
    assert not any(appkey in str(value) or appkey.lower() in str(value).lower() for value in stored[0])


def race(replicas: dict[str, Engine], now: datetime) -> dict[str, Lease | None]:
    """Every replica asks for KEY at `now`, each from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(replicas))
    won: dict[str, Lease | None] = {}

    def ask(replica: str, replica_engine: Engine) -> None:
        barrier.wait()
        won[replica] = acquire(replica_engine, KEY, replica, now)

    threads = [threading.Thread(target=ask, args=pair) for pair in replicas.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return won


def test_replicas_racing_for_a_key_get_exactly_one_winner(db_url: str, engine: Engine) -> None:
    """Each replica its own engine (its own connections), a round each time the last winner's lease has expired: a
    take that read the row and then wrote it would let two win."""
    replicas = {f"host-{n}:{n}:race": make_engine(db_url) for n in range(6)}
    try:
        for replica_engine in replicas.values():
            lease_of(replica_engine, KEY)  # each opens its connection before the race
        now = T0
        for _ in range(8):
            won = race(replicas, now)
            winners = [lease for lease in won.values() if lease is not None]
            assert len(won) == len(replicas) and len(winners) == 1, won
            assert lease_of(engine, KEY) == winners[0]
            now += LEASE_TTL  # the winner's lease has just expired: the next round is another race
    finally:
        for replica_engine in replicas.values():
            replica_engine.dispose()


def test_a_database_that_is_away_is_database_unavailable(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'no such directory' / 'kiwoom_etl.db'}")
    try:
        with pytest.raises(DatabaseUnavailable, match="taking the real-time lease"):
            acquire(engine, KEY, A, T0)
        with pytest.raises(DatabaseUnavailable, match="releasing the real-time lease"):
            release(engine, KEY, A)
    finally:
        engine.dispose()


def test_a_replica_id_names_its_host_and_process_and_differs_each_time() -> None:
    import os
    import socket

    first, second = replica_id(), replica_id()
    host, pid, suffix = first.rsplit(":", 2)
    assert (host, pid) == (socket.gethostname(), str(os.getpid())) and len(suffix) == 8
    assert first != second


def test_migration_0020_adds_the_table_and_its_downgrade_drops_it(engine: Engine) -> None:
    acquire(engine, KEY, A, T0)
    downgrade(engine, "0019")
    assert "realtime_leases" not in inspect(engine).get_table_names()
    migrate(engine)
    assert leases(engine) == []
    assert acquire(engine, KEY, B, T0) == Lease(KEY, B, T0, T0, T0 + LEASE_TTL)
