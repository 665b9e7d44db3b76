"""The Kiwoom access tokens kiwoom-etl caches: revoked and forgotten."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from etl.kiwoom.fetcher import Fetcher
from etl.settings import Settings


@dataclass(frozen=True)
class Revoked:
    """One configured account's token: revoked, or none was cached."""

    label: str  # the config's name, else where it is configured
    revoked: bool


def revoke_tokens(settings: Settings) -> Iterator[Revoked]:
    """Revoke (au10002) and forget the cached access token of each configured account, one after the other."""
    fetcher = Fetcher(settings)
    try:
        for account in settings.require_accounts():
            yield Revoked(account.label, fetcher.client(account).revoke_token())
    finally:
        fetcher.close()
