"""Masking the secrets a URL can carry, wherever a URL is printed or logged: the one function that does it."""

from __future__ import annotations

import re

MASK = "***"

# scheme://user:password@ — the password is everything up to the last @ before the path, query or fragment.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@?#]*):(?P<password>[^/\s?#]*)@")
# name=value where the name holds password, token, secret or key (any case): a URL's query (?, &, ;), and the
# key=value form of libpq connection strings that drivers echo in their errors (after a space, quote or paren).
# A colon before a space ends the value ("database URL: what failed"). sslkey (a file path) is masked too: one rule
# with no exceptions is easier to trust than a list to keep current.
_PARAMETER = re.compile(
    r"(?P<head>(?:^|[?&;\s\"'(,])[\w.-]*(?:password|token|secret|key)[\w.-]*=)(?P<value>(?:[^&;#\s\"'):]|:(?!\s|$))*)",
    re.IGNORECASE,
)


def mask_urls(text: str) -> str:
    """`text` with the password of every URL in it, and every secret-named parameter's value, replaced by ***."""
    text = _USERINFO.sub(rf"\g<head>:{MASK}@", text)
    return _PARAMETER.sub(rf"\g<head>{MASK}", text)
