"""Settings from the environment and the TOML file: precedence, accounts, clear errors, no secret shown."""

from __future__ import annotations

import logging
import os
from datetime import time, timedelta
from pathlib import Path

import pytest

from etl.clock import Window
from etl.errors import ConfigError
from etl.settings import MOCK_BASE_URL, MOCK_FEED_URL, REAL_BASE_URL, REAL_FEED_URL, Secret, load_settings


def write(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    """The config file, at `mode`: private, as a file holding keys must be, unless a test says otherwise."""
    path = tmp_path / "kiwoom-etl.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
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
            "KIWOOM_BASE_URL": "https://gateway.example?Access_Token=pw-123",
        }
    )
    shown = repr(settings) + str(settings.accounts[0].appkey) + f"{settings.accounts[0]}"
    for secret in ("APPKEY-VALUE", "SECRET-VALUE", "hunter2", "pw-123"):
        assert secret not in shown
    assert "postgresql+psycopg://kiwoom:***@db/history" in repr(settings)
    assert settings.safe_base_url == "https://gateway.example?Access_Token=***"


def test_a_password_in_the_database_urls_query_is_masked() -> None:
    settings = load_settings(
        environ={"KIWOOM_ETL_DATABASE_URL": "postgresql://kiwoom@db/history?sslmode=require&password=hunter2"}
    )
    assert "password=hunter2" in settings.database_url  # the driver still gets it
    assert settings.safe_database_url == "postgresql+psycopg://kiwoom@db/history?password=***&sslmode=require"
    assert "hunter2" not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "text", "where"),
    [
        ({"KIWOOM_BASE_URL": "https://me:pw-123@api.kiwoom.com"}, "", "KIWOOM_BASE_URL"),
        ({}, 'base_url = "https://me:pw-123@gateway.example/"\n', "base_url in "),
    ],
)
def test_a_base_url_with_user_information_is_refused(
    tmp_path: Path, environ: dict[str, str], text: str, where: str
) -> None:
    # requests would send it as Basic authentication, and Kiwoom answers every call with 8005.
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), environ=environ)
    message = str(caught.value)
    assert message.startswith("Kiwoom authenticates with a token; remove user:password from " + where)
    assert "pw-123" not in message


def test_env_references_are_resolved_only_for_the_commands_that_call_kiwoom(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[[accounts]]\nname = 'isa'\nappkey = 'env:ISA_KEY'\nsecretkey = 'env:ISA_SECRET'\n"
        "[[accounts]]\nappkey = 'env:MAIN_KEY'\nsecretkey = 'env:MAIN_SECRET'\n",
    )
    settings = load_settings(path, environ={"ISA_KEY": "k1", "ISA_SECRET": "s1", "MAIN_KEY": "k2"})
    assert [a.label for a in settings.accounts] == ["isa", "accounts[1]"]  # names are known without the keys
    assert sorted(settings.secret_values()) == ["k1", "k2", "s1"]  # what is known is still redacted from logs
    with pytest.raises(ConfigError, match="accounts\\[1\\].secretkey: environment variable MAIN_SECRET is not set"):
        settings.require_accounts()
    with pytest.raises(ConfigError, match="MAIN_SECRET"):
        settings.accounts[1].secretkey.reveal()
    everything = {"ISA_KEY": "k1", "ISA_SECRET": "s1", "MAIN_KEY": "k2", "MAIN_SECRET": "s2"}
    assert [a.secretkey.reveal() for a in load_settings(path, environ=everything).require_accounts()] == ["s1", "s2"]


LITERAL = "[[accounts]]\nappkey = 'plain-key'\nsecretkey = 'env:SECRET'\n"
ENV_ONLY = "[[accounts]]\nappkey = 'env:KEY'\nsecretkey = 'env:SECRET'\n"


