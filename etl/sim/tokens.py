"""The simulator's tokens: au10001 issues one to an account's app key pair with a KST `expires_dt`, au10002 revokes
it, and a request's bearer token names its account until it expires; the authentication errors as Kiwoom words
them."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from etl.clock import KST
from etl.sim.accounts import SimAccount
from etl.sim.wire import Answer, error, ok

BAD_TOKEN = (3, "인증에 실패했습니다[8005:Token이 유효하지 않습니다]")
OTHER_IP_TOKEN = (3, "인증에 실패했습니다[8010:Token을 발급받은 IP와 서비스를 요청한 IP가 동일하지 않습니다]")
BAD_APPKEY = (3, "인증에 실패했습니다[8001:App Key와 Secret Key 검증에 실패했습니다.]")
BAD_SECRET = (3, "인증에 실패했습니다[8002:App Key와 Secret Key 검증에 실패했습니다.]")
DONE = "정상적으로 처리되었습니다"


@dataclass
class Tokens:
    """The live tokens (token → app key, expiry) and every token issued, in order; `lock` guards both."""

    live: dict[str, tuple[str, datetime]]
    issued: list[str]
    lock: threading.Lock

    def issue(self, accounts: list[SimAccount], body: dict[str, Any], lifetime: timedelta) -> Answer:
        """au10001: a token for the account whose keys `body` carries, valid for `lifetime`."""
        account = next((a for a in accounts if a.appkey == body.get("appkey")), None)
        if account is None:
            return error(200, BAD_APPKEY)
        if body.get("secretkey") != account.secretkey or body.get("grant_type") != "client_credentials":
            return error(200, BAD_SECRET)
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + lifetime
        with self.lock:
            self.live[token] = (account.appkey, expires)
            self.issued.append(token)
        return ok(
            {"expires_dt": expires.astimezone(KST).strftime("%Y%m%d%H%M%S"), "token_type": "bearer", "token": token},
            DONE,
        )

    def revoke(self, body: dict[str, Any]) -> Answer:
        """au10002: the token `body` names dies, when the app key beside it is its owner's."""
        with self.lock:
            owner = self.live.get(body.get("token", ""))
            if owner is None or owner[0] != body.get("appkey"):
                return error(200, BAD_TOKEN)
            del self.live[body["token"]]
        return ok({}, DONE)

    def revoke_all(self) -> None:
        """Every live token dies."""
        with self.lock:
            self.live.clear()

    def owner(self, token: str) -> str | None:
        """The app key whose live, unexpired token `token` is; None for an unknown, revoked or expired one."""
        with self.lock:
            entry = self.live.get(token)
        if entry is None or entry[1] <= datetime.now(UTC):
            return None
        return entry[0]

    def bearer(self, accounts: list[SimAccount], header: str) -> SimAccount | None:
        """The account whose live token the authorization `header` carries; None without one."""
        appkey = self.owner(header[7:] if header.startswith("Bearer ") else "")
        return None if appkey is None else next(a for a in accounts if a.appkey == appkey)
