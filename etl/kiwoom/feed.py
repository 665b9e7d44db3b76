"""The real-time feed's wire: one WebSocket session of one app key — LOGIN with the REST token, PING echoed, REG of
the account's order events (`00`) and balance (`04`), and each message read as what it is.

Kiwoom documents little of this (../docs/realtime.md lists what is confirmed); where it is silent the session takes
the form third-party clients use and names anything else it meets instead of guessing: an unknown message is a
`Message` of kind "unknown", a frame that is no JSON object raises BadResponse, and the connection stays up for both.

Built on the `websockets` library's synchronous client (the threaded daemon's fit; Kiwoom's own example client uses
the same library), with the library's pings off: Kiwoom pings at the application level and expects its `PING`
message back unchanged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from etl.errors import ApiUnreachable, BadResponse, FeedError, SessionReplaced, TokenRejected
from etl.redact import mask_urls

FEED = "websocket"  # the api_id its errors carry
ORDER_EVENTS, BALANCE = "00", "04"
# LOGIN answered with one of these: the token is no good here (invalid, or issued for the other of real and mock, or
# failed authentication). The session issues a new one and logs in once more, as Kiwoom's own client does.
TOKEN_CODES = frozenset({"8005", "8031", "8103"})
REPLACED = "R10001"  # 동일한 App key로 접속이 되었습니다: another login with this app key closed this session
MAX_MESSAGE = 1 << 20  # a push is a few KiB; a bigger frame is refused rather than buffered
_CODE = re.compile(r"(?:CODE=|\[)([0-9]{4})")


def _constant_as_text(name: str) -> str:
    # NaN and Infinity are not JSON (json reads them by default) and no FID holds one: kept as the text they are, so
    # that a message holding one still stores as JSON, and a column that reads one refuses it as not a number.
    return name


_DECODER = json.JSONDecoder(parse_constant=_constant_as_text)


@dataclass(frozen=True)
class Message:
    """One message from the server: `kind` is its trnm (REAL, PING, LOGIN, REG, REMOVE, SYSTEM) or "unknown", `items`
    a REAL message's push items (each a dict with type, name, item, values), `body` the message as parsed."""

    kind: str
    body: Any = None
    items: tuple[dict[str, Any], ...] = field(default=())


