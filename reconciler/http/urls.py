"""Request URLs built from a parsed base without parsing them again.

httpx validates every URL character by character when it parses one, about
40 microseconds each; a fleet plan builds five to seven URLs per merchant,
all of them the base URL of a service (parsed and checked once) plus a path
and a query this package wrote itself. `join` puts those pieces into the
parsed base directly: the path is percent-encoded here the way httpx would
encode it, and queries come from `urlencode`, already encoded.

This reaches into httpx's parsed form (`URL._uri_reference`, a named
tuple). `FAST` is set only if, on this httpx, that form exists and a sample
built both ways gives the same URL; otherwise every URL is parsed the
ordinary way, with the same result, only slower.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx

# RFC 3986 pchar plus "/": left as they are in a path, like httpx does; "%" is kept
# so an already-encoded path is not encoded twice.
_PATH_SAFE = "!$&'()*+,;=:@/%-._~"


def _replaced(url: httpx.URL, **parts: Any) -> httpx.URL:
    """`url` with some of its parsed parts (str, or None for query and fragment) replaced,
    as they are (already encoded)."""
    copy = httpx.URL.__new__(httpx.URL)
    copy._uri_reference = url._uri_reference._replace(**parts)
    return copy


def _join_parsed(base: httpx.URL, path: str, query: str | None) -> httpx.URL:
    base_path = base._uri_reference.path
    return _replaced(base, path=base_path + quote(path, safe=_PATH_SAFE), query=query, fragment=None)


def _join_text(base: httpx.URL, path: str, query: str | None) -> httpx.URL:
    text = str(base.copy_with(query=None, fragment=None)) + quote(path, safe=_PATH_SAFE)
    return httpx.URL(text + ("?" + query if query else ""))


_STAND_IN = "placeholder-0f1e2d3c"  # parses as a host label and as a path segment
_PLAIN_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*")  # reads the same in a host and in a path


def _fill_parsed(parsed: httpx.URL, value: str) -> httpx.URL:
    ref = parsed._uri_reference
    return _replaced(parsed, host=ref.host.replace(_STAND_IN, value),
                     path=ref.path.replace(_STAND_IN, value))


def _fast_path_works() -> bool:
    base = httpx.URL("https://shop.example.com:8443/admin/api")
    samples = [("/orders/1", "a=1&b=%20x"), ("", None), ("/a b/ü", "sign=ab%2Fc")]
    templates = ("https://{shop}/admin/api/x.json", "http://127.0.0.1:9/shopify/{shop}/admin")
    try:
        joined = all(
            str(_join_parsed(base, p, q)) == str(_join_text(base, p, q))
            and _join_parsed(base, p, q).raw_path == _join_text(base, p, q).raw_path
            for p, q in samples
        )
        filled = [(_fill_parsed(httpx.URL(t.replace("{shop}", _STAND_IN)), "a-1.myshopify.com"),
                   httpx.URL(t.replace("{shop}", "a-1.myshopify.com"))) for t in templates]
        return joined and all(
            (fast.raw_host, fast.raw_path, str(fast)) == (slow.raw_host, slow.raw_path, str(slow))
            for fast, slow in filled
        )
    except (AttributeError, TypeError, ValueError):
        return False


FAST = _fast_path_works()


class Template:
    """A base URL with one placeholder (Shopify's `{shop}`), parsed once for every value.

    A value of lower-case letters, digits, dots and hyphens (every myshopify
    domain) is put into the parsed template directly; anything else makes
    the whole URL be parsed again, as it would without the template.
    """

    def __init__(self, text: str, placeholder: str) -> None:
        self.text = text
        self.placeholder = placeholder
        self._parsed = httpx.URL(text.replace(placeholder, _STAND_IN))

    def fill(self, value: str) -> httpx.URL:
        if FAST and _PLAIN_NAME.fullmatch(value):
            return _fill_parsed(self._parsed, value)
        return httpx.URL(self.text.replace(self.placeholder, value))


def join(base: httpx.URL, path: str = "", query: str | None = None) -> httpx.URL:
    """`base` + `path` (encoded here) with `query` (already encoded, or None)."""
    if not FAST or "/." in path:  # dot segments: let httpx normalize them as it always has
        return _join_text(base, path, query or None)
    return _join_parsed(base, path, query or None)


def with_query(url: httpx.URL, query: str) -> httpx.URL:
    """`url` with its query replaced by `query` (already encoded)."""
    if FAST:
        return _replaced(url, query=query or None)
    return url.copy_with(query=query.encode("ascii") if query else None)
