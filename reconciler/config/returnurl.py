"""Checks of the rendered return URL that TikTok sends buyers to.

The URL must be exactly the Loop deep-link form
`https://{portal}/?order=[TT_ORDER_NUM]&zip=[TTS_ZIP_CODE]`: anything that
could send a buyer (and their order number and zip code) somewhere else, or
ask them for an email TikTok does not have, is refused. Parameter names are
read as the portal reads them, percent- and plus-decoded, so `%7Aip=` is a
second `zip`; values must hold the literal bracketed placeholders, which is
all TikTok substitutes. The email check decodes until nothing changes, so
no encoding hides an email parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import SplitResult, unquote_plus, urlsplit

ORDER_PLACEHOLDER = "[TT_ORDER_NUM]"
ZIP_PLACEHOLDER = "[TTS_ZIP_CODE]"
_EMAILISH_KEY = re.compile(r"e[-_. ]?mail", re.IGNORECASE)
_EMAILISH_VALUE = re.compile(r"@|email", re.IGNORECASE)
# str.isspace() characters (what \s matches in a str pattern), control characters, backslashes
_UNSAFE_CHARACTER = re.compile(r"[\s\x00-\x1f\\]")

Finding = tuple[str, str]  # (rule id, message)


def check_return_url(url: str, portal_domain: str | None) -> Iterator[Finding]:
    """Findings for `url`; `portal_domain` is None when it is not declared."""
    if _UNSAFE_CHARACTER.search(url):
        yield "R016", "return URL contains whitespace, control characters or backslashes"
        return  # browsers and parsers disagree on such URLs: nothing below is reliable
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "https":
        shown = f"'{scheme}:'" if scheme else "no scheme"
        yield "R010", f"return URL uses {shown}; buyers must reach the portal over https"
        return
    yield from _check_authority(parts, portal_domain)
    if "#" in url:
        yield "R016", "return URL has a #fragment"
    yield from _check_query(parts.query)


def _check_authority(parts: SplitResult, portal_domain: str | None) -> Iterator[Finding]:
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if userinfo or "@" in parts.netloc:
        yield "R015", "return URL has user information before the host"
    host, _, port = hostport.partition(":")
    if port or hostport.endswith(":"):
        yield "R016", "return URL names a port"
    host = host.lower().rstrip(".")
    if portal_domain is not None and host != portal_domain.lower():
        shown = host or "no host"
        yield "R011", f"return URL goes to {shown}, not the Loop portal domain {portal_domain}"


def _decoded(text: str, *, fully: bool = False) -> str:
    decoded = unquote_plus(text, errors="replace")
    for _ in range(8 if fully else 0):  # each round removes a layer; 8 is past any real use
        if decoded == text:
            break
        text, decoded = decoded, unquote_plus(decoded, errors="replace")
    return decoded


def _check_query(query: str) -> Iterator[Finding]:
    raw = [pair.partition("=") for pair in query.split("&") if pair]
    params = [(_decoded(key), value) for key, _, value in raw]
    orders = [value for key, value in params if key == "order"]
    zips = [value for key, value in params if key == "zip"]
    if orders != [ORDER_PLACEHOLDER]:
        yield "R012", _placeholder_message("order", ORDER_PLACEHOLDER, orders)
    if zips != [ZIP_PLACEHOLDER]:
        yield "R013", _placeholder_message("zip", ZIP_PLACEHOLDER, zips)
    if any(_EMAILISH_KEY.search(_decoded(key, fully=True)) or _EMAILISH_VALUE.search(_decoded(value, fully=True))
           for key, _, value in raw):
        yield "R014", "return URL asks for an email address, which TikTok does not share"


def _placeholder_message(key: str, placeholder: str, values: list[str]) -> str:
    if not values:
        return f"return URL has no {key}={placeholder}"
    if len(values) > 1:
        return f"return URL has {len(values)} {key}= parameters; keep exactly {key}={placeholder}"
    return f"return URL has {key}={values[0][:40]} instead of {key}={placeholder}"