@pytest.mark.parametrize(
    ("text", "mode", "outcome"),
    [
        (LITERAL, 0o600, "silent"),
        (LITERAL, 0o400, "silent"),
        (LITERAL, 0o640, "warning"),
        (LITERAL, 0o644, "refused"),
        (LITERAL, 0o604, "refused"),
        (LITERAL, 0o666, "refused"),
        (ENV_ONLY, 0o644, "silent"),
        (ENV_ONLY, 0o664, "silent"),
        (ENV_ONLY, 0o666, "writable"),
        ("http_timeout = 3\n", 0o602, "writable"),
    ],
)
def test_a_config_file_with_a_literal_key_must_be_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, mode: int, outcome: str
) -> None:
    # As ssh treats a private key and libpq a password file: the group may read it with a warning, others never.
    path = write(tmp_path, text, mode)
    if os.geteuid() == 0:
        os.chown(path, 65534, -1)  # a file of root's may be read by its group: give it to an ordinary user
    caplog.set_level(logging.WARNING)
    if outcome in ("refused", "writable"):
        with pytest.raises(ConfigError) as caught:
            load_settings(path, environ={})
        expected = "others can read it" if outcome == "refused" else "can be written by others"
        assert expected in str(caught.value) and f"chmod 600 {path}" in str(caught.value)
        assert f"mode {mode:04o}" in str(caught.value)
    else:
        load_settings(path, environ={})
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    if outcome == "warning":
        (warning,) = warnings
        assert "its group can read it (mode 0640): chmod 600" in warning
    else:
        assert warnings == []


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


def test_the_calendar_corrections_from_the_file(tmp_path: Path) -> None:
    from datetime import date

    from etl.clock import CalendarCorrections, Window

    assert load_settings(environ={}).calendar == CalendarCorrections() and not load_settings(environ={}).calendar
    listed = write(
        tmp_path,
        '[calendar]\nholidays = ["2026-06-03", 2026-06-04]\ntrading_days = ["2026-09-25"]\n'
        'sessions = { "2026-11-19" = "10:00-16:30" }\n',
    )
    assert load_settings(listed, environ={}).calendar == CalendarCorrections(
        holidays={date(2026, 6, 3): "", date(2026, 6, 4): ""},  # a TOML date is a date too
        trading_days=frozenset({date(2026, 9, 25)}),
        sessions={date(2026, 11, 19): Window.parse("10:00-16:30", "x")},
    )
    named = write(tmp_path, '[calendar.holidays]\n"2026-06-03" = "local elections"\n')
    assert load_settings(named, environ={}).calendar.holidays == {date(2026, 6, 3): "local elections"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[calendar]\nholidays = ["2026-6-3"]\n',
            r"calendar.holidays\[0\]: expected a date YYYY-MM-DD, got '2026-6-3'",
        ),
        ('[calendar]\nholidays = ["2026-02-30"]\n', r"calendar.holidays\[0\]: expected a date YYYY-MM-DD"),
        ('[calendar]\nholidays = ["June 3"]\n', r"calendar.holidays\[0\]: .* got 'June 3'"),
        ("[calendar]\nholidays = [20260603]\n", r"calendar.holidays\[0\]: .* got 20260603"),
        ("[calendar]\nholidays = [2026-06-03T10:00:00]\n", r"calendar.holidays\[0\]: expected a date"),
        ('[calendar.holidays]\n"tomorrow" = "x"\n', "calendar.holidays.tomorrow: expected a date YYYY-MM-DD"),
        ('[calendar]\ntrading_days = ["2026-09-25", "2026-9-26"]\n', r"calendar.trading_days\[1\]: .*'2026-9-26'"),
        ('[calendar]\ntrading_days = "2026-09-25"\n', "calendar.trading_days: expected a list of dates"),
        (
            '[calendar]\nsessions = { "2026-11-19" = "16:30-10:00" }\n',
            "2026-11-19: the session must close after it opens, got '16:30-10:00'",
        ),
        (
            '[calendar]\nsessions = { "2026-11-19" = "10:00" }\n',
            "calendar.sessions.2026-11-19: expected a session HH:MM-HH:MM, got '10:00'",
        ),
        ('[calendar]\nsessions = { "2026-11-19" = "10:00-24:30" }\n', "calendar.sessions.2026-11-19: expected a time"),
        ('[calendar]\nsessions = { "19 Nov" = "10:00-16:30" }\n', "calendar.sessions.19 Nov: expected a date"),
        ('[calendar]\nsessions = ["2026-11-19"]\n', "calendar.sessions: expected a table"),
        ('[calendar]\nsessions = { "2026-11-19" = 1030 }\n', "calendar.sessions.2026-11-19: .* got 1030"),
        (
            '[calendar]\nholidays = ["2026-09-25"]\ntrading_days = ["2026-09-25"]\n',
            "calendar: 2026-09-25 is both in holidays and in trading_days",
        ),
        (
            '[calendar]\nholidays = ["2026-11-19"]\nsessions = { "2026-11-19" = "10:00-16:30" }\n',
            "calendar: 2026-11-19 is both in holidays and in sessions",
        ),
        ('[calendar]\nholidays = ["2026-06-06"]\n', r"calendar.holidays\[0\]: 2026-06-06 is a Saturday"),
        ('[calendar]\nholiday = ["2026-06-03"]\n', r"unknown \[calendar\] setting\(s\) holiday"),
        ('calendar = "2026-06-03"\n', r"calendar must be a table"),
    ],
)
def test_bad_calendar_corrections_name_the_setting_and_the_value(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write(tmp_path, text), environ={})


