"""The view of the runs: etl_freshness (each pair's newest snapshot, success and failure), with its column docs."""

from __future__ import annotations

from sqlalchemy import Integer, Text

from etl.read.views.view import View
from etl.store.dictionary import ACCOUNT_NO, BIGINT, COUNT, EXCHANGE, TEXT, TEXT_TYPE, TIMESTAMP, UTC_TIME, Column
from etl.store.sqltypes import RfcTime

ETL_FRESHNESS = View(
    "etl_freshness",
    "적재 현황",
    "One row per account × exchange that has runs: its newest snapshot, success and failure.",
    (
        ACCOUNT_NO,
        EXCHANGE,
        Column("last_captured_at", TIMESTAMP, None, "최종조회시각", UTC_TIME, "captured_at of the newest snapshot."),
        Column(
            "last_success_at",
            TIMESTAMP,
            None,
            "최종성공시각",
            UTC_TIME,
            "started_at of the newest run with status success.",
        ),
        Column(
            "last_failure_at",
            TIMESTAMP,
            None,
            "최종실패시각",
            UTC_TIME,
            "started_at of the newest run with status failed.",
        ),
        Column("last_error", TEXT_TYPE, None, "최종오류", TEXT, "error of the newest failed run."),
        Column(
            "failures_since_success",
            BIGINT,
            None,
            "연속실패수",
            COUNT,
            "Failed runs started after the newest success (all of them when none succeeded).",
        ),
    ),
    """WITH pairs AS (
    SELECT r.account_no, r.exchange,
           MAX(CASE WHEN r.status = 'success' THEN r.started_at END) AS last_success_at,
           MAX(CASE WHEN r.status = 'failed' THEN r.started_at END) AS last_failure_at
    FROM etl_runs r
    WHERE r.account_no IS NOT NULL AND r.exchange IS NOT NULL
    GROUP BY r.account_no, r.exchange
)
SELECT p.account_no, p.exchange,
       {time:(SELECT MAX(s.captured_at) FROM account_snapshots s
        WHERE s.account_no = p.account_no AND s.exchange = p.exchange)} AS last_captured_at,
       {time:p.last_success_at} AS last_success_at, {time:p.last_failure_at} AS last_failure_at,
       (SELECT f.error FROM etl_runs f
        WHERE f.account_no = p.account_no AND f.exchange = p.exchange AND f.status = 'failed'
        ORDER BY f.started_at DESC, f.id DESC LIMIT 1) AS last_error,
       (SELECT COUNT(*) FROM etl_runs f
        WHERE f.account_no = p.account_no AND f.exchange = p.exchange AND f.status = 'failed'
          AND (p.last_success_at IS NULL OR f.started_at > p.last_success_at)) AS failures_since_success
FROM pairs p""",
    computed={
        **dict.fromkeys(("last_captured_at", "last_success_at", "last_failure_at"), RfcTime()),
        "last_error": Text(),
        "failures_since_success": Integer(),
    },
)
