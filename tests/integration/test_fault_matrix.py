"""The fault matrix (docs/reliability.md): each fault injected through the simulator or the database, and for
each, nothing that was fetched is lost and nothing partial is loaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from etl.jobs.flush import flush
from etl.jobs.snapshot import Snapshotter
from etl.jobs.spool import Spool
from etl.sim.simulator import Simulator
from etl.store.engine import make_engine
from etl.store.models import RawResponse
from tests.support import assert_nothing_partial, make_settings, sim_accounts

# fault → (simulator faults, expected status of the first account's KRX snapshot)
FAULTS: dict[str, tuple[list[dict[str, Any]], str]] = {
    "API 5xx burst": ([{"kind": "http_503", "count": 3}], "success"),
    "HTTP 500 then reason 1999": ([{"kind": "http_500"}, {"kind": "server_error", "after": 1}], "success"),
    "dropped connections": ([{"kind": "drop", "count": 2}], "success"),
    "HTTP 429": ([{"kind": "rate_limit", "count": 2}], "success"),
    "return_code 5 in HTTP 200": ([{"kind": "rate_limit_200", "count": 2}], "success"),
    "timeout": ([{"kind": "delay", "seconds": 1.5}], "success"),
    "token revoked mid-pagination": ([{"kind": "revoke_token", "after": 1}], "success"),
    "broken JSON": ([{"kind": "broken_json", "after": 1}], "failed"),
    "truncated answer": ([{"kind": "truncated", "after": 2}], "failed"),
    "unreadable value": ([{"kind": "bad_value", "field": "evlt_amt", "value": "00000020954Z"}], "failed"),
}


def assert_nothing_lost(engine: Engine, simulator: Simulator, spool: Spool) -> None:
    """Every kt00005 page a client received is in raw_responses (or, while the database is away, the spool)."""
    with engine.connect() as connection:
        rows = connection.execute(select(RawResponse.payload, RawResponse.body_text)).all()
    kept = [json.loads(payload) if payload else text for payload, text in rows]
    kept += [page.data or page.text for _, item in spool.items() for page in item.pages]
    for served in simulator.served:
        try:
            expected: Any = json.loads(served)
        except ValueError:
            expected = served
        assert expected in kept, "a page that was received is neither in raw_responses nor in the spool"


@pytest.mark.parametrize("fault", list(FAULTS))
def test_api_faults(fault: str, engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    faults, expected = FAULTS[fault]
    for spec in faults:
        simulator.inject(api_id="kt00005", **spec)
    settings = make_settings(
        sim_url,
        engine.url.render_as_string(hide_password=False),
        tmp_path / "state",
        sim_accounts(simulator),
        http_timeout=0.5,
    )
    snapshotter = Snapshotter(settings, engine)
    try:
        results = snapshotter.take()
    finally:
        snapshotter.close()
    first = results[0]
    assert (first.exchange, first.status) == ("KRX", expected), first.error
    assert all(r.ok for r in results[1:])  # the other snapshots are untouched by the fault
    assert assert_nothing_partial(engine) == sum(r.ok for r in results)
    assert_nothing_lost(engine, simulator, snapshotter.spool)


def test_database_unreachable_then_back(engine: Engine, sim_url: str, simulator: Simulator, tmp_path: Path) -> None:
    down_url = "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"
    settings = make_settings(sim_url, down_url, tmp_path / "state", sim_accounts(simulator))
    down = make_engine(down_url)
    snapshotter = Snapshotter(settings, down)
    try:
        results = snapshotter.take()
    finally:
        snapshotter.close()
        down.dispose()
    assert {r.status for r in results} == {"spooled"} and len(results) == 4
    spool = Spool(tmp_path / "state")
    assert_nothing_lost(engine, simulator, spool)  # all of it in the spool
    report = flush(engine, spool, into_this_database=True)  # spooled for the database that was away
    assert (report.loaded, report.left) == (4, 0) and spool.paths() == []
    assert assert_nothing_partial(engine) == 4
    assert_nothing_lost(engine, simulator, spool)  # all of it in the tables
