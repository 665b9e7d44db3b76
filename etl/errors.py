"""The one exception tree of kiwoom-etl.

Whether a failure is retried is decided by its class, never by its message::

    EtlError
    ├── ConfigError                 a setting is missing or malformed
    ├── ApiError                    the Kiwoom API failed or refused (api_id, return_code, reason)
    │   ├── TransientApiError       retried with backoff
    │   │   ├── ApiUnreachable      connection refused or dropped, timeout
    │   │   ├── ApiServerError      HTTP 5xx, reason 1999
    │   │   └── RateLimited         HTTP 429, return_code 5 / reason 1700 (retry_after)
    │   ├── TokenRejected           return_code 3 / 8003, 8005, 8006, 8009: a new token is issued once
    │   ├── CredentialsRejected     wrong app key or secret key (8001, 8002, ...): never retried
    │   ├── RequestRejected         bad input (15xx) and any other refusal: never retried
    │   │   └── NotSupported        this server does not offer the API (8104 on the mock server, 8200): not asked again
    │   ├── FeedError               the real-time feed refused a login or a registration
    │   │   └── SessionReplaced     another login with the same app key took the feed's session (R10001)
    │   └── BadResponse             not JSON, not an object, or a continuation chain that repeats or never ends
    ├── TransformError              a value that does not match the contract (field, line, value)
    ├── SlotClaimed                 another process has already taken this schedule slot (not a failure)
    └── StorageError                the database failed, or refused what it was given
        ├── DatabaseUnavailable     it cannot be reached or used, for a reason that is not the data's: spool
        │   └── SchemaNotMigrated   it is not at the head revision (absent, foreign, older or newer): spool
        └── SpoolError              the spool cannot be written (full disk) or a spool file cannot be read
"""

from __future__ import annotations


class EtlError(Exception):
    """Root of every error kiwoom-etl raises on purpose."""


class ConfigError(EtlError):
    """A setting is missing or malformed; the message names the setting."""


class ApiError(EtlError):
    """The Kiwoom API failed or refused a request."""

    def __init__(
        self,
        message: str,
        *,
        api_id: str,
        return_code: int | None = None,
        reason: str | None = None,
        http_status: int | None = None,
    ) -> None:
        self.api_id = api_id
        self.return_code = return_code
        self.reason = reason
        self.http_status = http_status
        super().__init__(f"{api_id}: {message}")


class TransientApiError(ApiError):
    """A failure that may pass: retried with exponential backoff and jitter."""

    retry_after: float | None = None


class ApiUnreachable(TransientApiError):
    """The connection failed, dropped or timed out."""


class ApiServerError(TransientApiError):
    """HTTP 5xx, or return code reason 1999 (unexpected server error)."""


class RateLimited(TransientApiError):
    """HTTP 429 or return_code 5: too many requests."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class TokenRejected(ApiError):
    """The access token is invalid or expired."""


class CredentialsRejected(ApiError):
    """The app key or secret key was refused; retrying cannot help."""


class RequestRejected(ApiError):
    """The API refused the request itself (bad input, unknown market, ...)."""


class NotSupported(RequestRejected):
    """The server does not offer this API to this account (8104: not on the mock server; 8200: not for companies)."""


class FeedError(ApiError):
    """The real-time feed refused a login or a registration for a reason that is not the token's."""


class SessionReplaced(FeedError):
    """The feed closed this session because another login with the same app key took it (R10001)."""


class BadResponse(ApiError):
    """The answer cannot be used: not JSON, not an object, or a broken continuation chain."""

    def __init__(self, message: str, *, page: object = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        # The etl.kiwoom.pages.Page that could not be used, kept by the caller; typed loosely because this tree sits
        # below every stage and imports none of them.
        self.page = page


class TransformError(EtlError):
    """A value does not match the contract; nothing of its snapshot is loaded."""

    def __init__(
        self,
        message: str,
        *,
        field: str,
        value: object,
        line: int | None = None,
        page: int | None = None,
        lines: str = "position",
    ) -> None:
        self.problem = message
        self.field = field
        self.value = value
        self.line = line  # the position's line_no (or the ledger line's place): 0-based over all pages
        self.page = page  # the page it came in, 0-based
        self.lines = lines  # what the line is: a kt00005 position, a kt00015 ledger line
        super().__init__(message)

    def __str__(self) -> str:
        where = self.field
        if self.line is not None:
            where += f" of {self.lines} line {self.line}"
        if self.page is not None:
            where += f" (page {self.page})"
        return f"{where}: {self.problem}: {self.value!r}"


class SlotClaimed(EtlError):
    """Another process has already claimed this account × exchange × slot: nothing to do here."""


class StorageError(EtlError):
    """The database failed or could not be reached."""


class DatabaseUnavailable(StorageError):
    """The database cannot be reached or used (down, read-only, full, locked, corrupted, not a database), or failed
    mid-transaction for a reason that is not the data's fault: what is fetched meanwhile is spooled."""


class SpoolError(StorageError):
    """The spool directory cannot be written (full disk, permissions) or a spool file cannot be read."""


class SchemaNotMigrated(DatabaseUnavailable):
    """The database is not at the head revision: never written to, so what is fetched meanwhile is spooled."""
