"""The load door (etl.store.load): what every path in — flush, import, a snapshot — is refused alike."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select

from etl.jobs.flush import flush
from etl.jobs.spool import Spool
from etl.store.identity import learn_identity
from etl.store.models import AccountSnapshot, EtlRun, RawResponse
from tests.support import Clock
from tests.support.answers import capture

NOW = datetime(2026, 11, 20, 6, 30, tzinfo=UTC)


def test_flush_refuses_a_spooled_capture_from_the_future_and_keeps_its_pages_as_a_failed_run(
    engine: Engine, tmp_path: Path
) -> None:
    spool, here = Spool(tmp_path / "state"), learn_identity(engine)
    spool.write(capture(datetime(2099, 1, 1, tzinfo=UTC)), here)
    spool.write(capture(datetime(2026, 11, 20, 6, 39, tzinfo=UTC)), here)  # nine minutes ahead: a clock a little slow

    report = flush(engine, spool, clock=Clock(NOW))

    assert (report.loaded, report.failed, report.left) == (1, 1, 0) and spool.paths() == []
    with engine.connect() as connection:
        (failed,) = connection.execute(select(EtlRun.__table__).where(EtlRun.status == "failed")).all()
        pages = connection.execute(select(func.count()).where(RawResponse.run_id == failed.id)).scalar_one()
        latest = connection.execute(select(func.max(AccountSnapshot.captured_at))).scalar_one()
    assert failed.reason == "payload_refused" and pages == 1
    assert failed.error == (
        "captured_at: 2099-01-01T00:00:00+00:00 is more than 10 minutes ahead of the clock (2026-11-20T06:30:00+00:00)"
    )
    assert str(latest).startswith("2026-11-20 06:39")
