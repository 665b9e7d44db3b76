"""Time: the UTC clock every timestamp comes from, and Korean Standard Time, in which Kiwoom speaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

KST = timezone(timedelta(hours=9), "KST")  # Korea has kept UTC+9 without daylight saving since 1988


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
