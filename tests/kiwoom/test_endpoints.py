"""Endpoints as the generic client reads them: a list key makes an endpoint follow continuation, a flat one is asked
once, and a "no data" answer is an empty page only where the endpoint says so."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from etl.apis.ledger import LEDGER
from etl.errors import RequestRejected
from etl.kiwoom.client import KiwoomClient, new_session
from etl.kiwoom.endpoints import ACCOUNT_NUMBER, BALANCE, Endpoint
from etl.kiwoom.pacing import Pacer
from etl.kiwoom.retry import RetryPolicy
from etl.kiwoom.tokens import TokenCache
from etl.settings import Settings
from etl.sim.simulator import Simulator
from tests.support import make_settings, sim_accounts


@pytest.fixture
def settings(sim_url: str, simulator: Simulator, tmp_path: Path) -> Settings:
    return make_settings(sim_url, "sqlite://", tmp_path / "state", sim_accounts(simulator))


def _client(settings: Settings) -> KiwoomClient:
    return KiwoomClient(
        settings,
        settings.accounts[0],
        session=new_session(),
        pacer=Pacer(settings.rate_per_second, settings.rate_burst),
        tokens=TokenCache(settings.state_dir),
        retry=RetryPolicy(attempts=2, backoff=0.01, max_wait=1.0, sleep=lambda seconds: None),
    )


@pytest.mark.parametrize(
    ("endpoint", "paged"),
    [(BALANCE, True), (ACCOUNT_NUMBER, False), (Endpoint("kt00017"), False), (Endpoint("x", list_key="items"), True)],
)
def test_an_endpoint_pages_when_its_answer_holds_a_list(endpoint: Endpoint, paged: bool) -> None:
    assert endpoint.paged is paged


def test_the_body_is_built_from_the_call_parameters() -> None:
    assert Endpoint("kt00017").body() == {}
    assert BALANCE.body(exchange="NXT") == {"dmst_stex_tp": "NXT"}


def test_a_list_endpoint_follows_continuation_and_a_flat_one_is_asked_once(
    settings: Settings, simulator: Simulator
) -> None:
    client = _client(settings)
    assert len(list(client.pages(BALANCE, exchange="KRX"))) == 3  # 7 positions, 3 a page
    before = simulator.count("kt00017")
    (page,) = client.pages(Endpoint("kt00017"))
    assert page.api_id == "kt00017" and page.data is not None and "d2_entra" in page.data
    assert simulator.count("kt00017") == before + 1


def test_no_data_is_an_empty_page_only_where_the_endpoint_says_so(settings: Settings, simulator: Simulator) -> None:
    simulator.empty_ledger_form = "error"  # "[2000](501724:관련자료가없습니다)" rather than an empty list
    client = _client(settings)
    ledger = LEDGER.endpoint
    assert ledger.no_data_is_empty
    (page,) = client.pages(ledger, start=date(2020, 1, 1), end=date(2020, 1, 31))
    assert page.data is not None and page.data["return_code"] != 0
    strict = replace(ledger, no_data_is_empty=False)
    with pytest.raises(RequestRejected):
        list(client.pages(strict, start=date(2020, 1, 1), end=date(2020, 1, 31)))
