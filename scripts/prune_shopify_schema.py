"""Prune Shopify's Admin GraphQL introspection to the types the product and the sandbox use.

Source: the npm package @shopify/dev-mcp@1.16.0 (ISC), file
`package/dist/data/admin_<version>.json.gz`. Regenerate both outputs with:

    cd "$(mktemp -d)" && npm pack @shopify/dev-mcp@1.16.0 && tar xzf shopify-dev-mcp-1.16.0.tgz
    .venv/bin/python scripts/prune_shopify_schema.py "$OLDPWD/package/dist/data/admin_2026-10.json.gz"

(run from the repository root; the version must be `SHOPIFY_API_VERSION` in
reconciler/targets.py). It writes the vendored fixture
`tests/fixtures/shopify/admin_<version>.pruned.json.gz` and the schema the
sandbox ships, `reconciler/sandbox/data/shopify_admin_<version>.graphql`.

Pruning keeps, whole, every type named in KEEP_TYPES; of the root types only
the fields named in ROOT_FIELDS; and every enum, scalar and input type those
reach. A field whose type was not kept is dropped, as are interfaces and
possible types that were not kept. Pruning a pruned file changes nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

from graphql import build_client_schema, print_schema

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.targets import SHOPIFY_API_VERSION  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "shopify" / f"admin_{SHOPIFY_API_VERSION}.pruned.json.gz"
PACKAGED = ROOT / "reconciler" / "sandbox" / "data" / f"shopify_admin_{SHOPIFY_API_VERSION}.graphql"

# Root fields the provider, verify and the sandbox's tests send.
ROOT_FIELDS = {
    "QueryRoot": ("shop", "currentAppInstallation", "orders", "order", "publications"),
    "Mutation": ("metafieldsSet",),
}
# Object, interface and union types kept with all their fields.
KEEP_TYPES = frozenset({
    "Shop", "AppInstallation", "AccessScope", "App",
    "Order", "OrderApp", "MailingAddress", "OrderConnection", "OrderEdge", "PageInfo",
    "Publication", "PublicationConnection", "PublicationEdge", "Catalog", "AppCatalog",
    "MetafieldsSetPayload", "Metafield", "MetafieldsSetUserError", "Node",
})
_LEAF_KINDS = frozenset({"SCALAR", "ENUM", "INPUT_OBJECT"})


def _named(ref: dict[str, Any]) -> str:
    while ref.get("ofType"):
        ref = ref["ofType"]
    return ref["name"]


def _reachable(types: dict[str, dict[str, Any]]) -> set[str]:
    """Kept composite types plus every scalar, enum and input type their kept fields reach."""
    composite = set(KEEP_TYPES) | set(ROOT_FIELDS)
    keep = set(composite)
    todo = list(keep)
    while todo:
        kind = types[todo.pop()]
        fields = [f for f in _fields(kind)
                  if _named(f["type"]) in composite or types[_named(f["type"])]["kind"] in _LEAF_KINDS]
        refs = [f["type"] for f in fields] + [a["type"] for f in fields for a in f["args"]]
        refs += [f["type"] for f in kind.get("inputFields") or []]
        for name in map(_named, refs):
            if name not in keep and types[name]["kind"] in _LEAF_KINDS:
                keep.add(name)
                todo.append(name)
    return keep


def _fields(kind: dict[str, Any]) -> list[dict[str, Any]]:
    fields = kind.get("fields") or []
    wanted = ROOT_FIELDS.get(kind["name"])
    return [f for f in fields if wanted is None or f["name"] in wanted]


def _prune_type(kind: dict[str, Any], keep: set[str]) -> dict[str, Any]:
    pruned = dict(kind)
    if kind.get("fields") is not None:
        pruned["fields"] = [
            {**f, "args": [a for a in f["args"] if _named(a["type"]) in keep]}
            for f in _fields(kind) if _named(f["type"]) in keep
        ]
    for key in ("interfaces", "possibleTypes"):
        if kind.get(key) is not None:
            pruned[key] = [t for t in kind[key] if t["name"] in keep]
    return pruned


def prune(introspection: dict[str, Any]) -> dict[str, Any]:
    """The pruned introspection result (`{"data": {"__schema": ...}}`), types sorted by name."""
    schema = introspection["data"]["__schema"]
    types = {t["name"]: t for t in schema["types"]}
    keep = _reachable(types) | {n for n in types if n.startswith("__")}
    keep |= {"String", "Boolean", "ID", "Int", "Float"}
    pruned = {
        **schema,
        "types": [_prune_type(types[name], keep) for name in sorted(keep)],
        "subscriptionType": None,
        "directives": schema.get("directives") or [],
    }
    return {"data": {"__schema": pruned}}


def to_sdl(introspection: dict[str, Any]) -> str:
    """The SDL the sandbox builds its schema from: no descriptions (they are in the
    fixture), because parsing them would be most of the time the sandbox takes to start."""
    schema = introspection["data"]["__schema"]
    bare = {**schema, "types": [_undescribed(t) for t in schema["types"]]}
    return print_schema(build_client_schema({"__schema": bare}, assume_valid=True)) + "\n"


def _undescribed(kind: dict[str, Any]) -> dict[str, Any]:
    plain = {**kind, "description": None}
    for key in ("fields", "inputFields", "enumValues"):
        if kind.get(key) is not None:
            plain[key] = [{**f, "description": None,
                           "args": [{**a, "description": None} for a in f.get("args") or []]}
                          if key == "fields" else {**f, "description": None}
                          for f in kind[key]]
    return plain


def dump_fixture(introspection: dict[str, Any]) -> bytes:
    """Deterministic bytes (mtime 0) so that regenerating changes nothing."""
    text = json.dumps(introspection, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def load(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        document = json.load(handle)
    return {"data": document["data"]}  # drop the package's extra keys (offline_scopes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="admin_<version>.json.gz from @shopify/dev-mcp")
    args = parser.parse_args(argv)
    pruned = prune(load(args.source))
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_bytes(dump_fixture(pruned))
    PACKAGED.parent.mkdir(parents=True, exist_ok=True)
    PACKAGED.write_text(to_sdl(pruned), encoding="utf-8")
    print(f"wrote {FIXTURE.relative_to(ROOT)} and {PACKAGED.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
