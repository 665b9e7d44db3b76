"""Account numbers learned from ka00001, remembered under the state dir so that a restart needs no API call.

Rows name an account by its configured `name`, else its number; only an account whose number was never learned
(a wrong key from the start) is named by where it is configured. Remembering the number keeps that name stable
when the API is down at a restart. The file holds account numbers, never a key: keys are named by a digest.

`app_key_id` is the one name of an app key wherever one must be told apart from another without being kept (the
client's pacing, the real-time lease's row): a digest, never the key.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from etl.files import write_private
from etl.settings import Account, Secret

# Hex digits of the digest kept: 64 bits tell a handful of app keys apart with no chance of a collision.
APP_KEY_ID_LENGTH = 16


def app_key_id(appkey: Secret) -> str:
    """The app key's name where the key itself must not be: its SHA-256, hex, first 16 digits (ConfigError when the
    key is missing)."""
    return hashlib.sha256(appkey.reveal().encode()).hexdigest()[:APP_KEY_ID_LENGTH]


class KnownAccounts:
    """`<state dir>/accounts.json`: digest of (base URL, app key) → account number."""

    def __init__(self, state_dir: Path, base_url: str) -> None:
        self._path = state_dir / "accounts.json"
        self._base_url = base_url
        self._lock = threading.Lock()
        self._numbers: dict[str, str] | None = None

    def _key(self, account: Account) -> str:
        return hashlib.sha256(f"{self._base_url}\n{account.appkey.reveal()}".encode()).hexdigest()[:32]

    def _load(self) -> dict[str, str]:
        if self._numbers is None:
            try:
                loaded = json.loads(self._path.read_text(encoding="utf-8"))
                self._numbers = {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
            except (OSError, ValueError, RecursionError):
                self._numbers = {}
        return self._numbers

    def number(self, account: Account) -> str | None:
        """The account's number, if it was ever learned (and its app key is known here)."""
        if account.appkey.missing:
            return None  # a reading command without the keys: the number's entry cannot be found
        with self._lock:
            return self._load().get(self._key(account))

    def remember(self, account: Account, number: str) -> None:
        """Keep `number` for the account (best effort: a state dir that cannot be written only costs a lookup)."""
        with self._lock:
            numbers = self._load()
            if numbers.get(self._key(account)) == number:
                return
            numbers[self._key(account)] = number
            try:
                write_private(self._path, json.dumps(numbers).encode())
            except OSError:
                pass

    def account_no(self, account: Account) -> str:
        """What the tables call the account: its name, its remembered number, else where it is configured."""
        return account.name or self.number(account) or account.label
