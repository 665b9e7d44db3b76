"""Prometheus metrics of the daemon, in a registry of its own (nothing is registered at import time)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from etl.apis import APIS
from etl.clock import utc_now
from etl.errors import ApiError, ApiServerError, ApiUnreachable, RateLimited, TokenRejected
from etl.jobs.account_job import AccountResult
from etl.jobs.ledger import LedgerResult
from etl.jobs.snapshot import SnapshotResult
from etl.store.models import RunStatus

_RETRY_REASONS = (
    (RateLimited, "rate_limited"),
    (ApiServerError, "server_error"),
    (ApiUnreachable, "unreachable"),
    (TokenRejected, "token_rejected"),
)


class Metrics:
    """Snapshots by result, their duration, the last success per account × exchange, API retries by reason, and
    the runs of each API whose declaration names a counter."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.snapshots = Counter(
            "kiwoom_etl_snapshots",
            "Account × exchange snapshots, by result and reason (etl_runs' names; empty for a plain success).",
            ["result", "reason"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "kiwoom_etl_snapshot_duration_seconds",
            "Time to fetch, transform and load one account × exchange snapshot.",
            buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
            registry=self.registry,
        )
        self.last_success = Gauge(
            "kiwoom_etl_last_success_timestamp_seconds",
            "When the newest successful snapshot of an account × exchange was loaded (Unix time).",
            ["account", "exchange"],
            registry=self.registry,
        )
        self.retries = Counter(
            "kiwoom_etl_api_retries", "Kiwoom API requests retried, by reason.", ["reason"], registry=self.registry
        )
        self.runs = {  # by api_id
            api.api_id: Counter(
                f"kiwoom_etl_{api.runs_metric.name}_runs",
                f"{api.runs_metric.title} ({api.api_id}) runs, by result and reason (etl_runs' names; empty for a "
                "plain success).",
                ["result", "reason"],
                registry=registry,
            )
            for api in APIS
            if api.runs_metric is not None
        }
        self.ledger_lines = Counter(
            "kiwoom_etl_ledger_lines",
            "Ledger lines newly loaded, by kind; kind=other counts the lines the mapping does not know.",
            ["kind"],
            registry=self.registry,
        )

        self.realtime_connected_gauge = Gauge(
            "kiwoom_etl_realtime_connected",
            "1 while the real-time feed's session of an app key is logged in and registered, else 0; `key` names the "
            "key's accounts.",
            ["key"],
            registry=self.registry,
        )
        self.realtime_messages = Counter(
            "kiwoom_etl_realtime_messages",
            "Feed messages after the login, by type: REAL, PING, REG, SYSTEM; unknown (a message or push type not "
            "known), malformed (not readable), refused (a push off the contract or for another account).",
            ["type"],
            registry=self.registry,
        )
        self.realtime_reconnects = Counter(
            "kiwoom_etl_realtime_reconnects",
            "Feed sessions that ended and were opened again, by reason: closed, silence, token, replaced (R10001), "
            "refused, lease (another replica took over), error.",
            ["reason"],
            registry=self.registry,
        )
        self.event_snapshots = Counter(
            "kiwoom_etl_event_snapshots",
            "Snapshots asked for by the feed (a fill, a balance change, a reconnect), by result: the run's status "
            "(success, failed, spooled while the database is away), or closed (the exchange's window was closed: none "
            "taken).",
            ["result"],
            registry=self.registry,
        )

    def realtime_connected(self, key: str, connected: bool) -> None:
        self.realtime_connected_gauge.labels(key=key).set(1 if connected else 0)

    def realtime_message(self, kind: str) -> None:
        self.realtime_messages.labels(type=kind).inc()

    def realtime_reconnect(self, reason: str) -> None:
        self.realtime_reconnects.labels(reason=reason).inc()

    def event_snapshot(self, result: str) -> None:
        self.event_snapshots.labels(result=result).inc()

    def observe(self, result: SnapshotResult) -> None:
        """Count one snapshot's outcome."""
        self.snapshots.labels(result=result.status, reason=result.reason or "").inc()
        if result.status in (RunStatus.SUCCESS, RunStatus.FAILED):
            self.duration.observe(result.seconds)
        if result.ok:
            self.last_success.labels(account=result.account, exchange=result.exchange).set(utc_now().timestamp())

    def observe_ledger(self, result: LedgerResult) -> None:
        """Count one account's ledger run and the lines it added by kind."""
        self._count_run(result)
        for kind, count in result.load.added.items():
            self.ledger_lines.labels(kind=kind).inc(count)

    def observe_run(self, result: AccountResult) -> None:
        """Count one run of an API that names a counter: the day totals, the realised profit, a market API."""
        self._count_run(result)

    def _count_run(self, result: AccountResult) -> None:
        """Count one run in its API's counter."""
        self.runs[result.api.api_id].labels(result=result.status, reason=result.reason or "").inc()

    def retried(self, exc: ApiError) -> None:
        """Count one retry (or token replacement) by what caused it."""
        reason = next((name for kind, name in _RETRY_REASONS if isinstance(exc, kind)), "other")
        self.retries.labels(reason=reason).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format."""
        return generate_latest(self.registry)
