"""The simulator's WebSocket feed, as Kiwoom's real-time API speaks it (path /api/dostk/websocket, its own port): a
session logs in with an au10001 token, echoes the server's PING, registers the types it wants (REG, REMOVE) and
receives REAL pushes of its account's order events (00) and holdings (04).

The rules (issue 21's feed protocol): a first message other than LOGIN is answered return_code 1 "LOGIN first" and
closed; an unknown, revoked or expired token is answered 8005 and closed; a session that has not echoed a PING by
the next one is closed (1008, "no PING echo"); a push goes only to the session logged in with the account's app key
that registered its type, and is lost when there is none (Kiwoom does not resend); a second LOGIN with the same app
key sends the old session SYSTEM R10001 and closes it. The feed's faults (etl.sim.faults, FEED_KINDS) are met by
the PINGs and pushes a session is sent.

`Feed` holds the sessions, and is the simulator's whether or not a server serves it; `serve_feed` and `bind_feed`
put it behind the `websockets` library's synchronous server. Each session has two threads: the server's, which
reads the client's messages, and a sender, which sends the PINGs and the pushes in order (a delayed push holds
those behind it, and never the one who ordered).
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http import HTTPStatus
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from etl.sim.faults import Fault

PATH = "/api/dostk/websocket"
# The largest message a client may send: its LOGIN and REG bodies are a few hundred bytes.
MAX_MESSAGE = 64 * 1024
CLOSE_TIMEOUT = 2.0  # seconds a closing session waits for the client's close frame
PING = json.dumps({"trnm": "PING"})
BAD_TOKEN = "Token이 유효하지 않습니다[8005:Token이 유효하지 않습니다]"
REPLACED = {
    "trnm": "SYSTEM",
    "code": "R10001",
    "message": "동일한 App key로 접속이 되었습니다. 기존 세션은 종료가 됩니다",
}
MALFORMED = '{"trnm":"REAL","data":[{"type":"00","values":{'  # what a feed_malformed fault sends: cut-off JSON
UNKNOWN = json.dumps({"trnm": "SIM_UNKNOWN", "data": []})  # what a feed_unknown fault sends
_STOP = object()
_RETIRE = object()


def text(message: dict[str, Any]) -> str:
    """A message as the feed sends it: JSON, Korean as it is."""
    return json.dumps(message, ensure_ascii=False)


class Session:
    """One client connection: the app key it logged in with, the types each of its groups registered, the messages
    waiting for its sender, and whether it owes a PING echo or was silenced."""

    def __init__(self, connection: ServerConnection) -> None:
        self.connection = connection
        self.appkey: str | None = None
        self.groups: dict[str, set[str]] = {}  # grp_no → types; the Feed's lock guards it
        self.outbox: queue.Queue[object] = queue.Queue()
        self.owes_echo = False
        self.silent = threading.Event()
        self.stopped = threading.Event()

    def registered(self, kind: str) -> bool:
        """Whether any of its groups registered `kind` (the caller holds the Feed's lock)."""
        return any(kind in types for types in self.groups.values())

    def abort(self) -> None:
        """Shut the TCP connection at once: no close frame."""
        with suppress(OSError):
            self.connection.socket.shutdown(socket.SHUT_RDWR)


class Feed:
    """The live sessions, one per app key, and what the feed asks of the simulator: whose a token is, the PING
    interval, and the feed fault a message meets."""

    def __init__(
        self,
        owner: Callable[[str], str | None],
        interval: Callable[[], float],
        fault: Callable[[str | None, str], Fault | None],
    ) -> None:
        self._owner = owner
        self._interval = interval
        self._fault = fault
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def push(self, appkey: str, item: dict[str, Any]) -> bool:
        """Send `item` (a 00 or 04 push item) in a REAL message to the session of `appkey` that registered its type;
        False when there is none and the push is lost."""
        with self._lock:
            session = self._sessions.get(appkey)
            if session is None or not session.registered(item["type"]):
                return False
        session.outbox.put(text({"trnm": "REAL", "data": [item]}))
        return True

    def sessions(self) -> int:
        """How many sessions are logged in."""
        with self._lock:
            return len(self._sessions)

    def registered(self, appkey: str, kind: str) -> bool:
        """Whether the session of `appkey` has registered `kind`."""
        with self._lock:
            session = self._sessions.get(appkey)
            return session is not None and session.registered(kind)

    def handle(self, connection: ServerConnection) -> None:
        """Serve one connection until it closes (the server's handler)."""
        session = Session(connection)
        try:
            if self._login(session, connection.recv(timeout=max(30.0, 3 * self._interval()))):
                self._serve(session)
        except (ConnectionClosed, TimeoutError):
            pass
        finally:
            with self._lock:
                if session.appkey is not None and self._sessions.get(session.appkey) is session:
                    del self._sessions[session.appkey]
            session.stopped.set()
            session.outbox.put(_STOP)

    def _login(self, session: Session, first: str | bytes) -> bool:
        message = _json(first)
        trnm = message.get("trnm", "") if isinstance(message, dict) else ""
        if trnm != "LOGIN":
            session.connection.send(text({"trnm": trnm, "return_code": 1, "return_msg": "LOGIN first"}))
            session.connection.close(1008, "LOGIN first")
            return False
        token = message.get("token") if isinstance(message, dict) else None
        appkey = self._owner(token) if isinstance(token, str) else None
        if appkey is None:
            session.connection.send(text({"trnm": "LOGIN", "return_code": 8005, "return_msg": BAD_TOKEN}))
            session.connection.close(1008, "token refused")
            return False
        session.connection.send(text({"trnm": "LOGIN", "return_code": 0, "return_msg": ""}))
        with self._lock:
            session.appkey = appkey
            old = self._sessions.get(appkey)
            self._sessions[appkey] = session
        if old is not None:
            old.outbox.put(_RETIRE)
        return True

    def _serve(self, session: Session) -> None:
        sender = threading.Thread(target=self._send, args=(session,), name="kiwoom-simulator-feed-send", daemon=True)
        sender.start()
        try:
            for raw in session.connection:
                if not session.silent.is_set():
                    self._answer(session, raw)
        finally:
            session.stopped.set()
            session.outbox.put(_STOP)
            sender.join()

    def _answer(self, session: Session, raw: str | bytes) -> None:
        message = _json(raw)
        if raw == "PING" or (isinstance(message, dict) and message.get("trnm") == "PING"):
            session.owes_echo = False
            return
        if not isinstance(message, dict):
            session.connection.send(text({"trnm": "", "return_code": 1, "return_msg": "not a JSON object"}))
            return
        trnm = message.get("trnm")
        if trnm in ("REG", "REMOVE"):
            problem = self._register(session, message)
            reply = {"trnm": trnm, "return_code": 1 if problem else 0, "return_msg": problem}
        elif trnm == "LOGIN":
            appkey = self._owner(message["token"]) if isinstance(message.get("token"), str) else None
            ok = appkey == session.appkey
            reply = {"trnm": "LOGIN", "return_code": 0 if ok else 8005, "return_msg": "" if ok else BAD_TOKEN}
        else:
            reply = {"trnm": trnm if isinstance(trnm, str) else "", "return_code": 1, "return_msg": "unknown trnm"}
        session.connection.send(text(reply))

    def _register(self, session: Session, message: dict[str, Any]) -> str:
        """Apply a REG or REMOVE; "" when done, else what is wrong with its body (nothing is applied then)."""
        group, data = message.get("grp_no"), message.get("data")
        if not isinstance(group, str) or not group:
            return "grp_no: expected a group number"
        if message["trnm"] == "REMOVE" and data is None:  # Kiwoom's REMOVE body is unconfirmed: the whole group
            with self._lock:
                session.groups.pop(group, None)
            return ""
        if not isinstance(data, list) or not data:
            return "data: expected a list of {item, type}"
        kinds: set[str] = set()
        for entry in data:
            types = entry.get("type") if isinstance(entry, dict) else None
            if not isinstance(types, list) or not types or not all(isinstance(t, str) and t for t in types):
                return f"data: each entry needs a list of types; got {entry!r}"
            kinds.update(types)
        with self._lock:
            if message["trnm"] == "REMOVE":
                session.groups.get(group, set()).difference_update(kinds)
            elif message.get("refresh") == "0":  # 기존유지안함: the group holds these types only
                session.groups[group] = kinds
            else:
                session.groups.setdefault(group, set()).update(kinds)
        return ""

    def _send(self, session: Session) -> None:
        """The session's sender: its pushes in order, a PING every interval, the close of a session that owes one."""
        due = time.monotonic() + self._interval()
        try:
            while True:
                try:
                    item = session.outbox.get(timeout=max(0.0, due - time.monotonic()))
                except queue.Empty:
                    item = None
                if item is _STOP:
                    return
                if item is _RETIRE:
                    session.connection.send(text(REPLACED))
                    session.connection.close(1000, "replaced by a new session")
                    return
                if item is None:
                    due = time.monotonic() + self._interval()
                    if session.silent.is_set():
                        continue
                    if session.owes_echo:
                        session.connection.close(1008, "no PING echo")
                        return
                    session.owes_echo = True  # before it leaves: the echo may come back at once
                    if not self._deliver(session, PING, "PING"):
                        return
                elif isinstance(item, str) and not self._deliver(session, item, "REAL"):
                    return
        except ConnectionClosed:
            return

    def _deliver(self, session: Session, message: str, trnm: str) -> bool:
        """Send `message` as the fault it meets says; False when the session is gone (dropped)."""
        if session.silent.is_set():
            return True
        fault = self._fault(session.appkey, trnm)
        kind = fault.kind if fault else ""
        if kind == "feed_drop":
            session.abort()
            return False
        if kind == "feed_silence":
            session.silent.set()
            return True
        if kind == "feed_malformed":
            session.connection.send(MALFORMED)
        if kind == "feed_unknown":
            session.connection.send(UNKNOWN)
        if kind == "feed_delay" and fault is not None and session.stopped.wait(fault.seconds):
            return False
        session.connection.send(message)
        return True


def _json(raw: str | bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _only_the_feed(connection: ServerConnection, request: Request) -> Response | None:
    """Refuse (HTTP 404) a handshake on any path but the feed's; a query is not Kiwoom's business."""
    if request.path.split("?", 1)[0] != PATH:
        return connection.respond(HTTPStatus.NOT_FOUND, f"the feed is at {PATH}\n")
    return None


def bind_feed(feed: Feed, host: str = "127.0.0.1", port: int = 10000) -> Server:
    """A server for `feed` (a simulator's), listening; the caller runs serve_forever(). Raises OSError when it
    cannot bind."""
    return serve(
        feed.handle,
        host,
        port,
        process_request=_only_the_feed,
        max_size=MAX_MESSAGE,
        ping_interval=None,  # Kiwoom's PING is a message of its own (the Feed's), not WebSocket's ping frames
        close_timeout=CLOSE_TIMEOUT,
    )


def feed_url(host: str, server: Server) -> str:
    """The URL a client connects to."""
    return f"ws://{host}:{server.socket.getsockname()[1]}{PATH}"


@contextmanager
def serve_feed(feed: Feed, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `feed` (a simulator's: `serve_feed(simulator.feed)`) on a loopback port in a background thread; yield
    its URL. On exit the open sessions are closed (1001) and every thread has ended."""
    server = bind_feed(feed, host, port)
    thread = threading.Thread(target=server.serve_forever, name="kiwoom-simulator-feed", daemon=True)
    thread.start()
    try:
        yield feed_url(host, server)
    finally:
        server.shutdown()
        thread.join()