def test_a_config_file_root_owns_may_be_read_by_its_group(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # docs/deploy installs the service's files as root:kiwoom-etl 0640, as libpq allows for a key file root owns.
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to root")
    path = write(tmp_path, LITERAL, 0o640)
    os.chown(path, 0, -1)
    caplog.set_level(logging.WARNING)
    load_settings(path, environ={})
    assert caplog.records == []
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="others can read it"):
        load_settings(path, environ={})


@pytest.mark.parametrize(
    ("table", "value", "expected"),
    [("windows", "09:00-15:30", Window(time(9), time(15, 30))), ("end_of_day", "15:50", time(15, 50))],
)
def test_a_table_that_names_one_exchange_keeps_the_others_default(
    tmp_path: Path, table: str, value: str, expected: object
) -> None:
    settings = load_settings(write(tmp_path, f'[{table}]\nKRX = "{value}"\n'), environ={})
    assert getattr(settings, table) == {"KRX": expected, "NXT": getattr(load_settings(environ={}), table)["NXT"]}


@pytest.mark.parametrize(
    "url", ["http://api.kiwoom.com", "http://10.0.0.7:8080", "http://gateway.example/kiwoom", "http://127.0.0.1.nip.io"]
)
def test_a_plain_http_base_url_to_another_machine_is_refused(url: str) -> None:
    # The token request carries the app key and the secret key: unencrypted, anyone on the path could read them.
    with pytest.raises(ConfigError, match="KIWOOM_BASE_URL: http:// would send the app key and secret key unencrypted"):
        load_settings(environ={"KIWOOM_BASE_URL": url})


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:9000", "http://[::1]:8080", "https://x.io"])
def test_plain_http_is_for_a_loopback_host_such_as_the_simulator(url: str) -> None:
    assert load_settings(environ={"KIWOOM_BASE_URL": url}).base_url == url


def test_a_key_that_is_not_a_string_is_named_as_such(tmp_path: Path) -> None:
    path = write(tmp_path, "[[accounts]]\nappkey = 5\nsecretkey = 'env:S'\n")
    with pytest.raises(ConfigError, match=r"accounts\[0\].appkey: expected a string in quotes .* got a int"):
        load_settings(path, environ={})


