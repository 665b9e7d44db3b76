"""The Kiwoom REST client: tokens (au10001/au10002), the account number (ka00001), and the pages of any endpoint
(etl.kiwoom.endpoints) — following continuation, retrying, replacing a rejected token.

Everything `requests` can raise is translated here into the exception tree of `etl.errors`; nothing above this
module imports `requests`. HTTP 200 is not success: the return code inside the body decides.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from etl.clock import utc_now, utc_text
from etl.errors import (
    ApiError,
    ApiServerError,
    ApiUnreachable,
    BadResponse,
    CredentialsRejected,
    NotSupported,
    RateLimited,
    RequestRejected,
    TokenRejected,
)
from etl.kiwoom.accounts import app_key_id
from etl.kiwoom.endpoints import ACCOUNT_NUMBER, BALANCE, REVOKE, TOKEN, Endpoint
from etl.kiwoom.pacing import Pacer
from etl.kiwoom.pages import Page, parse_json_object
from etl.kiwoom.retry import RetryPolicy
from etl.kiwoom.tokens import Token, TokenCache, cache_key, parse_expires_dt
from etl.settings import Account, Settings

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/json;charset=UTF-8"
# A page of kt00005 or kt00015 is a few KiB to a few hundred; a body past this is read no further, so that a broken
# or hostile server at the base URL cannot fill the memory.
MAX_ANSWER_BYTES = 16 * 2**20

# The 4-digit reason inside return_msg brackets: "인증에 실패했습니다[8005:Token이 유효하지 않습니다]".
_REASON = re.compile(r"\[(\d{4})\s*:")
# 8010 (token issued from another IP) is cured by a new token, like an expired one.
TOKEN_REASONS = frozenset({"8003", "8005", "8006", "8009", "8010"})
CREDENTIAL_REASONS = frozenset({"8001", "8002", "8011", "8012", "8020", "8030", "8031", "8040", "8050", "8103"})
RATE_LIMIT_REASONS = frozenset({"1700"})
NOT_SUPPORTED_REASONS = frozenset({"8104", "8200"})  # not on the mock server; not for corporate customers
# How a list TR says its range is empty, in either bracket form: "[2000](501724:관련자료가없습니다)".
_NO_DATA = re.compile(r"자료가\s*없|데이터가\s*없")
SERVER_REASONS = frozenset({"1999"})
RATE_LIMIT_RETURN_CODE = 5
TOKEN_RETURN_CODE = 3


HttpSession = requests.Session


def new_session() -> HttpSession:
    """One keep-alive HTTP session for one thread: requests' sessions are not thread-safe, so the fetcher keeps
    one a worker thread, shared by the clients that thread runs."""
    session = requests.Session()
    # The API never redirects; followed, a 307 or 308 would send the token request's body — the secret key — to
    # whichever host the Location names. A redirect fails the request instead (TooManyRedirects).
    session.max_redirects = 0
    session.headers["Content-Type"] = CONTENT_TYPE
    session.headers["User-Agent"] = "kiwoom-etl"
    return session


class KiwoomClient:
    """The Kiwoom REST API for one account (one app key), over a shared session, pacer and token cache."""

    def __init__(
        self,
        settings: Settings,
        account: Account,
        *,
        session: requests.Session,
        pacer: Pacer,
        tokens: TokenCache,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._settings = settings
        self._account = account
        self._session = session
        self._pacer = pacer
        self._tokens = tokens
        self._retry = retry or RetryPolicy.from_settings(settings)
        self._clock = clock
        # Pacing and the token cache name the credentials by digests, so no secret sits in a long-lived structure.
        self._pace_id = app_key_id(account.appkey)
        self._cache_key = cache_key(settings.base_url, account.appkey.reveal(), account.secretkey.reveal())

    def __repr__(self) -> str:
        return f"KiwoomClient({self._settings.safe_base_url!r}, {self._account.label!r})"

    def token(self) -> Token:
        """A usable access token: the cached one, or a new one issued under the app key's lock."""
        cached = self._tokens.load(self._cache_key)
        if cached is not None and cached.usable_at(self._clock()):
            return cached
        with self._tokens.locked(self._cache_key):
            cached = self._tokens.load(self._cache_key)  # another thread or process may have issued one meanwhile
            if cached is not None and cached.usable_at(self._clock()):
                return cached
            token = self.issue_token()
            self._tokens.save(self._cache_key, token)
            return token

    def replace_token(self, rejected: Token) -> Token:
        """Forget a token the API rejected (unless another process already did) and get a new one."""
        with self._tokens.locked(self._cache_key):
            self._tokens.discard(self._cache_key, rejected)
        return self.token()

    def issue_token(self) -> Token:
        """au10001: issue a new access token. Raises CredentialsRejected, ApiError."""
        body = {
            "grant_type": "client_credentials",
            "appkey": self._account.appkey.reveal(),
            "secretkey": self._account.secretkey.reveal(),
        }
        page = self._retry.call(lambda: self._post(TOKEN, body, auth=None), TOKEN.api_id)
        data = page.data or {}
        value = data.get("token")
        if not isinstance(value, str) or not value:
            raise BadResponse("the answer holds no token", api_id=TOKEN.api_id)
        token = Token(value=value, expires_at=parse_expires_dt(data.get("expires_dt")))
        log.info("issued a token for %s, valid until %s", self._account.label, utc_text(token.expires_at))
        return token

    def revoke_token(self) -> bool:
        """au10002: revoke the cached token, if any; True when one was revoked. Raises ApiError."""
        with self._tokens.locked(self._cache_key):
            cached = self._tokens.load(self._cache_key)
            if cached is None:
                return False
            body = {
                "appkey": self._account.appkey.reveal(),
                "secretkey": self._account.secretkey.reveal(),
                "token": cached.value,
            }
            try:
                self._retry.call(lambda: self._post(REVOKE, body, auth=None), REVOKE.api_id)
            except TokenRejected:
                pass  # already invalid: forgetting it is all that is left to do
            self._tokens.discard(self._cache_key, cached)
            return True

    def account_number(self) -> tuple[str, Page]:
        """ka00001: the account number behind the app key, and the page it came in. Raises ApiError."""
        page = self.page(ACCOUNT_NUMBER)
        number = (page.data or {}).get("acctNo")
        if not isinstance(number, str) or not number.strip():
            raise BadResponse("the answer holds no acctNo", api_id=ACCOUNT_NUMBER.api_id, page=page)
        return number.strip(), page

    def page(self, endpoint: Endpoint, **params: Any) -> Page:
        """One request to `endpoint` (a flat record), its body built from `params`. Raises ApiError, and
        NotSupported (8104, 8200) where the server or the account does not offer the API."""
        return self._call(endpoint, endpoint.body(**params))

    def pages(self, endpoint: Endpoint, **params: Any) -> Iterator[Page]:
        """Every page of `endpoint`'s answer, the same body repeated with the next-key of the page before (one page
        where the endpoint holds no list). An empty range of a list TR is an empty page.

        Yields each page as it arrives, so a caller keeps what came before a failure. Raises as `page`, and
        BadResponse when next-key repeats or the chain exceeds the page cap.
        """
        body = endpoint.body(**params)
        if not endpoint.paged:
            yield self._call(endpoint, body)
            return
        api_id = endpoint.api_id
        seen: set[str] = set()
        next_key: str | None = None
        page_no = 0
        while True:
            page = self._call(endpoint, body, next_key=next_key, page_no=page_no)
            yield page
            if page.cont_yn != "Y":
                return
            if not page.next_key:
                raise BadResponse(f"page {page_no} says cont-yn Y but sends no next-key", api_id=api_id)
            if page.next_key in seen:
                raise BadResponse(
                    f"next-key {page.next_key!r} repeats at page {page_no}: the continuation chain loops",
                    api_id=api_id,
                )
            page_no += 1
            if page_no >= self._settings.page_cap:
                raise BadResponse(
                    f"more than {self._settings.page_cap} pages (KIWOOM_ETL_PAGE_CAP): the chain does not end",
                    api_id=api_id,
                )
            seen.add(page.next_key)
            next_key = page.next_key

    def _call(
        self, endpoint: Endpoint, body: Mapping[str, Any], *, next_key: str | None = None, page_no: int = 0
    ) -> Page:
        """An authorised request with retries; a rejected token is replaced once and the request repeated."""
        api_id = endpoint.api_id
        token = self.token()
        try:
            return self._retry.call(
                lambda: self._post(endpoint, body, auth=token, next_key=next_key, page_no=page_no), api_id
            )
        except TokenRejected as exc:
            log.warning("%s: token rejected (%s); issuing a new one and retrying once", api_id, exc.reason)
            self._retry.notify(exc)
            token = self.replace_token(token)
            return self._retry.call(
                lambda: self._post(endpoint, body, auth=token, next_key=next_key, page_no=page_no), api_id
            )

    def _post(
        self,
        endpoint: Endpoint,
        body: Mapping[str, Any],
        *,
        auth: Token | None,
        next_key: str | None = None,
        page_no: int = 0,
    ) -> Page:
        api_id = endpoint.api_id
        headers = {"api-id": api_id}
        if auth is not None:
            headers["authorization"] = f"Bearer {auth.value}"
        if next_key is not None:
            headers["cont-yn"] = "Y"
            headers["next-key"] = next_key
        pace_key = (self._pace_id, api_id)
        self._pacer.wait(pace_key)
        response = self._send(api_id, endpoint.path, body, headers)
        content = response.content
        received_at = self._clock()
        try:
            text = content.decode("utf-8")
            data = parse_json_object(text)
        except UnicodeDecodeError:
            text, data = content.decode("utf-8", errors="replace"), None
        page = Page(
            api_id=api_id,
            page_no=page_no,
            received_at=received_at,
            http_status=response.status_code,
            text=text,
            data=data,
            cont_yn=response.headers.get("cont-yn"),
            next_key=response.headers.get("next-key"),
        )
        try:
            _raise_for_answer(page, endpoint, response.headers.get("Retry-After"), received_at)
        except RateLimited:
            self._pacer.drain(pace_key)
            raise
        return page

    def _send(self, api_id: str, path: str, body: Mapping[str, Any], headers: dict[str, str]) -> requests.Response:
        """One HTTP POST, with everything `requests` can raise translated into ApiError."""
        base, _, query = self._settings.base_url.partition("?")
        url = base + path + (f"?{query}" if query else "")  # a gateway's token in the base URL's query stays there
        try:
            response = self._session.post(
                url, json=dict(body), headers=headers, timeout=self._settings.http_timeout, stream=True
            )
            # Read the body here, where a dropped connection is translated, and no further than the cap.
            received = bytearray()
            for chunk in response.iter_content(64 * 1024):
                received += chunk
                if len(received) > MAX_ANSWER_BYTES:
                    response.close()
                    raise BadResponse(
                        f"the answer is over {MAX_ANSWER_BYTES // 2**20} MiB, not read further (a page is a few KiB)",
                        api_id=api_id,
                        http_status=response.status_code,
                    )
            response._content = bytes(received)  # what `response.content` would have read, capped
        # The exceptions' own texts can quote the request; only their class and the host are reported.
        except requests.Timeout:
            raise ApiUnreachable(f"no answer within {self._settings.http_timeout:g} s", api_id=api_id) from None
        except requests.exceptions.SSLError:
            raise ApiError(
                f"the TLS certificate of {self._settings.safe_base_url} is not trusted", api_id=api_id
            ) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise ApiUnreachable(
                f"connection to {self._settings.safe_base_url} failed ({type(exc).__name__})", api_id=api_id
            ) from None
        except requests.RequestException as exc:  # a bad URL, too many redirects: trying again cannot help
            raise ApiError(
                f"request to {self._settings.safe_base_url} cannot be made ({type(exc).__name__})", api_id=api_id
            ) from None
        return response


