"""From a merged, rendered and validated document to the immutable `DesiredState`.

Only declared values become settings (omitted means unmanaged). Positions
are in the merchant's own file: a value inherited from a profile is placed
at the merchant's `extends:` line, which is where a reader of that file can
change it (by overriding it there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from reconciler.config.problems import Pos
from reconciler.config.rules import get
from reconciler.config.yamldoc import DocPath, Located
from reconciler.declarations import BY_ADDRESS, SETTINGS
from reconciler.model import (
    Credentials,
    DesiredState,
    H5Redirect,
    SecretRef,
    frozen,
)
from reconciler.secrets import parse_ref

PRESENT = "present"


def address_paths(data: Mapping[str, Any]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every managed address with the document path of its value (declared or not)."""
    for setting in SETTINGS:
        yield setting.address, setting.path


def build_desired(doc: Located, file: str, slug: str, root: str = "",
                  templates: Mapping[DocPath, str] | None = None) -> DesiredState:
    """The desired state; `templates` holds the source of each templated field, by path."""
    data = doc.data
    settings: dict[str, Any] = {}
    for address, path in address_paths(data):
        value = get(data, path)
        if value is None:
            continue  # unmanaged
        settings[address] = PRESENT if BY_ADDRESS[address].kind == "presence" else value
    h5 = data["tiktok_shop"]["h5_redirect"]
    document = frozen(data)
    return DesiredState(
        slug=slug,
        source=file,
        shopify_shop=data["shopify"]["shop"],
        tiktok_shop_id=data["tiktok_shop"]["shop_id"],
        tiktok_region=data["tiktok_shop"]["region"],
        loop_portal_domain=data["loop"]["portal_domain"],
        credentials=_credentials(data, root),
        h5_redirect=H5Redirect(approved=h5["approved"], evidence=h5.get("evidence")),
        settings=MappingProxyType(settings),
        positions=_Positions(doc, file, settings, document),
        document=document,
        templates=MappingProxyType({address: (templates or {})[path]
                                    for address, path in address_paths(data)
                                    if path in (templates or {}) and address in settings}),
    )


class _Positions(Mapping[str, tuple[int, int]]):
    """(line, column) of each managed address and each dotted document path, in `file`.

    Worked out on first use: a plan or an apply never asks, and the
    placing would otherwise cost a third of building the desired state.
    """

    __slots__ = ("_doc", "_file", "_settings", "_document", "_table")

    def __init__(self, doc: Located, file: str, settings: Mapping[str, Any],
                 document: Mapping[str, Any]) -> None:
        self._doc = Located({}, doc.values, {})  # positions only: the data is in `document`
        self._file = file
        self._settings = settings
        self._document = document
        self._table: dict[str, tuple[int, int]] | None = None

    def _positions(self) -> dict[str, tuple[int, int]]:
        if self._table is None:
            place = _placer(self._doc, self._file)
            table = {address: place(path) for address, path in address_paths(self._document)
                     if address in self._settings}
            _place_values(self._document, (), "", place, table)
            self._table = table
        return self._table

    def __getitem__(self, name: str) -> tuple[int, int]:
        return self._positions()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._positions())

    def __len__(self) -> int:
        return len(self._positions())


def _credentials(data: dict[str, Any], root: str) -> Credentials:
    def ref(*path: str) -> SecretRef:
        parsed = parse_ref(get(data, path), root)
        assert parsed is not None  # the schema admits only env: and sops: references
        return parsed

    def optional(*path: str) -> SecretRef | None:
        return ref(*path) if get(data, path) is not None else None

    return Credentials(
        tiktok_app_key=ref("tiktok_shop", "app_key"),
        tiktok_app_secret=ref("tiktok_shop", "app_secret"),
        tiktok_access_token=optional("tiktok_shop", "access_token"),
        shopify_access_token=ref("shopify", "access_token"),
        pipe17_api_key=ref("pipe17", "api_key"),
        loop_api_key=ref("loop", "api_key"),
        tiktok_refresh_token=optional("tiktok_shop", "refresh_token"),
    )


def _placer(doc: Located, file: str) -> Callable[[DocPath], tuple[int, int]]:
    """(line, column) in the merchant file for a document path."""
    values = doc.values
    extends = values.get(("extends",)) or Pos(file, 1, 1)
    inherited = (extends.line, extends.column)

    def place(path: DocPath) -> tuple[int, int]:
        pos = values.get(path) or doc.value_pos(path)
        return (pos.line, pos.column) if pos.file == file else inherited  # else from a profile

    return place


def _place_values(value: Mapping[str, Any], path: DocPath, dotted: str,
                  place: Callable[[DocPath], tuple[int, int]],
                  positions: dict[str, tuple[int, int]]) -> None:
    """The position of every value in the document, by dotted path (`loop.portal_domain`)."""
    for key, item in value.items():
        here = (*path, key)
        name = f"{dotted}.{key}" if dotted else str(key)
        positions[name] = place(here)
        if isinstance(item, Mapping):
            _place_values(item, here, name, place, positions)
