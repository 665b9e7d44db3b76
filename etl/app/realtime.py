"""Listening to the real-time feed, the use case the daemon and the demo share: per app key one listener that holds
the key's lease, logs in, keeps every fill (etl.jobs.fills) and asks for a snapshot after each change of its
accounts; `EventSnapshots` spaces those snapshots out.

The rules, and why:

- One session per app key: a second login with the key closes the first (R10001, third-party reports), so replicas
  sharing a database let a lease row decide who listens (etl.store.lease); the others stand by and take over when it
  expires. SQLite has one daemon: its listener takes the lease whoever held it before.
- A connection that ends, a server that falls silent for `silence`, a refused login: reconnect after an exponential
  backoff with jitter (a token the login refuses is replaced first, and the next attempt is at once); after every
  login the accounts get a catch-up snapshot, since what happened while away is not pushed again.
- A push for an account (a fill, or a 04 balance change) asks for a snapshot of each of its exchanges — kt00005's
  KRX and NXT answers describe the same account, so a fill on one changes both — after `settle` without another push
  (a burst is one snapshot), at most one per account × exchange per `min_gap`, and only while the exchange's window
  is open (at all hours with --all-hours). They claim no slot (etl_runs.trigger `event`, `catch_up`), run on workers
  of their own, and so never cost a scheduled slot its run.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine

from etl.clock import utc_now
from etl.errors import ApiError, ApiUnreachable, BadResponse, FeedError, SessionReplaced, StorageError, TokenRejected
from etl.jobs.fills import Fills
from etl.jobs.snapshot import SnapshotResult, Snapshotter
from etl.kiwoom.accounts import app_key_id
from etl.kiwoom.feed import BALANCE, ORDER_EVENTS, FeedSession
from etl.kiwoom.fetcher import Fetcher
from etl.schedule import Schedule
from etl.settings import Account, Settings
from etl.store import lease as leases

log = logging.getLogger(__name__)

EVENT, CATCH_UP = "event", "catch_up"  # etl_runs.trigger of the snapshots asked for here
BACKOFF_FIRST, BACKOFF_MOST = 1.0, 60.0  # seconds before reconnecting: doubled per failure, with jitter
STEADY = 60.0  # a session that lasted this long resets the backoff
POLL = 0.5  # how often the receiving loop looks up from the socket (stop, lease, silence)
SILENCE = 120.0  # no message (not even Kiwoom's PING) for this long: the connection is dead, reconnect
EVENT_WORKERS = 4


class RealtimeObserver(Protocol):
    """What a listener reports (the daemon's metrics)."""

    def realtime_connected(self, key: str, connected: bool) -> None: ...
    def realtime_message(self, kind: str) -> None: ...
    def realtime_reconnect(self, reason: str) -> None: ...
    def event_snapshot(self, result: str) -> None: ...


class _Quiet:
    """An observer that counts nothing (a caller without metrics)."""

    def realtime_connected(self, key: str, connected: bool) -> None:
        pass

    def realtime_message(self, kind: str) -> None:
        pass

    def realtime_reconnect(self, reason: str) -> None:
        pass

    def event_snapshot(self, result: str) -> None:
        pass


@dataclass
class _Pending:
    first: float  # when the first push of this burst arrived (monotonic)
    last: float  # when its newest push arrived
    trigger: str


class EventSnapshots:
    """Snapshots asked for by pushes: per (account, exchange) one after `settle` seconds without another push (but no
    later than `min_gap` after the first of a burst), and at least `min_gap` seconds after the one before."""

    def __init__(
        self,
        take: Callable[[Account, str, str], Sequence[SnapshotResult]],
        *,
        settle: timedelta,
        min_gap: timedelta,
        is_open: Callable[[str], bool],
        observer: RealtimeObserver,
        workers: int = EVENT_WORKERS,
    ) -> None:
        self._take = take
        self._settle = settle.total_seconds()
        self._gap = min_gap.total_seconds()
        self._is_open = is_open
        self._observer = observer
        self._pending: dict[tuple[Account, str], _Pending] = {}
        self._last: dict[tuple[Account, str], float] = {}  # when the newest snapshot of the pair started
        self._running: set[tuple[Account, str]] = set()
        self._changed = threading.Condition()
        self._stopping = False
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="event-snapshot")
        self._thread = threading.Thread(target=self._loop, name="event-snapshots", daemon=True)
        self._thread.start()

    def note(self, account: Account, *, trigger: str = EVENT) -> None:
        """A push changed `account`: a snapshot of each of its exchanges is due once the burst settles (a catch-up
        at once)."""
        now = time.monotonic()
        with self._changed:
            for exchange in account.exchanges:
                pending = self._pending.get((account, exchange))
                if pending is None:
                    self._pending[(account, exchange)] = _Pending(now, now, trigger)
                else:
                    pending.last = now
                    if trigger == CATCH_UP:
                        pending.trigger = CATCH_UP
            self._changed.notify_all()

    def _due_at(self, pair: tuple[Account, str], pending: _Pending) -> float:
        if pending.trigger == CATCH_UP:
            due = pending.first
        else:
            due = min(pending.last + self._settle, pending.first + max(self._gap, self._settle))
        last = self._last.get(pair)
        return due if last is None else max(due, last + self._gap)

    def _loop(self) -> None:
        with self._changed:
            while not self._stopping:
                now = time.monotonic()
                waiting = [pair for pair in self._pending if pair not in self._running]
                ready = [pair for pair in waiting if self._due_at(pair, self._pending[pair]) <= now]
                for pair in ready:
                    pending = self._pending.pop(pair)
                    self._last[pair] = now
                    self._running.add(pair)
                    self._pool.submit(self._snapshot, pair, pending.trigger)
                later = [self._due_at(pair, self._pending[pair]) for pair in waiting if pair not in ready]
                self._changed.wait(timeout=None if not later else max(0.0, min(later) - now))

    def _snapshot(self, pair: tuple[Account, str], trigger: str) -> None:
        account, exchange = pair
        try:
            if not self._is_open(exchange):
                self._observer.event_snapshot("closed")
                log.debug("%s %s changed outside its window: no snapshot", account.label, exchange)
                return
            for result in self._take(account, exchange, trigger):
                self._observer.event_snapshot(str(result.status))
        except Exception:  # a bug in one snapshot must not stop the others
            log.exception("%s %s: the %s snapshot failed", account.label, exchange, trigger)
            self._observer.event_snapshot("failed")
        finally:
            with self._changed:
                self._running.discard(pair)
                self._changed.notify_all()

    def idle(self) -> bool:
        """Whether no snapshot is waiting or running."""
        with self._changed:
            return not self._pending and not self._running

    def close(self, timeout: float) -> bool:
        """Stop: the snapshots waiting are dropped, the running ones given `timeout` seconds to finish; whether they
        did."""
        with self._changed:
            self._stopping = True
            self._pending.clear()
            self._changed.notify_all()
        self._thread.join()
        with self._changed:
            finished = self._changed.wait_for(lambda: not self._running, timeout=timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        return finished


@dataclass
class ListenerState:
    """What `status`, /healthz and the metrics tell of one app key's listener."""

    key: str  # how it is named: its accounts' numbers (or names), never the key
    connected_since: datetime | None = None
    holder: bool = False  # holds the key's lease (else it stands by)
    last_message_at: datetime | None = None
    last_problem: str | None = None

    def line(self, now: datetime) -> str:
        """One line for /healthz."""
        if self.connected_since is not None:
            heard = self.last_message_at
            age = "" if heard is None else f", last message {max(0, int((now - heard).total_seconds()))} s ago"
            return f"realtime {self.key}: connected since {self.connected_since:%Y-%m-%d %H:%M:%S} UTC{age}"
        if not self.holder:
            return f"realtime {self.key}: standing by (another replica holds the session)"
        return f"realtime {self.key}: reconnecting ({self.last_problem or 'starting'})"


class Listener:
    """The feed session of one app key and its accounts, reconnected until `stopping` is set."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        fetcher: Fetcher,
        accounts: Sequence[Account],
        events: EventSnapshots,
        *,
        stopping: threading.Event,
        observer: RealtimeObserver,
        holder: str,
        clock: Callable[[], datetime] = utc_now,
        silence: float = SILENCE,
        backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MOST),
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.fetcher = fetcher
        self.accounts = tuple(accounts)
        self.events = events
        self.stopping = stopping
        self.observer = observer
        self.holder = holder
        self.clock = clock
        self.silence = silence
        self.backoff = backoff
        self.key_id = app_key_id(accounts[0].appkey)
        self.state = ListenerState(key=self._key())
        self.fills = Fills(engine)
        self._lease_until: datetime | None = None  # the held lease's expiry: past it, a standby may hold the key
        self._lease_problem: str | None = None  # why the lease cannot be renewed now, said once

    def _key(self) -> str:
        """How the key is named in logs, metrics and status: its accounts as the tables name them."""
        return ", ".join(self.fetcher.known.account_no(a) for a in self.accounts)

    def _known(self) -> dict[str, tuple[str, Account]]:
        """Account number (FID 9201) → the account_no the tables use (its configured name, else the number) and the
        account, for the accounts whose number is known."""
        known = ((self.fetcher.known.number(a), a) for a in self.accounts)
        return {number: (account.name or number, account) for number, account in known if number is not None}

    def run(self) -> None:
        """Listen until stopped: hold the lease, connect, serve, reconnect; give the lease back at the end."""
        failures = 0
        replaced_token = False  # the last attempt's token was refused and replaced: the next one goes at once
        try:
            while not self.stopping.is_set():
                self.state.key = self._key()  # numbers learned since (the daemon resolves them at start)
                self._store_held()  # also while standing by or backing off: the database may be back
                if not self._hold():
                    self.stopping.wait(leases.RENEW_EVERY.total_seconds())
                    continue
                started = time.monotonic()
                try:
                    reason = self._connect_and_serve()
                except Exception:  # a bug must not end the listening for good: logged, then as any failed session
                    log.exception("realtime %s: the session failed", self.state.key)
                    reason = self._ended("error", "an unexpected error (see the log)")
                if self.stopping.is_set():
                    break
                failures = 1 if time.monotonic() - started >= STEADY else failures + 1
                self.observer.realtime_reconnect(reason)
                if reason == "token" and not replaced_token:
                    replaced_token = True
                    continue  # a new token was issued: log in with it at once (once; then the backoff)
                replaced_token = False
                first, most = self.backoff
                pause = min(most, first * 2 ** (failures - 1)) * (0.5 + random.random() / 2)  # noqa: S311 - jitter
                log.info("realtime %s: reconnecting in %.1f s (%s)", self.state.key, pause, reason)
                self.stopping.wait(pause)
        finally:
            self._disconnected()
            self._store_held()
            if self.fills.held:
                log.error("realtime %s: %d fill(s) not stored: the database is away", self.state.key, self.fills.held)
            self._release()

    def _hold(self) -> bool:
        """Take or renew the key's lease; False while another replica holds it, and once the lease this one held
        has expired without a renewal (the database away: a standby may hold the key by now)."""
        now = self.clock()
        try:
            names = json.dumps([self.fetcher.known.account_no(a) for a in self.accounts], ensure_ascii=False)
            told = leases.Session(names, self.state.connected_since, self.state.last_message_at)
            lease = leases.acquire(self.engine, self.key_id, self.holder, now, session=told)
        except StorageError as exc:
            problem = f"the lease cannot be renewed: {exc}"
            if problem != self._lease_problem:  # said once, not every RENEW_EVERY
                log.warning("realtime %s: %s", self.state.key, problem)
            self.state.last_problem = self._lease_problem = problem
            held = self._lease_until is not None and now < self._lease_until
        else:
            if self._lease_problem is not None:
                log.warning("realtime %s: the lease can be renewed again", self.state.key)
                if self.state.last_problem == self._lease_problem:
                    self.state.last_problem = None
                self._lease_problem = None
            self._lease_until = None if lease is None else lease.expires_at
            held = lease is not None
        if held != self.state.holder:
            log.info(
                "realtime %s: %s", self.state.key, "holding the session" if held else "standing by for another replica"
            )
        self.state.holder = held
        return held

    def _connect_and_serve(self) -> str:
        """One session, from login to its end; returns why it ended (the reconnect's reason)."""
        client = self.fetcher.client(self.accounts[0])
        try:
            for account in self.accounts:  # the numbers the pushes name (remembered after the first time)
                self.fetcher.account_number(account, client)
            self.state.key = self._key()
            token = client.token()
        except ApiError as exc:
            return self._ended("error", f"cannot get a token: {exc}")
        try:
            session = FeedSession.open(
                self.settings.realtime_url, token.value, label=self.state.key, timeout=self.settings.http_timeout
            )
        except TokenRejected as exc:
            self._ended("token", str(exc))
            try:
                client.replace_token(token)
            except ApiError as again:
                return self._ended("error", f"cannot replace the token: {again}")
            return "token"
        except ApiError as exc:
            return self._ended("error", f"cannot log in: {exc}")
        try:
            return self._serve(session)
        finally:
            session.close()
            self._disconnected()

    def _serve(self, session: FeedSession) -> str:
        try:
            session.register((ORDER_EVENTS, BALANCE))
        except ApiUnreachable as exc:
            return self._ended("closed", str(exc))
        now = self.clock()
        self.state.connected_since, self.state.last_message_at, self.state.last_problem = now, None, None
        self.observer.realtime_connected(self.state.key, True)
        if not self._hold():  # and `status` shows the session from now, not from the next renewal
            return self._ended("lease", "another replica holds the lease now")
        log.info("realtime %s: listening (%s)", self.state.key, self.settings.safe_realtime_url)
        for account in self.accounts:  # what happened while away is not pushed again
            self.events.note(account, trigger=CATCH_UP)
        heard = renewed = time.monotonic()
        while not self.stopping.is_set():
            try:
                message = session.receive(POLL)
            except BadResponse as exc:
                self.observer.realtime_message("malformed")
                log.warning("realtime %s: a message that cannot be read, ignored: %s", self.state.key, exc)
                message = None
                heard = time.monotonic()
            except SessionReplaced as exc:
                return self._ended("replaced", str(exc))
            except FeedError as exc:
                return self._ended("refused", str(exc))
            except ApiUnreachable as exc:
                return self._ended("closed", str(exc))
            now_monotonic = time.monotonic()
            if message is not None:
                heard = now_monotonic
                self.state.last_message_at = self.clock()
                self.observer.realtime_message(message.kind)
                if message.kind == "REAL":
                    self._pushed(message.items)
                elif message.kind in ("unknown", "SYSTEM"):
                    log.warning("realtime %s: a %s message: %.300r", self.state.key, message.kind, message.body)
            elif now_monotonic - heard > self.silence:
                return self._ended("silence", f"nothing heard for {self.silence:g} s")
            if now_monotonic - renewed >= leases.RENEW_EVERY.total_seconds():
                renewed = now_monotonic
                if not self._hold():
                    return self._ended("lease", "another replica holds the lease now")
                self._store_held()
        return "stopped"

    def _ended(self, reason: str, why: str) -> str:
        self.state.last_problem = why
        log.warning("realtime %s: the session ended (%s): %s", self.state.key, reason, why)
        return reason

    def _pushed(self, items: Sequence[dict[str, object]]) -> None:
        """File the fills, and ask for snapshots of the accounts that changed."""
        known = self._known()
        changed: dict[str, Account] = {}  # by account_no
        for item in items:
            kind = item.get("type")
            if kind not in (ORDER_EVENTS, BALANCE):
                self.observer.realtime_message("unknown")
                log.warning("realtime %s: a push of type %.20r, ignored", self.state.key, kind)
            elif kind == BALANCE:
                values = item.get("values")
                number = str(values.get("9201", "")).strip() if isinstance(values, dict) else ""
                found = known.get(number)
                if found is None:
                    self.observer.realtime_message("refused")
                    log.warning("realtime %s: a 04 push for account %.40r, not this session's", self.state.key, number)
                else:
                    changed[found[0]] = found[1]
        orders = [item for item in items if item.get("type") == ORDER_EVENTS]
        if orders:
            try:
                numbers = {number: account_no for number, (account_no, _) in known.items()}
                recorded = self.fills.record(orders, self.clock(), numbers)
            except StorageError as exc:
                log.error("realtime %s: fills not stored: %s", self.state.key, exc)
            else:
                for why in recorded.refused:
                    self.observer.realtime_message("refused")
                    log.error("realtime %s: %s", self.state.key, why)
                accounts = {account_no: account for account_no, account in known.values()}
                for fill in recorded.fills:
                    v = fill.values
                    log.info(
                        "realtime %s: fill %s %s (%s) %d × %s on %s, order %s",
                        v["account_no"],
                        v["side"],
                        v["stock_name"],
                        v["stock_code"],
                        v["quantity"],
                        f"{v['price']:,}",
                        v["exchange"],
                        v["order_no"],
                    )
                    changed[fill.values["account_no"]] = accounts[fill.values["account_no"]]
        for account in changed.values():
            self.events.note(account)

    def _store_held(self) -> None:
        if self.fills.held:
            try:
                self.fills.retry()
            except StorageError as exc:
                log.error("realtime %s: held fills not stored: %s", self.state.key, exc)

    def _disconnected(self) -> None:
        if self.state.connected_since is not None:
            self.state.connected_since = None
            self.observer.realtime_connected(self.state.key, False)

    def _release(self) -> None:
        if not self.state.holder:
            return
        try:
            leases.release(self.engine, self.key_id, self.holder)
        except StorageError as exc:  # it expires by itself
            log.warning("realtime %s: the lease could not be given back: %s", self.state.key, exc)
        self.state.holder = False


class Realtime:
    """Every app key's listener and the event snapshots, on threads of their own; `stop` ends them. `take` snapshots
    one account × exchange with a trigger (default: a Snapshotter of the fetcher's; the daemon passes its own, which
    counts them as it counts the scheduled ones)."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        fetcher: Fetcher,
        schedule: Schedule,
        *,
        take: Callable[[Account, str, str], Sequence[SnapshotResult]] | None = None,
        observer: RealtimeObserver | None = None,
        clock: Callable[[], datetime] = utc_now,
        silence: float = SILENCE,
        backoff: tuple[float, float] = (BACKOFF_FIRST, BACKOFF_MOST),
    ) -> None:
        self.observer: RealtimeObserver = observer or _Quiet()
        self.stopping = threading.Event()
        self.holder = leases.replica_id()
        self.clock = clock
        if take is None:
            snapshotter = Snapshotter(settings, engine, fetcher, clock=clock)

            def take(account: Account, exchange: str, trigger: str) -> Sequence[SnapshotResult]:
                return snapshotter.take([account], trigger=trigger, exchanges=[exchange])

        self.events = EventSnapshots(
            take,
            settle=settings.realtime_settle,
            min_gap=settings.realtime_min_gap,
            is_open=lambda exchange: schedule.is_open(exchange, clock()),
            observer=self.observer,
        )
        by_key: dict[object, list[Account]] = {}
        for account in settings.accounts:
            by_key.setdefault(account.appkey, []).append(account)
        self.listeners = [
            Listener(
                settings,
                engine,
                fetcher,
                accounts,
                self.events,
                stopping=self.stopping,
                observer=self.observer,
                holder=self.holder,
                clock=clock,
                silence=silence,
                backoff=backoff,
            )
            for accounts in by_key.values()
        ]
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number, listener in enumerate(self.listeners):
            thread = threading.Thread(target=listener.run, name=f"realtime-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def states(self) -> list[ListenerState]:
        return [listener.state for listener in self.listeners]

    def stop(self, timeout: float = 10.0) -> bool:
        """Close every session (each gives its lease back), then the event snapshots, all within `timeout` seconds;
        False when a snapshot was still running then (the caller decides whether to wait longer or exit)."""
        deadline = time.monotonic() + timeout
        self.stopping.set()
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return self.events.close(max(0.0, deadline - time.monotonic()))