def _raise_for_answer(page: Page, endpoint: Endpoint, retry_after_header: str | None, now: datetime) -> None:
    """Classify one answer: return quietly on success, raise the matching ApiError otherwise."""
    api_id, status, data = page.api_id, page.http_status, page.data
    return_code, message = _return_code(data, api_id)
    reason_match = _REASON.search(message)
    reason = reason_match.group(1) if reason_match else None
    fields: dict[str, Any] = {"api_id": api_id, "return_code": return_code, "reason": reason, "http_status": status}
    described = f"HTTP {status}" + (f", return_code {return_code}: {message}" if return_code else "")

    if status == 429 or return_code == RATE_LIMIT_RETURN_CODE or reason in RATE_LIMIT_REASONS:
        raise RateLimited(described, retry_after=_retry_after(retry_after_header, now), **fields)
    if status >= 500 or reason in SERVER_REASONS:
        raise ApiServerError(described, **fields)
    if reason in CREDENTIAL_REASONS:
        raise CredentialsRejected(
            f"{described} — check this account's app key and secret key (real and mock keys differ)", **fields
        )
    if reason in TOKEN_REASONS or return_code == TOKEN_RETURN_CODE:
        raise TokenRejected(described, **fields)
    if reason in NOT_SUPPORTED_REASONS:
        raise NotSupported(described, **fields)
    if return_code and status == 200 and endpoint.no_data_is_empty and _NO_DATA.search(message):
        return
    if return_code:
        raise RequestRejected(described, **fields)
    if status != 200:
        raise RequestRejected(described, **fields)
    if data is None:
        # A snapshot's pages are one answer between them: which of them broke is worth saying.
        what = f"page {page.page_no}" if endpoint is BALANCE else "the answer"
        raise BadResponse(
            f"{what} is not valid JSON, or not a JSON object (HTTP {status}, {len(page.text)} characters)",
            page=None if endpoint.secret else page,
            api_id=api_id,
            http_status=status,
        )


def _return_code(data: Mapping[str, Any] | None, api_id: str) -> tuple[int, str]:
    if data is None:
        return 0, ""
    message = data.get("return_msg")
    message = message if isinstance(message, str) else ""
    code = data.get("return_code", 0)
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool):
        raise BadResponse(f"return_code is not a number: {code!r}", api_id=api_id)
    return code, message


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())
