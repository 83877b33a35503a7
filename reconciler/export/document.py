"""What an exported merchant file says: its identity, plus each live value that differs
from the profile, as far as the file can say it and still validate.

Every candidate is proven by the real loader (`load_merchant`), so the
profile's templates are rendered with the merchant's own values before
comparing, and a live value the schema or a domain rule rejects (Loop
looking orders up by email, say) is left to the profile, with a comment:
the plan will then show the change that puts it right.
"""

from __future__ import annotations

import copy
import os
import tempfile
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.config import Problem, load_merchant
from reconciler.config.desired import address_paths
from reconciler.config.schema import SCHEMA_FILE, shipped_schema_path
from reconciler.declarations import BY_ADDRESS
from reconciler.engine import diff
from reconciler.export.yamlout import DocPath, dump
from reconciler.model import SERVICE_NAMES, DesiredState
from reconciler.providers import PROVIDER_CLASSES
from reconciler.secrets import redactor

MODELINE = "yaml-language-server: $schema="
H5_PATH: DocPath = ("tiktok_shop", "h5_redirect")
_JINJA = ("{{", "{%", "{#")


class ExportError(Exception):
    pass


@dataclass
class Built:
    text: str
    notes: list[str] = field(default_factory=list)


def same(address: str, left: Any, right: Any) -> bool:
    service = PROVIDER_CLASSES.get(address.split(".", 1)[0])

    def norm(value: Any) -> Any:
        value = diff.normalize(address, value)
        return service.normalize(address, value) if service else value

    return norm(left) == norm(right)


def as_template(address: str, value: Any) -> Any:
    """A live text written into a templated field must render to itself."""
    if address in ("loop.portal.instructions", "tiktok_shop.return_proxy.return_url") and isinstance(value, str):
        text = value.rstrip() + ("\n" if "\n" in value.strip() else "")
        if any(mark in text for mark in _JINJA):
            return "{% raw %}" + text + "{% endraw %}"
        return text
    return value


def with_values(base: Mapping[str, Any], values: Mapping[DocPath, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(dict(base))
    for path, value in values.items():
        node = doc
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return doc


def load_candidate(doc: Mapping[str, Any], slug: str, merchants_dir: Path) -> tuple[DesiredState | None, list[Problem]]:
    """Load `doc` as `<slug>.yaml` with the profiles of `merchants_dir`, as `validate` would."""
    with tempfile.TemporaryDirectory(prefix="reconciler-export-") as directory:
        path = Path(directory) / f"{slug}.yaml"
        path.write_text(dump(doc), encoding="utf-8")
        result = load_merchant(path, merchants_dir)
    return (result.merchants[0] if result.merchants else None), result.problems


def modeline(file_dir: Path, merchants_dir: Path) -> str:
    """The editor's schema line for a file written to `file_dir`.

    The repository's editors' copy (`schemas/` beside the merchants directory),
    relative to the file, when it exists, as in the shipped merchant files;
    otherwise the copy installed with the package, which always exists.
    """
    editors = merchants_dir.resolve().parent / "schemas" / SCHEMA_FILE
    if editors.is_file():
        return MODELINE + Path(os.path.relpath(editors, file_dir.resolve())).as_posix()
    return MODELINE + shipped_schema_path().as_posix()


def build(slug: str, identity: dict[str, Any], live: Mapping[str, Any], facts: Mapping[str, Any],
          merchants_dir: Path, *, h5_comment: list[str], header: list[str],
          unavailable: Mapping[str, str] | None = None, file_dir: Path | None = None) -> Built:
    """`unavailable`: assumed contract -> why it could not be read (its settings are unknown).
    `file_dir`: where the file will live (default: the merchants directory)."""
    baseline, problems = load_candidate(identity, slug, merchants_dir)
    if baseline is None:
        raise ExportError(f"{slug}: the merchant's ids do not validate: " + _describe(problems))
    live = redactor.redact_values(dict(live))  # a live value holding a credential becomes "***"
    notes: list[str] = []
    overrides = _differences(baseline.settings, live, notes, unavailable or {})
    accepted = _screen(identity, overrides, slug, merchants_dir, live, notes)
    _connector_note(facts, notes)
    final = with_values(identity, accepted)
    if load_candidate(final, slug, merchants_dir)[0] is None:  # values valid one by one, not together
        final = identity
        notes.append("live values that differ from the profile do not validate together; kept the "
                     "profile's values (see 'reconciler plan')")
    comments = {H5_PATH: h5_comment}
    lines = [modeline(file_dir or merchants_dir, merchants_dir), "", *header]
    if notes:
        lines += ["", "Where live differs from this file ('reconciler plan' shows the changes):"]
        for note in notes:
            lines += textwrap.wrap(note, 96, initial_indent="- ", subsequent_indent="  ")
    return Built(dump(final, header=lines, comments=comments), notes)


def _differences(profile: Mapping[str, Any], live: Mapping[str, Any], notes: list[str],
                 unavailable: Mapping[str, str]) -> dict[DocPath, Any]:
    """Document values for live settings that differ from the profile's (rendered) value."""
    overrides: dict[DocPath, Any] = {}
    for address, path in address_paths({}):
        want, have = profile.get(address), live.get(address)
        contract = BY_ADDRESS[address].contract
        if want is not None and contract in unavailable:
            notes.append(f"{address}: cannot be read (contract {contract} is not available: "
                         f"{unavailable[contract]}); the profile's value applies, set by hand")
            continue
        if want is None or same(address, want, have):
            continue  # unmanaged by the profile, or the profile already says it
        service = SERVICE_NAMES.get(address.split(".", 1)[0], address)
        if have is None:
            notes.append(f"{address}: not set on {service} yet; the profile's value applies")
        elif path[-2:-1] != ("integrations",):
            overrides[path] = as_template(address, have)
    return overrides


def _screen(identity: dict[str, Any], overrides: dict[DocPath, Any], slug: str, merchants_dir: Path,
            live: Mapping[str, Any], notes: list[str]) -> dict[DocPath, Any]:
    """The overrides that validate; each refused one becomes a note naming the rule."""
    if not overrides or load_candidate(with_values(identity, overrides), slug, merchants_dir)[0]:
        return overrides
    accepted: dict[DocPath, Any] = {}
    by_path = {path: address for address, path in address_paths({})}
    for path, value in overrides.items():
        desired, problems = load_candidate(with_values(identity, {path: value}), slug, merchants_dir)
        if desired is not None:
            accepted[path] = value
            continue
        address = by_path[path]
        notes.append(f"{address}: live is {_short(live.get(address))}, which the file cannot say "
                     f"({_describe(problems[:1])}); the profile's value applies")
    return accepted


def _connector_note(facts: Mapping[str, Any], notes: list[str]) -> None:
    if facts.get("shopify.tiktok_channel") is True:
        notes.append("TikTok's own Shopify connector is ON for this shop (Shopify lists its "
                     "sales channel); the file keeps shopify_connector: disabled, and the plan "
                     "lists turning it off")


def _describe(problems: list[Problem]) -> str:
    return "; ".join(f"{p.rule} {p.message}" for p in problems) or "unknown problem"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
