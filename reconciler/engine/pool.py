"""ClientPool: everything one command run shares across merchants.

The composition of the layers below the engine: HTTP clients (`reconciler.http`)
bound to a merchant's resolved secrets, handed to its providers
(`reconciler.providers`).

One `Channel` per service (connections reused across merchants; on a
network target the bytes go over `AiohttpTransport`, see http/aiotransport.py),
the per-service rate limiters, the
per-run cache (TikTok shop lists and ciphers) and the retry policy. A
merchant's providers are cheap views over it: resolving its secrets and
binding auth and a rate-limit bucket is all the per-merchant set-up.

    async with ClientPool(target, read_only=True) as pool:
        providers = pool.providers(merchant)      # {"tiktok_shop": ..., "pipe17": ..., ...}
        snapshot = await providers["loop"].read()

With `read_only=True` every client refuses writes twice over: in
`ServiceClient.request` (before rate limiting) and in `Channel.send` (after
signing, the last step before the transport).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import NamedTuple

import httpx

from reconciler.http import urls
from reconciler.http.aiotransport import AiohttpTransport
from reconciler.http.auth import TikTokAuth, loop_auth, pipe17_auth, shopify_auth
from reconciler.http.cache import RunCache, fingerprint
from reconciler.http.channel import Channel
from reconciler.http.client import ServiceClient
from reconciler.http.notices import Notices
from reconciler.http.ratelimit import RateLimit, RateLimiters
from reconciler.http.retry import RetryPolicy
from reconciler.http.tokens import TokenNote, TokenSession
from reconciler.model import SERVICES, DesiredState
from reconciler.providers import (
    LoopProvider,
    Pipe17Provider,
    Provider,
    ShopifyProvider,
    TikTokShopProvider,
)
from reconciler.secrets import resolve
from reconciler.targets import Target

AUTH_HOST = "tiktok_auth"  # TikTok's auth host: token exchange and refresh


class ClientPool:
    def __init__(
        self,
        target: Target,
        *,
        read_only: bool,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        rate_limits: Mapping[str, RateLimit] | None = None,
        max_connections: int = 100,
    ) -> None:
        if target.embedded and transport is None:
            raise ValueError("the embedded sandbox target needs the emulator's transport")
        self.target = target
        self.read_only = read_only
        self.retry = retry or RetryPolicy.from_env()
        self.cache = RunCache()
        self.notices = Notices()  # what the services warned about during this run (http/notices.py)
        self._transport = transport
        self._limiters = RateLimiters(rate_limits)
        self._max_connections = max_connections
        self._http: dict[str, Channel] = {}
        self._sessions: dict[str, TokenSession] = {}
        self.token_notes: list[TokenNote] = []  # refresh-token warnings of this run
        self._paths: dict[str, str] = {}
        # Shopify is one base URL per shop: the endpoint is parsed once, each shop filled in.
        self._shopify_base = urls.Template(target.endpoints["shopify"].rstrip("/"), "{shop}")
        self._environ = dict(os.environ)  # credentials come from the environment as the run starts
        # One TLS context for all four clients: building one costs tens of milliseconds.
        self._verify: ssl.SSLContext | bool = httpx.create_ssl_context() if target.verify_tls else False

    async def __aenter__(self) -> ClientPool:
        self._http = {service: self._new_client(service) for service in (*SERVICES, AUTH_HOST)}
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        clients, self._http = self._http, {}
        for client in clients.values():
            await client.aclose()

    def _new_client(self, service: str) -> Channel:
        # Redirects are never followed: base URLs are trusted settings, and an
        # answer that points elsewhere is reported as the error it is.
        transport = self._transport or AiohttpTransport(
            verify=self._verify, max_connections=self._max_connections
        )
        return Channel(service, transport, read_only=self.read_only)

    def _client(
        self, service: str, merchant: DesiredState, auth: httpx.Auth, limit_key: str,
        base: str | httpx.URL,
    ) -> ServiceClient:
        if not self._http:
            raise RuntimeError("ClientPool is not open: use `async with ClientPool(...)`")
        return ServiceClient(
            service,
            self._http[service],
            base,
            auth,
            bucket=self._limiters.bucket(service, limit_key),
            retry=self.retry,
            read_only=self.read_only,
            merchant=merchant.slug,
            notices=self.notices,
        )

    def providers(self, merchant: DesiredState) -> dict[str, Provider]:
        """One provider per service for `merchant`, keyed by service name.

        Raises MissingSecretError (naming the variable) on a live target
        when a referenced variable is unset.
        """
        bound = self._bind(merchant)  # each credential resolved once for all four
        return {
            "tiktok_shop": self.tiktok_shop(merchant, bound),
            "pipe17": self.pipe17(merchant, bound),
            "shopify": self.shopify(merchant, bound),
            "loop": self.loop(merchant, bound),
        }

    def tiktok_shop(self, merchant: DesiredState, bound: Bound | None = None) -> TikTokShopProvider:
        bound = bound or self._bind(merchant)
        client = self.client("tiktok_shop", merchant, bound)
        return TikTokShopProvider(client, merchant, self.cache, bound.keys["tiktok_cache"])

    def pipe17(self, merchant: DesiredState, bound: Bound | None = None) -> Pipe17Provider:
        return Pipe17Provider(self.client("pipe17", merchant, bound), merchant)

    def shopify(self, merchant: DesiredState, bound: Bound | None = None) -> ShopifyProvider:
        return ShopifyProvider(self.client("shopify", merchant, bound), merchant)

    def loop(self, merchant: DesiredState, bound: Bound | None = None) -> LoopProvider:
        return LoopProvider(self.client("loop", merchant, bound), merchant)

    def client(self, service: str, merchant: DesiredState, bound: Bound | None = None) -> ServiceClient:
        """`merchant`'s client for one service (what its provider talks through; doctor probes with it)."""
        secrets, keys = bound or self._bind(merchant)
        if service == "tiktok_shop":
            base = self.target.endpoints["tiktok_shop"]
            refresh = merchant.credentials.tiktok_refresh_token
            token = (secrets["tiktok_access_token"] if refresh is None
                     else self.token_session(merchant, secrets))
            auth: httpx.Auth = TikTokAuth(
                secrets["tiktok_app_key"],
                secrets["tiktok_app_secret"],
                token,
                base_path=self._path_of(base),
            )
            return self._client(service, merchant, auth, keys["tiktok_shop"], base)
        if service == "pipe17":
            auth, base = pipe17_auth(secrets["pipe17_api_key"]), self.target.endpoints["pipe17"]
            return self._client(service, merchant, auth, keys["pipe17"], base)
        if service == "shopify":
            auth = shopify_auth(secrets["shopify_access_token"])
            return self._client(service, merchant, auth, keys["shopify"],
                                self._shopify_base.fill(merchant.shopify_shop))
        auth, base = loop_auth(secrets["loop_api_key"]), self.target.endpoints["loop"]
        return self._client("loop", merchant, auth, keys["loop"], base)

    def token_session(self, merchant: DesiredState, secrets: dict[str, str] | None = None
                      ) -> TokenSession:
        """The merchant's TikTok token session for this run (one per merchant, shared)."""
        session = self._sessions.get(merchant.slug)
        if session is None:
            secrets = secrets or self._bind(merchant).secrets
            refresh = merchant.credentials.tiktok_refresh_token
            if refresh is None:
                raise ValueError(f"{merchant.slug} has no tiktok_shop.refresh_token")
            auth_client = self.auth_client(merchant.slug)
            session = self._sessions[merchant.slug] = TokenSession(
                merchant.slug, auth_client, secrets["tiktok_app_key"], secrets["tiktok_app_secret"],
                refresh, secrets["tiktok_refresh_token"], secrets.get("tiktok_access_token"),
                notes=self.token_notes)
        return session

    def auth_client(self, slug: str) -> ServiceClient:
        """A client of TikTok's auth host (token exchange; no signature) for merchant `slug`."""
        return self._client_for(AUTH_HOST, slug, httpx.Auth(), self.target.endpoints[AUTH_HOST])

    def tiktok_client(self, slug: str, app_key: str, app_secret: str, token: str) -> ServiceClient:
        """A signed TikTok Shop client with explicit credentials (onboarding, before a file has them)."""
        base = self.target.endpoints["tiktok_shop"]
        auth = TikTokAuth(app_key, app_secret, token, base_path=self._path_of(base))
        return self._client_for("tiktok_shop", slug, auth, base)

    def _client_for(self, service: str, slug: str, auth: httpx.Auth, base: str) -> ServiceClient:
        if not self._http:
            raise RuntimeError("ClientPool is not open: use `async with ClientPool(...)`")
        return ServiceClient(service, self._http[service], base, auth, retry=self.retry,
                             read_only=self.read_only, merchant=slug)

    def _bind(self, merchant: DesiredState) -> Bound:
        return bind(self.target, merchant, self._environ)

    def _path_of(self, base: str) -> str:
        path = self._paths.get(base)
        if path is None:
            path = self._paths[base] = httpx.URL(base).path
        return path


