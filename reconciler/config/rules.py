"""Domain rules for one merchant (docs/design.md section 2), run after the schema passes.

Each rule looks only at what is declared once the profile is merged in: an
omitted setting is unmanaged, not wrong. Rules see templates already
rendered; a field whose template failed is None and is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from reconciler.config.catalog import hint
from reconciler.config.problems import Pos, Problem
from reconciler.config.returnurl import check_return_url
from reconciler.config.schema import CREDENTIAL_FIELDS
from reconciler.config.yamldoc import DocPath, Located
from reconciler.declarations import LOOP_INSTRUCTIONS_MAX
from reconciler.model import PIPE17_INTEGRATIONS

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_MENTIONS_TIKTOK = re.compile(r"tik\s*tok|\btts\b", re.IGNORECASE)
_MENTIONS_ORDER_NUMBER = re.compile(r"order\s*(number|no\b|#|id\b)", re.IGNORECASE)
_MENTIONS_ZIP = re.compile(r"\bzip\b|zip\s*code|postal\s*code|post\s*code|postcode", re.IGNORECASE)
MIN_EVIDENCE = 10  # "ok" or "yes" is not evidence of an approval

# (rule, integration, entity, required direction, why)
FLOW_RECIPE: tuple[tuple[str, str, str, str, str], ...] = (
    ("R001", "tiktok_shop", "orders", "pull", "orders come from TikTok Shop"),
    ("R002", "shopify", "orders", "push", "Pipe17 writes TikTok orders into Shopify"),
    ("R004", "shopify", "fulfillments", "pull", "fulfillments come from Shopify"),
    ("R005", "tiktok_shop", "fulfillments", "push", "fulfillments go back to TikTok Shop"),
    ("R006", "loop", "refunds", "pull", "refunds of returns come from Loop"),
    ("R007", "shopify", "refunds", "pull", "refunds made in Shopify come from Shopify"),
    ("R008", "tiktok_shop", "refunds", "push", "refunds go back to TikTok Shop"),
)


class Finding(NamedTuple):
    rule: str
    path: DocPath | None  # None: the file as a whole
    message: str


Rule = Callable[[dict[str, Any], str], Iterator[Finding]]


def check_merchant(doc: Located, file: str, slug: str) -> list[Problem]:
    problems = []
    for rule in RULES:
        for finding in rule(doc.data, slug):
            pos = Pos(file, 1, 1) if finding.path is None else doc.value_pos(finding.path)
            problems.append(Problem.at(pos, finding.rule, finding.message, hint(finding.rule)))
    return problems


def get(data: Any, path: DocPath) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _flows(data: dict[str, Any], slug: str) -> Iterator[Finding]:
    for rule, integration, entity, want, why in FLOW_RECIPE:
        path = ("pipe17", "integrations", integration, "flows", entity)
        actual = get(data, path)
        if actual is not None and actual != want:
            yield Finding(rule, path, f"{'.'.join(path)} is {actual}, but {why}: it must be {want}")


def _pipe17_options(data: dict[str, Any], slug: str) -> Iterator[Finding]:
    integrations = ("pipe17", "integrations")
    mode_path = (*integrations, "shopify", "order_sync_mode")
    mode = get(data, mode_path)
    if mode is not None and mode != "fulfillment":
        yield Finding("R003", mode_path, f"Shopify order sync mode is {mode}; "
                      "Loop finds TikTok orders only when Pipe17 syncs them in fulfillment mode")
    push_path = (*integrations, "tiktok_shop", "push_refunds_to_tiktok")
    if get(data, push_path) is False:
        yield Finding("R009", push_path, "push refunds to TikTok is off; "
                      "buyers who return through Loop would never be refunded on TikTok")
    declared = get(data, integrations)
    if isinstance(declared, dict):
        for name in PIPE17_INTEGRATIONS:
            if name not in declared:
                yield Finding("R027", integrations, f"Pipe17 integration {name} is not declared")


def _return_proxy(data: dict[str, Any], slug: str) -> Iterator[Finding]:
    partner_path = ("tiktok_shop", "return_proxy", "partner")
    partner = get(data, partner_path)
    if partner is not None and partner != "loop_pipe17":
        yield Finding("R020", partner_path, f"return portal partner is {partner}, not loop_pipe17")
    connector_path = ("tiktok_shop", "shopify_connector")
    if get(data, connector_path) == "enabled":
        yield Finding("R021", connector_path, "TikTok's own Shopify connector is enabled; "
                      "it writes orders Loop cannot find, and duplicates Pipe17's")
    url_path = ("tiktok_shop", "return_proxy", "return_url")
    url = get(data, url_path)
    if isinstance(url, str):
        portal = get(data, ("loop", "portal_domain"))
        valid = isinstance(portal, str) and _HOSTNAME.match(portal)  # else R024 says why
        for rule, message in check_return_url(url, portal if valid else None):
            yield Finding(rule, url_path, message)


def _loop_portal(data: dict[str, Any], slug: str) -> Iterator[Finding]:
    lookup = get(data, ("loop", "order_lookup"))
    if lookup is not None and lookup != "zip":
        yield Finding("R017", ("loop", "order_lookup"),
                      f"Loop order lookup is {lookup}; TikTok orders carry no buyer email, "
                      "so buyers must look up by order number and zip code")
    text = get(data, ("loop", "instructions"))
    if isinstance(text, str):
        if len(text) > LOOP_INSTRUCTIONS_MAX:  # the schema bounds the template, this the text
            yield Finding("R035", ("loop", "instructions"),
                          f"rendered instructions are {len(text):,} characters; the portal takes "
                          f"at most {LOOP_INSTRUCTIONS_MAX:,}")
        if not (_MENTIONS_TIKTOK.search(text) and _MENTIONS_ORDER_NUMBER.search(text)):
            yield Finding("R018", ("loop", "instructions"),
                          "instructions do not tell TikTok buyers to enter their TikTok order number")
        if not _MENTIONS_ZIP.search(text):
            yield Finding("R019", ("loop", "instructions"),
                          "instructions do not tell TikTok buyers to enter their shipping zip code")
    yield from _portal_domain(data)


def _portal_domain(data: dict[str, Any]) -> Iterator[Finding]:
    path = ("loop", "portal_domain")
    domain = get(data, path)
    if not isinstance(domain, str):
        return
    if not _HOSTNAME.match(domain):
        what = ("a URL" if "://" in domain else "not a bare host name (it has a path or port)"
                if "/" in domain or ":" in domain else "not a valid lower-case host name")
        yield Finding("R024", path, f"loop.portal_domain {domain[:80]!r} is {what}")
    elif domain.endswith(".myshopify.com"):
        yield Finding("R025", path, f"loop.portal_domain {domain} is a Shopify store domain, "
                      "not the Loop returns portal")
    elif any(label.startswith("xn--") for label in domain.split(".")):
        # An IDNA label renders as Unicode in browsers and TikTok's app, where
        # "xn--brghtbasics-9ib" reads as "brightbasics" with a look-alike letter.
        yield Finding("R029", path, f"loop.portal_domain {domain} has a punycode (xn--) label, "
                      f"shown to buyers as {_unicode(domain)!r}")


def _unicode(domain: str) -> str:
    """How a browser would show `domain` (each xn-- label decoded)."""
    labels = []
    for label in domain.split("."):
        try:
            labels.append(label[4:].encode("ascii").decode("punycode") if label.startswith("xn--") else label)
        except UnicodeError:
            labels.append(label)
    return ".".join(labels)


def _identity(data: dict[str, Any], slug: str) -> Iterator[Finding]:
    if not SLUG.match(slug):
        yield Finding("R023", None, f"file name {slug!r} is not a valid merchant slug")
    declared = data.get("slug")
    if declared is not None and declared != slug:
        yield Finding("R022", ("slug",), f"slug is {declared} but the file is named {slug}")


def _h5_evidence(data: dict[str, Any], slug: str) -> Iterator[Finding]:
    h5 = get(data, ("tiktok_shop", "h5_redirect"))
    if not isinstance(h5, dict) or h5.get("approved") is not True:
        return  # not approved: the plan shows it as a manual action
    evidence = (h5.get("evidence") or "").strip()
    if len(evidence) < MIN_EVIDENCE:
        where = "evidence" if "evidence" in h5 else "approved"
        problem = "has no evidence" if not evidence else "has evidence too short to check"
        yield Finding("R026", ("tiktok_shop", "h5_redirect", where),
                      f"H5 Redirect is marked approved but {problem}")


def _credential_reuse(data: dict[str, Any], slug: str) -> Iterator[Finding]:
    seen: dict[Any, tuple[str, ...]] = {}
    for path in CREDENTIAL_FIELDS:
        ref = get(data, path)
        if ref is None:
            continue
        if ref in seen:
            yield Finding("R028", path, f"{'.'.join(path)} and {'.'.join(seen[ref])} "
                          f"both use {ref}")
        else:
            seen[ref] = path


RULES: tuple[Rule, ...] = (
    _identity, _flows, _pipe17_options, _return_proxy, _loop_portal, _h5_evidence,
    _credential_reuse,
)
