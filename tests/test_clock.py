"""Times as a person reads them: in the configured zone, to the second, the zone named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from etl.clock import KST, local_text, zone_name

CLOSE = datetime(2026, 11, 24, 6, 45, 0, 465013, tzinfo=UTC)  # 15:45 in Seoul


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Seoul", "2026-11-24 15:45:00 KST"),
        (ZoneInfo("Asia/Seoul"), "2026-11-24 15:45:00 KST"),
        (KST, "2026-11-24 15:45:00 KST"),
        ("UTC", "2026-11-24 06:45:00 UTC"),
        ("America/New_York", "2026-11-24 01:45:00 EST"),
        ("Asia/Dubai", "2026-11-24 10:45:00 Asia/Dubai"),  # tzdata has only "+04" for it
    ],
)
def test_local_text_shows_the_zone_it_converted_to(zone: object, expected: str) -> None:
    assert local_text(CLOSE, zone) == expected  # type: ignore[arg-type]


def test_local_text_converts_from_any_aware_time_and_names_summer_time() -> None:
    seoul_noon = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=9)))
    assert local_text(seoul_noon, "America/New_York") == "2026-06-30 23:00:00 EDT"
    assert zone_name("Asia/Seoul", seoul_noon) == "KST"
