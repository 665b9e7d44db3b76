"""The simulator's own guarantees: faults it cannot apply are refused, its request log is bounded while its counts
stay exact, and only loopback clients (or holders of the fault token) may inject faults."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
import requests

from etl.sim.accounts import make_account
from etl.sim.faults import FAULT_KINDS, Fault
from etl.sim.simulator import Simulator, serve


def _simulator(**options: object) -> Simulator:
    values: dict[str, object] = {"accounts": [make_account(1, 4)], "page_size": 3, "rate_per_second": 1000}
    return Simulator(**(values | {"burst": 1000} | options))  # type: ignore[arg-type]


def test_every_known_kind_is_documented_in_fault() -> None:
    for kind in FAULT_KINDS:
        assert kind in (Fault.__doc__ or ""), f"{kind} is handled but not documented"


def test_the_simulate_command_documents_the_fault_token() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "etl", "simulate", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "--fault-token" in shown and "X-Sim-Token" in shown and "loopback" in shown


@pytest.mark.parametrize("kind", sorted(FAULT_KINDS))
def test_every_known_kind_is_accepted(kind: str) -> None:
    simulator = _simulator()
    simulator.inject(kind, api_id="kt00005")
    assert [fault.kind for fault in simulator.faults] == [kind]


def test_an_unknown_kind_is_refused_with_the_known_ones() -> None:
    simulator = _simulator()
    with pytest.raises(ValueError) as caught:
        simulator.inject("http_5O3")
    message = str(caught.value)
    assert "'http_5O3'" in message
    assert all(kind in message for kind in FAULT_KINDS)
    assert not simulator.faults


def test_an_unknown_option_is_refused() -> None:
    simulator = _simulator()
    with pytest.raises(ValueError) as caught:
        simulator.inject("delay", secs=3)
    assert "secs" in str(caught.value) and "seconds" in str(caught.value)
    assert not simulator.faults


def test_an_unknown_kind_over_http_is_answered_400_and_nothing_is_queued() -> None:
    simulator = _simulator()
    with serve(simulator) as url:
        faults = [{"kind": "http_500"}, {"kind": "http_5O3"}]
        answer = requests.post(f"{url}/_sim/faults", data=json.dumps(faults), timeout=5)
        assert answer.status_code == 400
        assert "http_5O3" in answer.json()["error"] and "http_503" in answer.json()["error"]
        unknown_option = requests.post(f"{url}/_sim/faults", data=json.dumps({"kind": "drop", "times": 2}), timeout=5)
        assert unknown_option.status_code == 400 and "times" in unknown_option.json()["error"]
    assert not simulator.faults


def _request(url: str, api_id: str) -> None:
    requests.post(f"{url}/api/dostk/acnt", headers={"api-id": api_id}, data="{}", timeout=5)


def test_the_request_log_is_bounded_but_the_counts_stay_exact() -> None:
    simulator = _simulator(log_limit=5)
    with serve(simulator) as url:
        for _ in range(8):
            _request(url, "kt00005")
        for _ in range(3):
            _request(url, "ka00001")
    assert len(simulator.requests) == 5
    assert [entry["api_id"] for entry in simulator.requests] == ["kt00005"] * 2 + ["ka00001"] * 3  # the latest
    assert simulator.count("kt00005") == 8 and simulator.count("ka00001") == 3 and simulator.count("au10001") == 0


def test_the_served_pages_are_bounded_too() -> None:
    simulator = _simulator(log_limit=2)
    token = json.loads(
        simulator.handle(
            "/oauth2/token",
            {"api-id": "au10001"},
            {"grant_type": "client_credentials", "appkey": "sim-appkey-1", "secretkey": "sim-secretkey-1"},
        )[2]
        or "{}"
    )["token"]
    headers = {"api-id": "kt00005", "authorization": f"Bearer {token}"}
    answers = [simulator.handle("/api/dostk/acnt", headers, {"dmst_stex_tp": "KRX"})[2] for _ in range(3)]
    assert list(simulator.served) == answers[1:]
    assert simulator.count("kt00005") == 3


def _inject(url: str, token: str | None) -> int:
    headers = {} if token is None else {"X-Sim-Token": token}
    body = json.dumps([{"kind": "http_500"}])
    return requests.post(f"{url}/_sim/faults", data=body, headers=headers, timeout=5).status_code


def test_without_a_token_loopback_clients_may_inject_faults() -> None:
    simulator = _simulator()
    with serve(simulator) as url:
        assert _inject(url, None) == 200
    assert len(simulator.faults) == 1


@pytest.mark.parametrize(("sent", "status"), [("s3cret", 200), (None, 403), ("wrong", 403), ("", 403)])
def test_with_a_token_the_header_must_carry_it(sent: str | None, status: int) -> None:
    simulator = _simulator(fault_token="s3cret")
    with serve(simulator) as url:
        assert _inject(url, sent) == status
    assert len(simulator.faults) == (1 if status == 200 else 0)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.0.1", "::1"])
def test_loopback_addresses_are_allowed_without_a_token(host: str) -> None:
    assert _simulator().may_inject(host, None)


@pytest.mark.parametrize("host", ["192.168.1.20", "10.0.0.5", "2001:db8::1", "0.0.0.0", "not-an-address"])
def test_other_addresses_are_refused_without_a_token(host: str) -> None:
    simulator = _simulator()
    assert not simulator.may_inject(host, None)
    assert not simulator.may_inject(host, "anything")


def test_with_a_token_any_address_may_inject_with_it() -> None:
    simulator = _simulator(fault_token="s3cret")
    assert simulator.may_inject("192.168.1.20", "s3cret")
    assert not simulator.may_inject("127.0.0.1", None)


def test_a_held_request_waits_for_release_and_is_then_answered() -> None:
    simulator = _simulator()
    simulator.inject("hold", api_id="ka00001")
    answers: list[int] = []
    with serve(simulator) as url:
        worker = threading.Thread(
            target=lambda: answers.append(
                requests.post(f"{url}/api/dostk/acnt", headers={"api-id": "ka00001"}, data="{}", timeout=30).status_code
            )
        )
        worker.start()
        while simulator.count("ka00001") == 0:  # arrived, and held
            worker.join(0.01)
        assert answers == []
        simulator.release()
        worker.join()
    assert answers == [200]


def _balance(simulator: Simulator, exchange: str = "KRX") -> dict[str, object]:
    """One whole kt00005 answer (summary and every line), asked in process."""
    account = simulator.accounts[0]
    _, _, issued = simulator.handle(
        "/oauth2/token",
        {"api-id": "au10001"},
        {"grant_type": "client_credentials", "appkey": account.appkey, "secretkey": account.secretkey},
    )
    headers = {"api-id": "kt00005", "authorization": f"Bearer {json.loads(issued or '')['token']}"}
    _, answer_headers, text = simulator.handle("/api/dostk/acnt", headers, {"dmst_stex_tp": exchange})
    answer = json.loads(text or "")
    while answer_headers.get("cont-yn") == "Y":
        more = headers | {"cont-yn": "Y", "next-key": answer_headers["next-key"]}
        _, answer_headers, text = simulator.handle("/api/dostk/acnt", more, {"dmst_stex_tp": exchange})
        answer["stk_cntr_remn"] += json.loads(text or "")["stk_cntr_remn"]
    return answer


def test_without_moves_prices_change_only_with_set_accounts() -> None:
    simulator = _simulator(moves=False)
    first, second = _balance(simulator), _balance(simulator)
    assert first["stk_cntr_remn"] == second["stk_cntr_remn"]
    moved = make_account(1, 4)
    moved.holdings["KRX"][1].price += 1000
    simulator.set_accounts([moved])
    third = _balance(simulator)  # the token issued before still works: same app key
    assert third["stk_cntr_remn"] != first["stk_cntr_remn"]
    assert third["stk_cntr_remn"][1]["cur_prc"] == f"{moved.holdings['KRX'][1].price:012d}"  # type: ignore[index]


def test_the_summary_carries_the_cash_and_the_credit_loans_given() -> None:
    account = make_account(1, 4)
    account.deposit, account.deposit_d1, account.deposit_d2 = 5_000_000, 4_000_000, 3_000_000
    account.holdings["KRX"][1].credit_type, account.holdings["KRX"][1].loan = "03", 1_234_000
    answer = _balance(_simulator(moves=False, accounts=[account]))
    assert (answer["entr"], answer["entr_d1"], answer["entr_d2"]) == ("000005000000", "000004000000", "000003000000")
    assert answer["crd_loan_tot"] == "000001234000"
    lines = answer["stk_cntr_remn"]
    assert int(str(answer["evlt_amt_tot"])) == sum(int(line["evlt_amt"]) for line in lines)  # type: ignore[attr-defined]
    assert answer["crd_grnt_rt"] != "0.00" and _balance(_simulator())["crd_loan_tot"] == "000000000000"


def test_latency_delays_every_answer_and_requests_wait_side_by_side() -> None:
    simulator = _simulator(latency=1.0)
    answers: list[tuple[int, float, float]] = []  # status, when sent, when answered
    with serve(simulator) as url:

        def ask() -> None:
            sent = time.monotonic()
            status = requests.post(f"{url}/api/dostk/acnt", headers={"api-id": "ka00001"}, data="{}", timeout=30)
            answers.append((status.status_code, sent, time.monotonic()))

        workers = [threading.Thread(target=ask) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert [status for status, _, _ in answers] == [200] * 4  # answered as usual (an unauthorised ka00001)
    assert all(answered - sent >= 1.0 for _, sent, answered in answers)  # a lower bound, not a speed requirement
    # The server takes each request in while the others wait out their latency: all four arrived before any answer.
    assert max(r["at"] for r in simulator.requests) < min(answered for _, _, answered in answers)


def test_the_simulate_command_takes_a_latency() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "etl", "simulate", "--help"], capture_output=True, text=True, check=True
    )
    assert "--latency" in result.stdout
