"""The fetcher: what every request of a process shares — HTTP sessions (one a thread), the pacer, the token
cache, the retry policy and the account numbers learned — and a client per account over them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from etl.clock import utc_now
from etl.errors import ApiError
from etl.kiwoom.accounts import KnownAccounts
from etl.kiwoom.client import HttpSession, KiwoomClient, new_session
from etl.kiwoom.pacing import Pacer
from etl.kiwoom.retry import RetryPolicy
from etl.kiwoom.tokens import TokenCache
from etl.settings import Account, Settings


@dataclass
class Fetcher:
    """HTTP sessions, pacing and tokens for every account of a process; `close` when done."""

    settings: Settings
    pacer: Pacer | None = None
    tokens: TokenCache | None = None
    clock: Callable[[], datetime] = utc_now
    observer: Callable[[ApiError], None] | None = None  # metrics: retries by reason
    stop: threading.Event | None = None  # set when the daemon stops: retries give up instead of sleeping on
    _local: threading.local = field(default_factory=threading.local)
    _sessions: list[HttpSession] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.pacer is None:
            self.pacer = Pacer(self.settings.rate_per_second, self.settings.rate_burst)
        if self.tokens is None:
            self.tokens = TokenCache(self.settings.state_dir)
        self.known = KnownAccounts(self.settings.state_dir, self.settings.base_url)

    def __repr__(self) -> str:
        return f"Fetcher({self.settings!r})"

    def session(self) -> HttpSession:
        """This thread's keep-alive session (requests' sessions are not meant to be shared between threads)."""
        session: HttpSession | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = new_session()
            with self._lock:
                self._sessions.append(session)
        return session

    def client(self, account: Account) -> KiwoomClient:
        """A client for one account over this thread's session and the shared pacer and token cache."""
        assert self.pacer is not None and self.tokens is not None
        stopping = {"sleep": self.stop.wait, "cancelled": self.stop.is_set} if self.stop is not None else {}
        retry = RetryPolicy.from_settings(self.settings, observer=self.observer, **stopping)
        return KiwoomClient(
            self.settings,
            account,
            session=self.session(),
            pacer=self.pacer,
            tokens=self.tokens,
            retry=retry,
            clock=self.clock,
        )

    def account_number(self, account: Account, client: KiwoomClient) -> str:
        """The number behind the account's key: remembered, else asked (ka00001) and remembered."""
        number = self.known.number(account)
        if number is None:
            number, _ = client.account_number()
            self.known.remember(account, number)
        return number

    def close(self) -> None:
        """Close every thread's session."""
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
