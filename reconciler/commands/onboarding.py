"""Onboarding: `secrets set SLUG KEY` and `connect tiktok SLUG`.

Both write credentials into the merchant's SOPS-encrypted secrets file
through sops (values on sops' standard input only: never argv, never a
plain-text file, not even a temporary one). Which file: the one the
merchant's own references already name (the reference whose key is KEY
first), else `secrets/<slug>.sops.yaml` under the merchants directory; a new
file is created under the repository's `.sops.yaml` creation rules, found
from the merchants directory upwards.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler import sops
from reconciler.commands.common import CommandError, say
from reconciler.config.profiles import ProfileStore, extend
from reconciler.config.rules import get
from reconciler.config.schema import CREDENTIAL_FIELDS
from reconciler.config.yamldoc import load_file
from reconciler.model import SecretRef
from reconciler.secrets import file_of, parse_ref, redactor, resolve

_KEY = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")  # as after # in a sops: reference


@dataclass(frozen=True)
class MerchantRefs:
    """What onboarding needs from a merchant file, read without requiring its secrets."""

    slug: str
    document: Mapping[str, Any]
    refs: dict[str, SecretRef]  # dotted field ("loop.api_key") -> reference


def merchant_refs(merchants_dir: Path, slug: str) -> MerchantRefs:
    path = merchants_dir / f"{slug}.yaml"
    if not path.is_file():
        raise CommandError(f"no merchant file {path}: write it first (docs/operations.md, "
                           "'Onboarding a merchant')")
    from reconciler.config.problems import ConfigError

    try:
        merged, problems = extend(load_file(path, str(path)), ProfileStore(merchants_dir / "profiles"))
    except ConfigError as exc:
        problems = exc.problems
        merged = None
    if problems or merged is None:
        for problem in problems:
            click.echo(problem.format(), err=True)
        raise CommandError(f"{path} cannot be read; run 'reconciler validate'")
    refs = {}
    for field in CREDENTIAL_FIELDS:
        text = get(merged.data, field)
        ref = parse_ref(text, str(merchants_dir)) if isinstance(text, str) else None
        if ref is not None:
            refs[".".join(field)] = ref
    return MerchantRefs(slug, merged.data, refs)


def secrets_file(merchant: MerchantRefs, key: str, merchants_dir: Path) -> SecretRef:
    """Where KEY goes: the reference naming it, else a file the merchant uses, else the default."""
    files = [r for r in merchant.refs.values() if r.is_file]
    exact = [r for r in files if r.key == key]
    if exact:
        return exact[0]
    own = [r for r in files if r.name.endswith(f"{merchant.slug}.sops.yaml")]
    name = (own or files)[0].name if (own or files) else f"secrets/{merchant.slug}.sops.yaml"
    return SecretRef(name, "sops", key, str(merchants_dir))


def store(ref: SecretRef, value: str, merchants_dir: Path) -> str:
    """Write `value` at `ref` through sops; returns the file as shown to the user."""
    redactor.add(value)
    path, shown = file_of(ref)
    try:
        sops.store(path, ref.key, value, dict(os.environ), cwd=merchants_dir, shown=shown)
    except sops.SecretFileError as exc:
        raise CommandError(str(exc)) from None
    return shown


def read_value(stream: Any = None) -> str:
    """The value from standard input (hidden prompt on a terminal); never from argv."""
    stream = stream or sys.stdin
    if stream.isatty():
        value = click.prompt("Value (input hidden)", hide_input=True, err=True)
    else:
        value = stream.read()
    value = value.removesuffix("\n").removesuffix("\r")
    if not value.strip():
        raise CommandError("no value on standard input; nothing was written")
    return value


def set_secret(merchants_dir: Path, slug: str, key: str) -> int:
    if not _KEY.match(key):
        raise CommandError(f"{key!r} is not a dotted key such as loop.api_key")
    merchant = merchant_refs(merchants_dir, slug)
    ref = secrets_file(merchant, key, merchants_dir)
    shown = store(ref, read_value(), merchants_dir)
    say(f"Stored {key} in {shown} (encrypted). Reference it as {ref}; commit the file.")
    return 0


def tiktok_secrets(merchant: MerchantRefs, target_is_sandbox: bool) -> tuple[str, str]:
    """The app key and secret the merchant file names (values, redacted everywhere)."""
    try:
        environ = dict(os.environ)
        app_key = resolve(merchant.refs["tiktok_shop.app_key"], sandbox=target_is_sandbox,
                          environ=environ)
        app_secret = resolve(merchant.refs["tiktok_shop.app_secret"], sandbox=target_is_sandbox,
                             environ=environ)
    except KeyError as exc:
        raise CommandError(f"{merchant.slug}: {exc.args[0]} is not set in the merchant file "
                           "or its profile") from None
    return app_key, app_secret