class Bound(NamedTuple):
    """A merchant's credentials resolved for one target, and the keys they share state under."""

    secrets: dict[str, str]  # credential name -> value
    keys: dict[str, str]  # kind of shared state -> key (see `shared_keys`)


def bind(target: Target, merchant: DesiredState, environ: Mapping[str, str] | None = None) -> Bound:
    """Resolve every credential of `merchant` once (MissingSecretError names an unset one)."""
    secrets = {name: resolve(ref, sandbox=target.is_sandbox, environ=environ)
               for name, ref in merchant.credentials.all().items()}
    # A merchant with a refresh token only is known by it: its access tokens change every run.
    app_key = secrets["tiktok_app_key"]
    token = secrets.get("tiktok_access_token") or secrets["tiktok_refresh_token"]
    keys = {
        "tiktok_shop": fingerprint(token),
        "tiktok_cache": fingerprint(f"{app_key}\n{token}"),
        "pipe17": fingerprint(secrets["pipe17_api_key"]),
        "shopify": merchant.shopify_shop,
        "loop": fingerprint(secrets["loop_api_key"]),
    }
    return Bound(secrets, keys)


def shared_keys(target: Target, merchant: DesiredState) -> dict[str, str]:
    """The keys under which a pool shares state between merchants, per kind of state.

    One client-side rate-limit bucket per service and key (TikTok: the access
    token; Pipe17 and Loop: the API key; Shopify: the shop, whose throttle is
    per app and store) and one TikTok shop-list cache entry per app key and
    token. Merchants with any key in common must be read by the same process
    (reconciler/engine/workers.py). Values are fingerprints, never secrets.
    """
    return bind(target, merchant).keys
