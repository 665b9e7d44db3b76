"""The one mask for URLs: passwords in the user information and secret-named parameters, in any text."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.redact import mask_urls

WORDS = ("password", "token", "secret", "key")
# The secret values carry a marker no other part can hold (the other parts are lower case, the names hold no X).
SECRET = st.text(min_size=1, max_size=20).map(lambda text: "XX" + quote(text, safe=""))
PLAIN = st.from_regex(r"[a-z0-9._-]{0,10}", fullmatch=True)
AFFIX = st.from_regex(r"[a-z_]{0,5}", fullmatch=True)


@st.composite
def secret_name(draw: st.DrawFn) -> str:
    """A name holding password, token, secret or key, in any case, with anything around it."""
    word = draw(st.sampled_from(WORDS))
    upper = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    cased = "".join(ch.upper() if up else ch for ch, up in zip(word, upper, strict=True))
    return draw(AFFIX) + cased + draw(AFFIX)


# A password as SQLAlchemy takes it unquoted: `/`, `?`, `#` and `:` are its own (after a marker, so it is no port).
RAW_PASSWORD = st.text(alphabet="abcXYZ019/?#:%", max_size=12).map(lambda text: "XX" + text)


@st.composite
def encoded(draw: st.DrawFn, name: str) -> str:
    """`name` with one of its characters percent-encoded, or none: SQLAlchemy decodes a parameter's name."""
    at = draw(st.integers(min_value=-1, max_value=len(name) - 1))
    return name if at < 0 else f"{name[:at]}%{ord(name[at]):02X}{name[at + 1 :]}"


PLAIN_NAME = st.from_regex(r"[a-z_]{1,10}", fullmatch=True).filter(lambda name: not any(w in name for w in WORDS))


@st.composite
def url_with_secrets(draw: st.DrawFn) -> tuple[str, str, list[str]]:
    """A URL with secrets in its user information and query: (the URL, what the mask must make of it, the secrets)."""
    scheme = draw(st.sampled_from(["http", "https", "postgresql", "postgresql+psycopg", "sqlite"]))
    host = draw(st.from_regex(r"[a-z0-9]{1,12}(\.[a-z]{2,5})?(:[0-9]{1,5})?", fullmatch=True))
    path = draw(st.from_regex(r"(/[a-z0-9_.-]{0,10}){0,3}", fullmatch=True))
    secrets: list[str] = []
    user = masked_user = ""
    if draw(st.booleans()):
        name = draw(st.from_regex(r"[a-z0-9_]{0,8}", fullmatch=True))
        password = draw(SECRET | RAW_PASSWORD)
        secrets.append(password)
        user, masked_user = f"{name}:{password}@", f"{name}:***@"
    query, masked_query = [], []
    for is_secret in draw(st.lists(st.booleans(), max_size=5)):
        if is_secret:
            value = draw(SECRET)
            secrets.append(value)
            name = draw(encoded(draw(secret_name())))
            query.append(f"{name}={value}")
            masked_query.append(f"{name}=***")
        else:
            pair = f"{draw(PLAIN_NAME)}={draw(PLAIN)}"
            query.append(pair)
            masked_query.append(pair)
    # Parameters in the query or the fragment (#access_token=…), separated by & or ;.
    mark, separator = draw(st.sampled_from("?#")), draw(st.sampled_from("&;"))
    tail, masked_tail = (mark + separator.join(query), mark + separator.join(masked_query)) if query else ("", "")
    return (
        f"{scheme}://{user}{host}{path}{tail}",
        f"{scheme}://{masked_user}{host}{path}{masked_tail}",
        secrets,
    )


AROUND = st.sampled_from([("", ""), ("database ", ": connect failed"), ("url: '", "'"), ("(", ")"), ("x\n", "\ny")])


@given(url_with_secrets(), AROUND)
def test_no_secret_survives_and_everything_else_does(case: tuple[str, str, list[str]], around: tuple[str, str]) -> None:
    url, expected, secrets = case
    before, after = around
    masked = mask_urls(before + url + after)
    assert masked == before + expected + after  # the scheme, user, host, port, path and other parameters survive
    for secret in secrets:
        assert secret not in masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("sqlite:////var/lib/kiwoom/kiwoom_etl.db", "sqlite:////var/lib/kiwoom/kiwoom_etl.db"),
        ("https://api.kiwoom.com", "https://api.kiwoom.com"),
        ("http://host:8080/a@b?x=1", "http://host:8080/a@b?x=1"),  # an @ in the path is no user information
        ("postgresql://u:p@ss@db/h", "postgresql://u:***@db/h"),  # the last @ before the path ends it
        # sslkey names a file, not a secret; masking it costs a path in a message, and keeps the rule exception-free.
        ("postgresql://u@db/h?sslmode=verify-full&sslkey=/k.pem", "postgresql://u@db/h?sslmode=verify-full&sslkey=***"),
        ('POST /oauth2/token?API_KEY=abc HTTP/1.1" 200', 'POST /oauth2/token?API_KEY=*** HTTP/1.1" 200'),
        ("host=db port=5432 password=pw user=u", "host=db port=5432 password=*** user=u"),
        # libpq's key = value form: spaces around =, a quoted value with spaces and escaped quotes.
        ("host=db password = pw user=u", "host=db password = *** user=u"),
        (r"host=db password='p w\'x' user=u", "host=db password=*** user=u"),
    ],
)
def test_examples(text: str, masked: str) -> None:
    assert mask_urls(text) == masked
