"""Settings from the environment and the TOML file: precedence, accounts, clear errors, no secret shown."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from etl.clock import Window
from etl.errors import ConfigError
from etl.settings import MOCK_BASE_URL, REAL_BASE_URL, Secret, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiwoom-etl.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.base_url == REAL_BASE_URL
    assert settings.database_url == f"sqlite:///{tmp_path / 'kiwoom_etl.db'}"
    assert settings.state_dir == Path("~/.local/state/kiwoom-etl").expanduser()
    assert settings.http_timeout == 10.0 and settings.accounts == ()
    assert (settings.rate_per_second, settings.rate_burst) == (1.0, 2)


def test_environment_account_and_mock(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "KIWOOM_APPKEY": "k",
            "KIWOOM_SECRETKEY": "s",
            "KIWOOM_ENV": "mock",
            "KIWOOM_ETL_STATE_DIR": str(tmp_path),
            "KIWOOM_ETL_HTTP_TIMEOUT": "2.5",
        }
    )
    assert settings.base_url == MOCK_BASE_URL and settings.state_dir == tmp_path and settings.http_timeout == 2.5
    (account,) = settings.accounts
    assert account.appkey == Secret("k") and account.exchanges == ("KRX",)  # mock trading is KRX only


def test_postgres_urls_get_the_psycopg_driver() -> None:
    settings = load_settings(environ={"KIWOOM_ETL_DATABASE_URL": "postgres://u:pw@db/history"})
    assert settings.database_url == "postgresql+psycopg://u:pw@db/history"
    assert settings.safe_database_url == "postgresql+psycopg://u:***@db/history"


def test_config_file_accounts_with_env_references(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
base_url = "http://127.0.0.1:8080/"
database_url = "sqlite:///from-file.db"
rate_per_second = 0.5

[[accounts]]
name = "isa"
appkey = "env:ISA_KEY"
secretkey = "env:ISA_SECRET"
exchanges = ["krx"]

[[accounts]]
appkey = "plain-key"
secretkey = "plain-secret"
""",
    )
    settings = load_settings(
        path, environ={"ISA_KEY": "k1", "ISA_SECRET": "s1", "KIWOOM_ETL_DATABASE_URL": "sqlite:///from-env.db"}
    )
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.database_url == "sqlite:///from-env.db"  # the environment wins over the file
    assert settings.rate_per_second == 0.5
    first, second = settings.accounts
    assert (first.name, first.appkey.reveal(), first.secretkey.reveal(), first.exchanges) == (
        "isa",
        "k1",
        "s1",
        ("KRX",),
    )
    assert (second.name, second.exchanges) == (None, ("KRX", "NXT"))


def test_the_config_file_can_come_from_the_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "http_timeout = 3\n")
    assert load_settings(environ={"KIWOOM_ETL_CONFIG": str(path)}).http_timeout == 3.0


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[[accounts]]\nappkey = 'k'\n", {}, "accounts[0].secretkey: missing"),
        ("[[accounts]]\nappkey = 'env:NOPE'\nsecretkey = 's'\n", {}, "environment variable NOPE is not set"),
        ("[[accounts]]\nappkey = 'k'\nsecretkey = 's'\nexchanges = ['KOSDAQ']\n", {}, "unknown exchange 'KOSDAQ'"),
        ("[[accounts]]\nappkey = 'k'\nsecretkey = 's'\nexchanges = []\n", {}, "accounts[0].exchanges: expected"),
        ("[[accounts]]\nappkey = 'k'\nsecretkey = 's'\nsecret = 'typo'\n", {}, "unknown key(s) secret"),
        (
            "[[accounts]]\nname='a'\nappkey='k'\nsecretkey='s'\n[[accounts]]\nname='a'\nappkey='k'\nsecretkey='s'\n",
            {},
            "'a' is used twice",
        ),
        (
            "[[accounts]]\nappkey = 'k'\nsecretkey = 's'\nexchanges = ['NXT']\n",
            {"KIWOOM_ENV": "mock"},
            "supports KRX only",
        ),
        ("accounts = 3\n", {}, "accounts must be a non-empty list"),
        ("rate_burst = 0\n", {}, "rate_burst: must be at least 1"),
        ("http_timeout = true\n", {}, "http_timeout: expected a float"),
        ("http_timeout = nan\n", {}, "http_timeout: must be at least"),
        ("rate_per_second = inf\n", {}, "rate_per_second: must be at least"),
        ("databse_url = 'sqlite://'\n", {}, "unknown setting(s) databse_url"),
        ("exchanges = ['KOSDAQ']\n", {}, "unknown setting(s) exchanges"),
        ("this is not toml", {}, "is not valid TOML"),
        ("database_mode = '0644'\n", {}, 'database_mode: expected "0600" or "0640", got \'0644\''),
        ("database_mode = 0o600\n", {}, 'database_mode: expected "0600" or "0640", got 384'),
        ("", {"KIWOOM_ETL_DATABASE_MODE": "0666"}, "KIWOOM_ETL_DATABASE_MODE: expected"),
    ],
)
def test_bad_config_files_name_the_setting(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ=env)
    assert message in str(caught.value)