def test_the_market_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    default = load_settings(environ={})
    assert default.benchmark_indexes == ("001", "101")
    assert (default.market_instruments_at, default.market_at) == (time(8, 0), time(18, 30))
    config = tmp_path / "config.toml"
    config.write_text('[benchmarks]\nindexes = ["001", "201"]\n\n[market]\ninstruments_at = "07:40"\nat = "19:00"\n')
    settings = load_settings(config, environ={"KIWOOM_ETL_MARKET_AT": "18:45"})
    assert settings.benchmark_indexes == ("001", "201")
    assert (settings.market_instruments_at, settings.market_at) == (time(7, 40), time(18, 45))
    environ = {"KIWOOM_ETL_BENCHMARKS_INDEXES": "101, 001"}
    assert load_settings(config, environ=environ).benchmark_indexes == ("101", "001")


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[benchmarks]\nindexes = ["1"]\n', {}, r"benchmarks.indexes: expected three-digit index codes.*'1'"),
        ('[benchmarks]\nindexes = "001"\n', {}, "benchmarks.indexes: expected a list"),
        ("", {"KIWOOM_ETL_BENCHMARKS_INDEXES": "001,KOSPI"}, "KIWOOM_ETL_BENCHMARKS_INDEXES: .*'KOSPI'"),
        ('[market]\nclose = "18:00"\n', {}, r"unknown \[market\] setting\(s\) close"),
        ('[market]\nat = "25:00"\n', {}, "market.at"),
        ("benchmarks = 3\n", {}, "benchmarks must be a table"),
    ],
)
def test_bad_market_settings_name_the_setting(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ=env)


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[market]\nat = "10:00"\n', {}, r"10:00 in Asia/Seoul is 10:00 KST, before KRX's close \(15:30 KST\)"),
        ("", {"KIWOOM_ETL_MARKET_AT": "15:29"}, "15:29 in Asia/Seoul is 15:29 KST"),
        # 18:30 in Auckland (UTC+13 in January) is 14:30 in Seoul: the default is refused there, named as such.
        ("", {"KIWOOM_ETL_TIMEZONE": "Pacific/Auckland"}, r"\[market\] at \(KIWOOM_ETL_MARKET_AT\) 18:30 .* 14:30 KST"),
    ],
)
def test_a_market_time_before_the_close_is_refused_to_the_daemon_alone(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    """The day's bars would be taken mid-session and stand as its close. Only the daemon takes them: every other
    command (report, status, export) reads such settings as before."""
    config = tmp_path / "config.toml"
    config.write_text(text)
    settings = load_settings(config, environ=env)
    with pytest.raises(ConfigError, match=message):
        settings.require_market_after_close()


def test_a_market_time_after_the_close_is_the_daemon_s() -> None:
    # 18:30 in UTC (03:30 KST the next morning), 07:00 UTC (16:00 KST) and the close itself in Seoul: accepted.
    for environ in ({"KIWOOM_ETL_TIMEZONE": "UTC"}, {"KIWOOM_ETL_MARKET_AT": "15:30"}, {}):
        load_settings(environ=environ).require_market_after_close()
    load_settings(environ={"KIWOOM_ETL_TIMEZONE": "UTC", "KIWOOM_ETL_MARKET_AT": "07:00"}).require_market_after_close()


def test_the_realtime_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    default = load_settings(environ={})
    assert default.realtime_enabled is False  # off until tried against the real API
    assert default.realtime_url == REAL_FEED_URL
    assert (default.realtime_settle, default.realtime_min_gap) == (timedelta(seconds=3), timedelta(seconds=10))
    assert load_settings(environ={"KIWOOM_ENV": "mock"}).realtime_url == MOCK_FEED_URL
    config = tmp_path / "config.toml"
    config.write_text('[realtime]\nenabled = true\nurl = "ws://127.0.0.1:9/api/dostk/websocket"\nsettle = "5s"\n')
    settings = load_settings(config, environ={"KIWOOM_ETL_REALTIME_MIN_GAP": "1m"})
    assert settings.realtime_enabled is True
    assert settings.realtime_url == "ws://127.0.0.1:9/api/dostk/websocket"
    assert (settings.realtime_settle, settings.realtime_min_gap) == (timedelta(seconds=5), timedelta(minutes=1))
    assert load_settings(config, environ={"KIWOOM_ETL_REALTIME_ENABLED": "off"}).realtime_enabled is False


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[realtime]\nenabled = 'maybe'\n", {}, "realtime.enabled: expected true or false, got 'maybe'"),
        ("", {"KIWOOM_ETL_REALTIME_ENABLED": "2"}, "KIWOOM_ETL_REALTIME_ENABLED: expected true or false"),
        ("[realtime]\nurl = 'https://api.kiwoom.com'\n", {}, "realtime.url: expected a ws:// or wss:// URL"),
        ("", {"KIWOOM_ETL_REALTIME_URL": "ws://feed.example.com/x"}, "unencrypted to 'feed.example.com'; use wss://"),
        ("", {"KIWOOM_ETL_REALTIME_URL": "wss://me:pw@feed.example.com/"}, "remove user:password"),
        ("[realtime]\nsettle = '0s'\n", {}, "realtime.settle: must be between 1s and 24h"),
        ("[realtime]\nmin_gap = 10\n", {}, "realtime.min_gap: expected a duration"),
        ("[realtime]\nping = '1s'\n", {}, r"unknown \[realtime\] setting\(s\) ping"),
        ("realtime = true\n", {}, "realtime must be a table"),
    ],
)
def test_bad_realtime_settings_name_the_setting(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message) as raised:
        load_settings(config, environ=env)
    assert "pw" not in str(raised.value)
