"""The simulator's tokens: au10001 issues one only for a known key pair, au10002 revokes it only for its owner, and a
bearer token names its account until it expires."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from etl.sim.accounts import make_account
from etl.sim.tokens import Tokens

ACCOUNTS = [make_account(1, 1), make_account(2, 1)]


def _keys(index: int) -> dict[str, str]:
    return {"grant_type": "client_credentials", "appkey": f"sim-appkey-{index}", "secretkey": f"sim-secretkey-{index}"}


def _issue(tokens: Tokens, index: int, lifetime: timedelta = timedelta(hours=1)) -> str:
    status, _, text = tokens.issue(ACCOUNTS, _keys(index), lifetime)
    answer = json.loads(text)
    assert status == 200 and answer["return_code"] == 0
    return str(answer["token"])


def _tokens() -> Tokens:
    return Tokens({}, [], threading.Lock())


def test_a_token_names_the_account_it_was_issued_to() -> None:
    tokens = _tokens()
    first, second = _issue(tokens, 1), _issue(tokens, 2)
    assert tokens.bearer(ACCOUNTS, f"Bearer {first}") is ACCOUNTS[0]
    assert tokens.bearer(ACCOUNTS, f"Bearer {second}") is ACCOUNTS[1]
    assert tokens.issued == [first, second]
    assert tokens.bearer(ACCOUNTS, first) is None  # without the Bearer scheme
    assert tokens.bearer(ACCOUNTS, "Bearer made-up") is None


def test_an_expired_token_names_no_one() -> None:
    tokens = _tokens()
    token = _issue(tokens, 1, lifetime=timedelta(seconds=-1))
    assert tokens.bearer(ACCOUNTS, f"Bearer {token}") is None


def test_unknown_keys_get_no_token() -> None:
    tokens = _tokens()
    _, _, unknown = tokens.issue(ACCOUNTS, _keys(3), timedelta(hours=1))
    _, _, wrong = tokens.issue(ACCOUNTS, _keys(1) | {"secretkey": "sim-secretkey-2"}, timedelta(hours=1))
    _, _, grant = tokens.issue(ACCOUNTS, _keys(1) | {"grant_type": "password"}, timedelta(hours=1))
    assert "[8001:" in json.loads(unknown)["return_msg"]
    assert "[8002:" in json.loads(wrong)["return_msg"] and "[8002:" in json.loads(grant)["return_msg"]
    assert tokens.live == {} and tokens.issued == []


def test_only_the_owner_may_revoke_a_token() -> None:
    tokens = _tokens()
    token = _issue(tokens, 1)
    _, _, refused = tokens.revoke({"appkey": "sim-appkey-2", "token": token})
    assert json.loads(refused)["return_code"] == 3 and tokens.bearer(ACCOUNTS, f"Bearer {token}") is ACCOUNTS[0]
    _, _, revoked = tokens.revoke({"appkey": "sim-appkey-1", "token": token})
    assert json.loads(revoked)["return_code"] == 0 and tokens.bearer(ACCOUNTS, f"Bearer {token}") is None


def test_revoke_all_ends_every_token_but_keeps_the_record_of_issues() -> None:
    tokens = _tokens()
    issued = [_issue(tokens, 1), _issue(tokens, 2)]
    tokens.revoke_all()
    assert all(tokens.bearer(ACCOUNTS, f"Bearer {token}") is None for token in issued)
    assert tokens.issued == issued
