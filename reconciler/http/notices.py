"""Warnings a service sends beside its answers, collected once per run.

Today: Shopify's `X-Shopify-API-Deprecated-Reason`. Shopify keeps answering
a request for a version past its support window (it serves the oldest
supported version instead, named in `X-Shopify-API-Version`) or one that
selects deprecated fields, and says so only in that header. Nothing fails,
so unless someone shows the header a pinned version ages out unseen.

Every `ServiceClient` of a pool adds what it sees to the pool's `Notices`;
a command shows `Notices.lines()` on stderr when its run ends (plan and
verify do; any command that reads through a pool can, e.g. `doctor`). The
same warning from every merchant of a fleet is one line.

    notices = Notices()
    reports = read_with_progress(..., notices=notices)
    show_notices(notices)          # reconciler.commands.common
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

DEPRECATED_REASON = "x-shopify-api-deprecated-reason"
SERVED_VERSION = "x-shopify-api-version"


@dataclass(frozen=True)
class Notice:
    """One distinct warning from a service: who said it, and what."""

    service: str
    text: str

    def line(self) -> str:
        return f"warning: {self.service}: {self.text}"


def deprecation_notice(service: str, headers: Mapping[str, str], path: str) -> Notice | None:
    """The warning Shopify's deprecation header carries in an answer's `headers`, if any.

    `path` is the request's URL path: the notice names the version asked for
    and, when Shopify fell forward, the one that answered. Reusable on any
    answer: `deprecation_notice("shopify", response.headers, response.request.url.path)`.
    """
    reason = headers.get(DEPRECATED_REASON)
    if not reason:
        return None
    asked = _asked_version(path) or "?"
    served = headers.get(SERVED_VERSION)
    said = f"(X-Shopify-API-Deprecated-Reason: {' '.join(reason.split())})"
    if served and served != asked:
        text = (f"Admin API {asked} is past its support window and was answered by {served} {said}; "
                f"this release pins {asked}: upgrade it")
    else:
        text = f"Admin API {asked}: a request uses something deprecated {said}"
    return Notice(service, text)


def _asked_version(path: str) -> str | None:
    parts = path.split("/")
    if "api" in parts:
        index = parts.index("api")
        if index + 1 < len(parts):
            return parts[index + 1]
    return None


class Notices:
    """Distinct notices in the order first seen. One event loop adds to it; no locking."""

    def __init__(self, notices: Iterable[Notice] = ()) -> None:
        self._seen: dict[Notice, None] = dict.fromkeys(notices)

    def add(self, notice: Notice | None) -> None:
        if notice is not None:
            self._seen.setdefault(notice, None)

    def extend(self, notices: Iterable[Notice]) -> None:
        for notice in notices:
            self.add(notice)

    def __iter__(self) -> Iterator[Notice]:
        return iter(list(self._seen))

    def __len__(self) -> int:
        return len(self._seen)

    def lines(self) -> list[str]:
        """One line per distinct notice, for stderr (redact before printing)."""
        return [n.line() for n in self._seen]
