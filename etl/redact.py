"""Masking the secrets a URL can carry, wherever a URL is printed or logged: the one function that does it."""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

# scheme://user:password@ — the password is everything up to the last @ before the path, query or fragment; and when
# no @ comes before those, up to the last @ before a space, unless a port comes first (host:8080/a@b is a path):
# SQLAlchemy takes `/`, `?` and `#` in a password as the password's own.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@?#]*):(?P<password>[^/\s?#]*|(?!\d+[/?#])\S*)@")
# name=value where the name holds password, token, secret or key (any case, percent-encoded or not: SQLAlchemy and
# browsers decode it): a URL's query (?, &, ;) or fragment (#), and the key = value form of libpq connection strings
# that drivers echo in their errors (after a space, quote or paren; a value may be 'quoted'). A colon before a space
# ends the value ("database URL: what failed"). sslkey (a file path) is masked too: one rule with no exceptions is
# easier to trust than a list to keep current.
_PARAMETER = re.compile(
    r"(?P<head>(?:^|[?&;#\s\"'(,])(?P<name>[\w.%-]+)\s*=\s*)"
    r"(?P<value>'(?:[^'\\]|\\.)*'?|(?:[^&;#\s\"'):]|:(?!\s|$))*)"
)
_SECRET_NAME = re.compile("password|token|secret|key", re.IGNORECASE)


def mask_urls(text: str) -> str:
    """`text` with the password of every URL in it, and every secret-named parameter's value, replaced by ***."""
    text = _USERINFO.sub(rf"\g<head>:{MASK}@", text)
    return _PARAMETER.sub(_parameter, text)


def _parameter(match: re.Match[str]) -> str:
    return f"{match['head']}{MASK}" if _SECRET_NAME.search(unquote(match["name"])) else match[0]