class FeedSession:
    """One logged-in WebSocket session; `receive` reads one message at a time, `close` ends it."""

    def __init__(self, connection: ClientConnection, label: str) -> None:
        self._connection = connection
        self.label = label

    @classmethod
    def open(cls, url: str, token: str, *, label: str, timeout: float) -> FeedSession:
        """Connect to `url` and log in with `token` (the REST token, without "Bearer"). Raises TokenRejected on the
        token codes, FeedError when the login is refused otherwise, ApiUnreachable when the server cannot be
        reached or closes the connection first."""
        where = mask_urls(url)
        try:
            # Entered as a context manager, as the library asks since 17.1 (the session's `close` leaves it).
            connection = connect(
                url, open_timeout=timeout, close_timeout=timeout, ping_interval=None, max_size=MAX_MESSAGE
            ).__enter__()
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise ApiUnreachable(f"cannot connect to the feed at {where}: {_said(exc)}", api_id=FEED) from None
        session = cls(connection, label)
        try:
            session._send({"trnm": "LOGIN", "token": token})
            reply = session._login_reply(timeout)
        except BaseException:
            session.close()
            raise
        code = str(reply.get("return_code", ""))
        if code in ("0", ""):
            return session
        session.close()
        # What the server says goes to logs and /healthz: never the token, even when it is echoed back.
        said = _shown(str(reply.get("return_msg", "")).replace(token, "***"))
        reason = code if code in TOKEN_CODES else next(iter(_CODE.findall(said)), code)
        if reason in TOKEN_CODES:
            raise TokenRejected(f"LOGIN refused the token: {said}", api_id=FEED, reason=reason)
        raise FeedError(f"LOGIN refused: return_code {code}: {said}", api_id=FEED, reason=reason)

    def _login_reply(self, timeout: float) -> dict[str, Any]:
        """The LOGIN answer; a PING before it is echoed, anything else before it refused."""
        while True:
            message = self.receive(timeout)
            if message is None:
                raise ApiUnreachable(f"no answer to LOGIN within {timeout:g} s", api_id=FEED)
            if message.kind == "LOGIN":
                return dict(message.body)
            if message.kind != "PING":
                raise FeedError(f"expected the LOGIN answer, got a {message.kind} message", api_id=FEED)

    def register(self, types: tuple[str, ...] = (ORDER_EVENTS, BALANCE), group: str = "1") -> None:
        """REG `types` for the token's account (an empty item: 00 and 04 are the account's, not a stock's). Its answer
        comes in `receive`, which raises FeedError when it is refused."""
        self._send({"trnm": "REG", "grp_no": group, "refresh": "1", "data": [{"item": [""], "type": list(types)}]})

    def receive(self, timeout: float) -> Message | None:
        """The next message, or None when none came within `timeout` seconds. A PING is echoed before it is returned.
        Raises SessionReplaced (R10001), FeedError (a REG refused), ApiUnreachable (the connection ended) and
        BadResponse (a frame that is no JSON object: the connection stays)."""
        try:
            frame = self._connection.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as exc:
            raise ApiUnreachable(f"the feed closed the connection: {_closed(exc)}", api_id=FEED) from None
        except OSError as exc:
            raise ApiUnreachable(f"the feed connection failed: {_said(exc)}", api_id=FEED) from None
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        if text.strip() == "PING":  # the bare form some clients meet
            self._echo(frame)
            return Message("PING", "PING")
        try:
            body = _DECODER.decode(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the stack, no Kiwoom message is
            raise BadResponse(f"not JSON: {_shown(text)}", api_id=FEED) from None
        if not isinstance(body, dict):
            raise BadResponse(f"not a JSON object: {_shown(text)}", api_id=FEED)
        kind = body.get("trnm")
        if kind == "PING":
            self._echo(frame)
            return Message("PING", body)
        if kind == "REAL":
            data = body.get("data")
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise BadResponse(f"a REAL message without a list of pushes: {_shown(text)}", api_id=FEED)
            return Message("REAL", body, tuple(data))
        if kind == "SYSTEM":
            if REPLACED in text:
                raise SessionReplaced(f"{REPLACED}: another login with this app key took the session", api_id=FEED)
            return Message("SYSTEM", body)
        if kind in ("REG", "REMOVE"):
            if str(body.get("return_code", "0")) != "0":
                raise FeedError(f"{kind} refused: {_shown(text)}", api_id=FEED, reason=str(body.get("return_code")))
            return Message(kind, body)
        if kind == "LOGIN":
            return Message(kind, body)
        return Message("unknown", body)

    def _echo(self, frame: str | bytes) -> None:
        try:
            self._connection.send(frame)
        except ConnectionClosed as exc:
            raise ApiUnreachable(f"the feed closed the connection: {_closed(exc)}", api_id=FEED) from None

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self._connection.send(json.dumps(message, ensure_ascii=False))
        except ConnectionClosed as exc:
            raise ApiUnreachable(f"the feed closed the connection: {_closed(exc)}", api_id=FEED) from None

    def close(self) -> None:
        """End the session (a close frame, then the socket); never raises."""
        try:
            self._connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection has nothing left to report
            pass

    def __repr__(self) -> str:
        return f"FeedSession({self.label!r})"


def _said(exc: BaseException) -> str:
    return mask_urls(str(exc)) or type(exc).__name__


def _closed(exc: ConnectionClosed) -> str:
    """How the connection ended: the close code and reason, or that it was cut without one."""
    received = exc.rcvd
    if received is None:
        return "cut without a close frame"
    return f"code {received.code}" + (f" ({_shown(received.reason)})" if received.reason else "")


def _shown(text: str, limit: int = 200) -> str:
    """A message for a log line: repr'd (no control characters reach the log) and cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "…")
