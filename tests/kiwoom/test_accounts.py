"""The name of an app key where the key must not be: a digest, the same wherever it is used."""

from __future__ import annotations

import hashlib

import pytest

from etl.errors import ConfigError
from etl.kiwoom.accounts import app_key_id
from etl.settings import Secret


def test_an_app_key_is_named_by_the_first_16_hex_digits_of_its_sha256() -> None:
    appkey = "PSxk3nQm9vTzR8yWfL2aBcDe"
    named = app_key_id(Secret(appkey))
    assert named == hashlib.sha256(appkey.encode()).hexdigest()[:16]
    assert named == app_key_id(Secret(appkey)) != app_key_id(Secret(appkey + "x"))
    assert appkey not in named and appkey.lower() not in named


def test_a_missing_app_key_has_no_name() -> None:
    with pytest.raises(ConfigError, match="KIWOOM_APPKEY is not set"):
        app_key_id(Secret.unset("KIWOOM_APPKEY is not set"))
