"""The real-time lease: which replica listens to an app key's real-time feed, one row per app key in realtime_leases.

Kiwoom keeps one WebSocket session per app key (a second LOGIN with the key closes the first with R10001), so two
daemons against one database must not both listen: each would log the other out, over and over. The replica that
holds the key's lease listens; the others stand by, asking for it every RENEW_EVERY, and one of them takes it over
once it has expired.

A row with an expiry, not a PostgreSQL advisory lock held on a dedicated connection, because:

- it is the same code on SQLite and PostgreSQL (on SQLite there is one daemon, and the row costs it nothing);
- it survives a connection blip: an advisory lock dies with its session, so a dropped connection or a restarted
  PostgreSQL hands the feed to a standby while the holder is still connected to Kiwoom, and the two fight; a row
  expires only when its holder has not renewed it for LEASE_TTL;
- it works through a transaction-pooling proxy (PgBouncer's transaction mode), where a session-level advisory lock
  lands on whichever server connection the transaction borrowed and is invisible, or held forever, afterwards;
- the row is what `status` shows: who holds the key's feed, since when, until when.

Timing: the holder renews every RENEW_EVERY (5 s) to LEASE_TTL (20 s) after that moment. If it dies just after a
renewal, its lease expires 20 s later and a standby, asking every 5 s, takes it within 25 s — under the 30 s a
takeover may take. A holder that stops cleanly deletes its row (`release`), and a standby takes it at its next ask.

Whoever holds the lease must stop listening by its `expires_at` unless a renewal moved it: past it, a standby may
hold the key (a holder that cannot reach the database cannot know). `acquire` renews it too, and says None once
the lease is another's.

Every moment is passed in (the caller's clock): the replicas' clocks decide expiry, so they must agree (NTP); a
replica whose clock runs s seconds ahead takes an expired lease s seconds early. Taking is one statement, an INSERT
… ON CONFLICT DO UPDATE … WHERE the row is free, expired or the caller's own, so that replicas racing for a key get
exactly one winner on both backends: PostgreSQL locks the conflicting row and checks the WHERE against its newest
version, and SQLite has one writer at a time.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, or_, select

from etl.store.engine import transaction
from etl.store.models import RealtimeLease

LEASE_TTL = timedelta(seconds=20)  # how long a lease lasts unless renewed: a dead holder's feed is free after this
RENEW_EVERY = timedelta(seconds=5)  # how often the holder renews it, and a standby asks for it

_LEASES = RealtimeLease.__table__


@dataclass(frozen=True)
class Lease:
    """One app key's lease as the database holds it."""

    app_key_id: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    account_nos: str | None = None
    connected_at: datetime | None = None
    last_message_at: datetime | None = None

    def live_at(self, now: datetime) -> bool:
        """Whether the lease still binds others at `now` (it has not expired)."""
        return now < self.expires_at


def replica_id() -> str:
    """A name for this process as a lease holder: host name, process id and a random suffix (two containers of one
    host name may both run as pid 1, and a restarted daemon must not renew its dead predecessor's lease)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _upsert(connection: Connection) -> Any:
    """INSERT INTO realtime_leases in the connection's dialect, which has ON CONFLICT."""
    # Each dialect imported here: a daemon carries only its own.
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(RealtimeLease)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(RealtimeLease)


@dataclass(frozen=True)
class Session:
    """What the holder tells of its session with each renewal, for `status`: its accounts, since when it is
    connected (None while it is not), when it last heard from Kiwoom."""

    account_nos: str | None = None
    connected_at: datetime | None = None
    last_message_at: datetime | None = None


def acquire(
    engine: Engine,
    app_key_id: str,
    holder: str,
    now: datetime,
    *,
    ttl: timedelta = LEASE_TTL,
    session: Session = Session(),
) -> Lease | None:
    """Take the app key's lease at `now` for `ttl` if it is free or expired, or renew it if `holder` has it, with
    what the holder tells of its `session`; None while another holder's lease is live (`lease_of` says whose).
    StorageError, DatabaseUnavailable."""
    with transaction(engine, "taking the real-time lease") as connection:
        insert = _upsert(connection).values(
            app_key_id=app_key_id,
            holder=holder,
            acquired_at=now,
            renewed_at=now,
            expires_at=now + ttl,
            account_nos=session.account_nos,
            connected_at=session.connected_at,
            last_message_at=session.last_message_at,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[_LEASES.c.app_key_id],
            set_={
                "holder": insert.excluded.holder,
                # Held on without a break: since when stays.
                "acquired_at": case(
                    (_LEASES.c.holder == holder, _LEASES.c.acquired_at), else_=insert.excluded.acquired_at
                ),
                "renewed_at": insert.excluded.renewed_at,
                "expires_at": insert.excluded.expires_at,
                "account_nos": insert.excluded.account_nos,
                "connected_at": insert.excluded.connected_at,
                "last_message_at": insert.excluded.last_message_at,
            },
            where=or_(_LEASES.c.holder == holder, _LEASES.c.expires_at <= now),
        ).returning(*_LEASES.c)
        row = connection.execute(statement).one_or_none()
    return None if row is None else Lease(**row._mapping)


def release(engine: Engine, app_key_id: str, holder: str) -> bool:
    """Give up `holder`'s lease, so that a standby takes it at its next ask; whether there was one to give up
    (another holder's lease is left alone). StorageError, DatabaseUnavailable."""
    with transaction(engine, "releasing the real-time lease") as connection:
        released = connection.execute(
            delete(RealtimeLease).where(_LEASES.c.app_key_id == app_key_id, _LEASES.c.holder == holder)
        ).rowcount
    return bool(released)


def lease_of(engine: Engine, app_key_id: str) -> Lease | None:
    """The app key's lease, live or expired; None when nobody holds it. StorageError, DatabaseUnavailable."""
    with transaction(engine, "reading the real-time lease") as connection:
        row = connection.execute(select(_LEASES).where(_LEASES.c.app_key_id == app_key_id)).one_or_none()
    return None if row is None else Lease(**row._mapping)


def leases(engine: Engine) -> list[Lease]:
    """Every app key's lease, live or expired, by app key id (for `status`). StorageError, DatabaseUnavailable."""
    with transaction(engine, "reading the real-time leases") as connection:
        rows = connection.execute(select(_LEASES).order_by(_LEASES.c.app_key_id)).all()
    return [Lease(**row._mapping) for row in rows]
