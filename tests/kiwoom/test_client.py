"""The Kiwoom client against the simulator on loopback: tokens, continuation, pacing and every error class."""

from __future__ import annotations

import json
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from etl.errors import (
    ApiError,
    ApiServerError,
    ApiUnreachable,
    BadResponse,
    CredentialsRejected,
    RateLimited,
    RequestRejected,
    TokenRejected,
    TransientApiError,
)
from etl.kiwoom.client import KiwoomClient, new_session
from etl.kiwoom.endpoints import BALANCE
from etl.kiwoom.pacing import SAFETY_MARGIN, Pacer
from etl.kiwoom.retry import RetryPolicy
from etl.kiwoom.tokens import Token, TokenCache, parse_expires_dt
from etl.settings import Account, Secret, Settings
from etl.sim.simulator import Simulator, serve
from tests.support import make_settings, sim_accounts


class Recorder:
    """A sleep that only remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def settings(sim_url: str, simulator: Simulator, tmp_path: Path) -> Settings:
    return make_settings(sim_url, "sqlite://", tmp_path / "state", sim_accounts(simulator))


def client_for(
    settings: Settings,
    account: Account | None = None,
    *,
    sleep: Recorder | None = None,
    attempts: int = 4,
    pacer: Pacer | None = None,
) -> KiwoomClient:
    retry = RetryPolicy(attempts=attempts, backoff=0.01, max_wait=30.0, sleep=sleep or Recorder())
    return KiwoomClient(
        settings,
        account or settings.accounts[0],
        session=new_session(),
        pacer=pacer or Pacer(settings.rate_per_second, settings.rate_burst),
        tokens=TokenCache(settings.state_dir),
        retry=retry,
    )


def test_account_number_and_all_pages(settings: Settings, simulator: Simulator) -> None:
    client = client_for(settings)
    number, _ = client.account_number()
    assert number == simulator.accounts[0].acct_no
    pages = list(client.pages(BALANCE, exchange="KRX"))
    assert len(pages) == 3  # 7 positions, 3 a page
    assert [p.cont_yn for p in pages] == ["Y", "Y", "N"]
    lines = [line for p in pages for line in (p.data or {})["stk_cntr_remn"]]
    assert len(lines) == 7
    sent = [r for r in simulator.requests if r["api_id"] == "kt00005"]
    assert [r["next-key"] for r in sent] == [None, pages[0].next_key, pages[1].next_key]
    assert all(r["authorized"] for r in sent)


def test_token_is_cached_in_a_private_file_and_reused(settings: Settings, simulator: Simulator) -> None:
    client_for(settings).account_number()
    client_for(settings).account_number()  # a second client, as a second process would
    assert simulator.count("au10001") == 1
    files = list((settings.state_dir / "tokens").glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((settings.state_dir / "tokens").stat().st_mode) == 0o700
    content = files[0].read_text()
    assert (
        settings.accounts[0].appkey.reveal() not in content and settings.accounts[0].secretkey.reveal() not in content
    )


def test_token_near_its_expiry_is_replaced(settings: Settings, simulator: Simulator) -> None:
    simulator.token_lifetime = timedelta(minutes=3)  # inside the 5-minute refresh margin
    client_for(settings).account_number()
    client_for(settings).account_number()
    assert simulator.count("au10001") == 2


def test_expires_dt_is_korean_time() -> None:
    assert parse_expires_dt("20241107083713") == datetime(2024, 11, 6, 23, 37, 13, tzinfo=UTC)
    for bad in ("2024-11-07T08:37:13", "20241307083713", "", None, "2024110708371"):
        with pytest.raises(BadResponse, match="expires_dt"):
            parse_expires_dt(bad)


def test_a_revoked_token_mid_pagination_is_reissued_once(settings: Settings, simulator: Simulator) -> None:
    client = client_for(settings)
    client.account_number()
    simulator.inject("revoke_token", api_id="kt00005", after=1)
    pages = list(client.pages(BALANCE, exchange="KRX"))
    assert len(pages) == 3 and simulator.count("au10001") == 2
    continued = [r["next-key"] for r in simulator.requests if r["api_id"] == "kt00005"]
    assert continued == [None, pages[0].next_key, pages[0].next_key, pages[1].next_key]  # page 2 asked again


def test_a_token_rejected_twice_fails(settings: Settings, simulator: Simulator) -> None:
    client = client_for(settings)
    client.account_number()
    simulator.inject("revoke_token", api_id="kt00005", count=2)
    with pytest.raises(TokenRejected) as caught:
        list(client.pages(BALANCE, exchange="KRX"))
    assert caught.value.return_code == 3 and caught.value.reason == "8005"


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("http_500", ApiServerError),
        ("http_503", ApiServerError),
        ("drop", ApiUnreachable),
        ("rate_limit", RateLimited),
        ("rate_limit_200", RateLimited),
        ("server_error", ApiServerError),
    ],
)
def test_transient_failures_are_retried_with_growing_backoff(
    settings: Settings, simulator: Simulator, kind: str, error: type[TransientApiError]
) -> None:
    sleep = Recorder()
    client = client_for(settings, sleep=sleep)
    client.account_number()
    simulator.inject(kind, api_id="kt00005", count=2)
    assert len(list(client.pages(BALANCE, exchange="KRX"))) == 3
    assert len(sleep.waits) == 2 and sleep.waits[1] > sleep.waits[0]
    simulator.inject(kind, api_id="kt00005", count=4)
    with pytest.raises(error):
        list(client.pages(BALANCE, exchange="KRX"))


def test_retry_after_is_honoured(settings: Settings, simulator: Simulator) -> None:
    simulator.retry_after = "3"
    sleep = Recorder()
    client = client_for(settings, sleep=sleep)
    simulator.inject("rate_limit", api_id="ka00001")
    client.account_number()
    assert sleep.waits == [3.0]


def test_a_timeout_is_retried(settings: Settings, simulator: Simulator) -> None:
    fast = settings.with_overrides(http_timeout=0.2)
    sleep = Recorder()
    client = client_for(fast, sleep=sleep)
    simulator.inject("delay", api_id="ka00001", seconds=1.0)
    client.account_number()
    assert len(sleep.waits) == 1 and simulator.count("ka00001") == 2


def test_a_server_that_is_not_there_is_unreachable(tmp_path: Path, simulator: Simulator) -> None:
    settings = make_settings("http://127.0.0.1:9", "sqlite://", tmp_path, sim_accounts(simulator))
    sleep = Recorder()
    with pytest.raises(ApiUnreachable, match="127.0.0.1:9"):
        client_for(settings, sleep=sleep, attempts=2).account_number()
    assert len(sleep.waits) == 1


def test_input_errors_are_not_retried(settings: Settings, simulator: Simulator) -> None:
    sleep = Recorder()
    client = client_for(settings, sleep=sleep)
    client.account_number()
    simulator.inject("input_error", api_id="kt00005")
    with pytest.raises(RequestRejected) as caught:
        list(client.pages(BALANCE, exchange="KRX"))
    assert caught.value.reason == "1517" and sleep.waits == []
    assert simulator.count("kt00005") == 1


@pytest.mark.parametrize(("appkey", "secret", "reason"), [("nope", "x", "8001"), ("sim-appkey-1", "wrong", "8002")])
def test_wrong_keys_are_not_retried_and_not_shown(
    settings: Settings, simulator: Simulator, appkey: str, secret: str, reason: str
) -> None:
    sleep = Recorder()
    client = client_for(settings, Account(Secret(appkey), Secret(secret)), sleep=sleep)
    with pytest.raises(CredentialsRejected) as caught:
        client.account_number()
    assert caught.value.reason == reason and sleep.waits == [] and simulator.count("au10001") == 1
    assert secret not in str(caught.value) and appkey not in str(caught.value)


def test_broken_json_is_a_bad_response_that_keeps_the_page(settings: Settings, simulator: Simulator) -> None:
    client = client_for(settings)
    simulator.inject("broken_json", api_id="kt00005")
    with pytest.raises(BadResponse) as caught:
        list(client.pages(BALANCE, exchange="KRX"))
    assert caught.value.page is not None and caught.value.page.text.startswith('{"entr"')


def test_a_repeating_next_key_fails_loudly(settings: Settings, simulator: Simulator) -> None:
    client = client_for(settings)
    simulator.inject("loop_next_key", api_id="kt00005", count=5)
    with pytest.raises(BadResponse, match="repeats"):
        list(client.pages(BALANCE, exchange="KRX"))


def test_more_pages_than_the_cap_fails_loudly(settings: Settings) -> None:
    with pytest.raises(BadResponse, match="more than 2 pages"):
        list(client_for(settings.with_overrides(page_cap=2)).pages(BALANCE, exchange="KRX"))


def test_revoke_token(settings: Settings, simulator: Simulator) -> None:
    client = client_for(settings)
    client.account_number()
    assert client.revoke_token() is True
    assert simulator.tokens == {} and not list((settings.state_dir / "tokens").glob("*.json"))
    assert client.revoke_token() is False


def _paged_run(
    simulator: Simulator, tmp_path: Path, *, attempts: int, readings: list[float] | None = None
) -> list[float]:
    settings = make_settings("", "sqlite://", tmp_path, sim_accounts(simulator), rate_per_second=4.0, rate_burst=2)

    def clock() -> float:  # the real clock, its readings kept: the moments the pacer reasons from
        now = time.monotonic()
        if readings is not None:
            readings.append(now)
        return now

    with serve(simulator) as url:
        pacer = Pacer(settings.rate_per_second, settings.rate_burst, clock=clock)
        client = client_for(settings.with_overrides(base_url=url), attempts=attempts, pacer=pacer)
        client.account_number()
        for _ in range(2):
            assert len(list(client.pages(BALANCE, exchange="KRX"))) == 3
    return [r["at"] for r in simulator.requests if r["api_id"] == "kt00005"]


def test_requests_are_paced_before_the_server_complains(tmp_path: Path, simulator: Simulator) -> None:
    # The client sends 4 a second with bursts of 2; a server that allows that (and jitter up to two turns: a busy
    # machine delays one arrival more than the next) never says 429, and a single 429 would fail this test: no
    # retries. A client that did not pace would send all six at once, and the fifth would meet a 429.
    simulator.rate_per_second, simulator.burst = 4.0, 4
    readings: list[float] = []
    times = _paged_run(simulator, tmp_path, attempts=1, readings=readings)
    assert len(times) == 6
    # Beyond the burst of 2, the sixth request cannot leave before (6 - 2) turns after the pacer's first reading;
    # it arrives later still. Measured from the pacer's own first reading (not the first arrival, which a busy
    # machine may delay), this is a lower bound no slowness can break.
    turn = 1 / (4.0 * (1 - SAFETY_MARGIN))
    assert times[-1] - readings[0] >= (6 - 2) * turn * (1 - 1e-9)


def test_a_stricter_server_is_met_by_backing_off(tmp_path: Path, simulator: Simulator) -> None:
    simulator.rate_per_second, simulator.burst = 4.0, 1  # no burst at all
    times = _paged_run(simulator, tmp_path, attempts=4)
    assert len(times) >= 6  # every page arrived, whatever 429s were met on the way


def test_pacer_spaces_requests_with_a_controlled_clock() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = Pacer(rate=1.0, burst=2, clock=lambda: now[0], sleep=sleep)
    turn = pytest.approx(1 / 0.95)  # a turn is 5 % longer than 1/rate: the margin against network jitter
    assert [pacer.wait(("k", "kt00005")) for _ in range(4)] == [0.0, 0.0, turn, turn]
    assert pacer.wait(("k", "ka00001")) == 0.0  # another api-id has its own bucket
    now[0] += 10
    assert pacer.wait(("k", "kt00005")) == 0.0
    pacer.drain(("k", "kt00005"))
    assert pacer.wait(("k", "kt00005")) == turn  # after a 429 the next request waits a full turn


def test_fault_injection_over_http(sim_url: str, simulator: Simulator) -> None:
    import requests

    answer = requests.post(f"{sim_url}/_sim/faults", data=json.dumps([{"kind": "http_500", "count": 2}]), timeout=5)
    assert answer.json() == {"queued": 1} and simulator.faults[0].count == 2


def test_repr_shows_no_secret(settings: Settings) -> None:
    client = client_for(settings)
    token = client.token()
    texts = [repr(client), repr(settings), str(settings.accounts[0].appkey), repr(token)]
    for text in texts:
        assert token.value not in text
        assert settings.accounts[0].appkey.reveal() not in text
        assert settings.accounts[0].secretkey.reveal() not in text


def test_a_token_from_another_ip_is_replaced(settings: Settings, simulator: Simulator) -> None:
    client = client_for(settings)
    client.account_number()
    simulator.inject("token_other_ip", api_id="kt00005")
    assert len(list(client.pages(BALANCE, exchange="KRX"))) == 3
    assert simulator.count("au10001") == 2


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:99999", "http://[::1"])
def test_a_request_that_cannot_be_made_is_not_retried(tmp_path: Path, simulator: Simulator, base_url: str) -> None:
    settings = make_settings(base_url, "sqlite://", tmp_path, sim_accounts(simulator))
    sleep = Recorder()
    with pytest.raises(ApiError) as caught:
        client_for(settings, sleep=sleep).account_number()
    assert not isinstance(caught.value, TransientApiError) and sleep.waits == []


def test_a_long_retry_after_is_capped_at_the_maximum_wait() -> None:
    policy = RetryPolicy(backoff=0.5, max_wait=60.0)
    assert policy.delay(1, 3600.0) == 60.0
    assert policy.delay(1, 7.0) == 7.0


def test_a_token_in_the_base_urls_query_is_never_shown(tmp_path: Path, simulator: Simulator) -> None:
    # (A base URL with user:password@ is refused by the settings: Kiwoom authenticates with a token.)
    settings = make_settings("http://127.0.0.1:9?access_token=hunter2", "sqlite://", tmp_path, sim_accounts(simulator))
    client = client_for(settings, attempts=1)
    with pytest.raises(ApiUnreachable) as caught:
        client.account_number()
    shown = str(caught.value) + repr(client) + repr(settings)
    assert "127.0.0.1:9?access_token=***" in str(caught.value) and "hunter2" not in shown


@pytest.mark.parametrize(
    "cached",
    [
        {"token": "t", "expires_at": "2099-01-01T00:00:00"},  # no UTC offset: a guess, not a time
        {"token": 5, "expires_at": "2099-01-01T00:00:00+00:00"},
        {"token": "t", "expires_at": 5},
        [1, 2],
    ],
)
def test_a_token_cache_file_edited_into_another_shape_is_not_a_token(
    settings: Settings, tmp_path: Path, cached: object
) -> None:
    cache = TokenCache(tmp_path / "state")
    cache.save("k", Token(value="t", expires_at=datetime(2099, 1, 1, tzinfo=UTC)))
    next((tmp_path / "state" / "tokens").glob("k*.json")).write_text(json.dumps(cached))
    assert cache.load("k") is None  # was: a naive expiry, and every call's comparison with now raised TypeError
