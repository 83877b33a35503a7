"""`reconciler connect tiktok SLUG`: a seller authorizes the app; its tokens go into the secrets file.

1. Print the authorization link `{auth}/oauth/authorize?app_key=...&state=...`
   for the merchant to open (on the sandbox it also names the shop, standing
   in for the seller's login, and the redirect).
2. Take the authorization code: pasted on standard input (the code, or the
   whole URL TikTok redirected to), or caught by `--listen 127.0.0.1:PORT`, a
   one-shot HTTP server on loopback that accepts only the `state` it issued.
3. Exchange it at `{auth}/api/v2/token/get`, check that the merchant's shop is
   among the app's authorized shops (`GET /authorization/202309/shops`), and
   store the refresh token (and the access token, when the merchant file
   references one in a `sops:` file) through sops.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import click

from reconciler.commands.common import CommandError, say
from reconciler.commands.listen import catch_redirect, parse_listen
from reconciler.commands.onboarding import MerchantRefs, merchant_refs, store, tiktok_secrets
from reconciler.http.errors import ServiceError
from reconciler.secrets import redactor
from reconciler.targets import Target


def authorize_link(target: Target, app_key: str, state: str, shop_id: str,
                   redirect: str | None) -> str:
    query = {"app_key": app_key, "state": state}
    if target.is_sandbox:  # the sandbox's stand-ins for the seller's login and the app's settings
        query["shop_id"] = shop_id
        if redirect:
            query["redirect_uri"] = redirect
    return f"{target.endpoints['tiktok_auth']}/oauth/authorize?{urlencode(query)}"


def pasted_code(text: str, state: str) -> str:
    """The code from what was pasted: the code itself, or the URL TikTok redirected to."""
    text = text.strip()
    if "code=" not in text:
        if not text:
            raise CommandError("no authorization code on standard input; nothing was stored")
        return text
    query = parse_qs(urlsplit(text).query or text)
    given = next(iter(query.get("state", [])), None)
    if given is not None and given != state:
        raise CommandError("the pasted URL carries another state: it answers a different "
                           "authorization link; nothing was stored")
    return (query.get("code") or [""])[0]


def connect_tiktok(target: Target, merchants_dir: Path, slug: str, listen: str | None,
                   timeout: float, code_input: Any) -> int:
    from reconciler.config import load_merchants
    from reconciler.engine.runtime import client_pool, run

    merchant = merchant_refs(merchants_dir, slug)
    refresh_ref = merchant.refs.get("tiktok_shop.refresh_token")
    if refresh_ref is None or not refresh_ref.is_file:
        raise CommandError(f"{slug}: set tiktok_shop.refresh_token to a sops: reference "
                           f"(e.g. sops:secrets/{slug}.sops.yaml#tiktok_shop.refresh_token) so the "
                           "token has somewhere to go; nothing was stored")
    app_key, app_secret = tiktok_secrets(merchant, target.is_sandbox)
    shop_id = str(merchant.document["tiktok_shop"]["shop_id"])
    state = secrets.token_urlsafe(16)
    address = parse_listen(listen) if listen else None
    redirect = f"http://{address[0]}:{address[1]}/callback" if address else None
    link = authorize_link(target, app_key, state, shop_id, redirect)
    # The app key is the app's public id (TikTok shows it in this very link): printed as is.
    click.echo(f"Target: {target.name}")
    click.echo(f"Ask the seller of {slug} (shop {shop_id}) to open and approve:\n  {link}")
    if address:
        click.echo(f"Waiting for TikTok's redirect on {redirect} ...", err=True)
        code = catch_redirect(address, state, timeout)
    else:
        click.echo("Then paste the authorization code (or the whole URL TikTok redirected to):",
                   err=True)
        code = pasted_code(code_input.readline(), state)
    redactor.add(code)
    merchants = load_merchants(merchants_dir, secret_files=False).merchants

    async def exchange() -> dict[str, Any]:
        async with client_pool(target, merchants, merchants_dir, read_only=False) as pool:
            params = {"app_key": app_key, "app_secret": app_secret, "auth_code": code,
                      "grant_type": "authorized_code"}
            reply = await pool.auth_client(slug).request("GET", "/api/v2/token/get", params=params)
            data = (reply or {}).get("data") or {}
            if not data.get("access_token") or not data.get("refresh_token"):
                raise CommandError("the auth host answered without tokens; nothing was stored")
            for value in (data["access_token"], data["refresh_token"]):
                redactor.add(str(value))
            shops = await pool.tiktok_client(slug, app_key, app_secret, str(data["access_token"])
                                             ).request("GET", "/authorization/202309/shops")
            ids = [str(s.get("id")) for s in ((shops or {}).get("data") or {}).get("shops", [])]
            if shop_id not in ids:
                raise CommandError(f"shop {shop_id} of {slug} is not among the shops that "
                                   f"authorized the app ({len(ids)} do); the seller approved "
                                   "another shop? Nothing was stored")
            return data

    try:
        data = run(exchange())
    except ServiceError as exc:
        raise CommandError(f"{exc}; nothing was stored") from None
    return _store_tokens(merchant, data, merchants_dir)


def _store_tokens(merchant: MerchantRefs, data: dict[str, Any], merchants_dir: Path) -> int:
    refresh_ref = merchant.refs["tiktok_shop.refresh_token"]
    shown = store(refresh_ref, str(data["refresh_token"]), merchants_dir)
    stored = [str(refresh_ref)]
    access_ref = merchant.refs.get("tiktok_shop.access_token")
    if access_ref is not None and access_ref.is_file:
        store(access_ref, str(data["access_token"]), merchants_dir)
        stored.append(str(access_ref))
    say(f"Connected {merchant.slug}: seller {data.get('seller_name', '?')} authorized shop "
        f"{merchant.document['tiktok_shop']['shop_id']}. Stored {' and '.join(stored)} in {shown} "
        "(encrypted); commit the file.")
    expires = data.get("refresh_token_expire_in")
    if isinstance(expires, int):
        from datetime import UTC, datetime

        day = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d")
        say(f"The refresh token expires on {day}; plans warn 30 days before.")
    return 0