def test_secrets_do_not_show() -> None:
    settings = load_settings(
        environ={
            "KIWOOM_APPKEY": "APPKEY-VALUE",
            "KIWOOM_SECRETKEY": "SECRET-VALUE",
            "KIWOOM_ETL_DATABASE_URL": "postgresql://kiwoom:hunter2@db/history",
            "KIWOOM_BASE_URL": "https://proxy:pw-123@proxy.example",
        }
    )
    shown = repr(settings) + str(settings.accounts[0].appkey) + f"{settings.accounts[0]}"
    for secret in ("APPKEY-VALUE", "SECRET-VALUE", "hunter2", "pw-123"):
        assert secret not in shown
    assert "postgresql+psycopg://kiwoom:***@db/history" in repr(settings)


def test_accounts_without_a_name_are_labelled_by_where_they_were_configured(tmp_path: Path) -> None:
    path = write(tmp_path, "[[accounts]]\nappkey = 'a'\nsecretkey = 'b'\n[[accounts]]\nappkey = 'c'\nsecretkey = 'd'\n")
    assert [a.label for a in load_settings(path, environ={}).accounts] == ["accounts[0]", "accounts[1]"]
    env_account = load_settings(environ={"KIWOOM_APPKEY": "k", "KIWOOM_SECRETKEY": "s"}).accounts[0]
    assert env_account.label == "KIWOOM_APPKEY"


def test_database_mode(tmp_path: Path) -> None:
    assert load_settings(environ={}).database_mode == 0o600
    assert load_settings(write(tmp_path, "database_mode = '0640'\n"), environ={}).database_mode == 0o640
    path = write(tmp_path, "database_mode = '0640'\n")
    assert load_settings(path, environ={"KIWOOM_ETL_DATABASE_MODE": "0600"}).database_mode == 0o600


@pytest.mark.parametrize(
    ("text", "env", "workers"),
    [
        ("", {}, None),  # auto: as many as the accounts and the pacing call for
        ("workers = 4\n", {}, 4),  # a config file of before stays valid: 4 is now an upper bound
        ("", {"KIWOOM_ETL_WORKERS": "4"}, 4),
        ("workers = 'auto'\n", {}, None),
        ("", {"KIWOOM_ETL_WORKERS": "AUTO"}, None),
        ("workers = 4\n", {"KIWOOM_ETL_WORKERS": "auto"}, None),  # the environment wins over the file
        ("workers = 'auto'\n", {"KIWOOM_ETL_WORKERS": "16"}, 16),
    ],
)
def test_workers_is_auto_or_an_upper_bound(tmp_path: Path, text: str, env: dict[str, str], workers: int | None) -> None:
    assert load_settings(write(tmp_path, text), environ=env).workers == workers


@pytest.mark.parametrize(
    ("text", "env"),
    [("workers = 0\n", {}), ("workers = 'many'\n", {}), ("workers = true\n", {}), ("", {"KIWOOM_ETL_WORKERS": "-1"})],
)
def test_bad_workers_name_the_setting(tmp_path: Path, text: str, env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ=env)
    assert 'workers: expected "auto" or a whole number of at least 1' in str(caught.value).lower()


def test_the_ledger_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    from datetime import time

    assert (load_settings(environ={}).ledger_lookback_days, load_settings(environ={}).ledger_at) == (7, time(20, 15))
    path = write(
        tmp_path,
        '[ledger]\nlookback_days = 3\nfirst_days = 400\nat = "21:00"\n\n'
        '[ledger.kinds]\n"기타정산금" = "fee"\n"배당" = "other"\n',
    )
    settings = load_settings(path, environ={"KIWOOM_ETL_LEDGER_LOOKBACK_DAYS": "10"})
    assert (settings.ledger_lookback_days, settings.ledger_first_days) == (10, 400)
    assert settings.ledger_at == time(21, 0)
    assert settings.ledger_rules == (("기타정산금", "fee"), ("배당", "other"))  # in the file's order


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[ledger]\nlookback = 3\n", r"unknown \[ledger\] setting\(s\) lookback"),
        ("[ledger]\nlookback_days = 0\n", "ledger.lookback_days: must be at least 1"),
        ('[ledger]\nat = "25:00"\n', "ledger.at"),
        ('[ledger.kinds]\n"배당" = 1\n', 'ledger.kinds must be a table of "keyword" = "kind"'),
        ("ledger = 3\n", r"ledger must be a table"),
    ],
)
def test_bad_ledger_settings_name_the_setting(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), environ={})


@pytest.mark.parametrize(
    ("table", "value", "expected"),
    [("windows", "09:00-15:30", Window(time(9), time(15, 30))), ("end_of_day", "15:50", time(15, 50))],
)
def test_a_table_that_names_one_exchange_keeps_the_others_default(
    tmp_path: Path, table: str, value: str, expected: object
) -> None:
    settings = load_settings(write(tmp_path, f'[{table}]\nKRX = "{value}"\n'), environ={})
    assert getattr(settings, table) == {"KRX": expected, "NXT": getattr(load_settings(environ={}), table)["NXT"]}
