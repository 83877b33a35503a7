"""The shapes of a declaration: an endpoint, a contract, a managed setting.

Everything is frozen data. The tables themselves are in `endpoints.py` and
`settings.py`; `reconciler.declarations` indexes them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ContractStatus(StrEnum):
    """How much public evidence there is for an API (docs/design.md section 3)."""

    PUBLISHED = "published"  # the vendor documents it: `source` says where
    ASSUMED = "assumed"  # our reading of the vendor's conventions; no public evidence
    NONE = "none"  # no API at all: a person does it, the merchant file attests it


@dataclass(frozen=True)
class Endpoint:
    """One call the product makes. `path` is relative to the service's base URL."""

    id: str  # e.g. "loop.portal_settings.read"
    service: str
    method: str
    path: str  # "{id}" marks a path parameter
    contract: str  # the Contract this call belongs to
    purpose: str
    used_by: tuple[str, ...]  # commands that send it: plan, apply, verify, doctor
    scopes: tuple[str, ...] = ()  # the key/app scopes the vendor requires for it
    probe: bool = False  # doctor sends it (a read, safe on any target)

    @property
    def call(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def writes(self) -> bool:
        return "apply" in self.used_by and self.method != "GET"


@dataclass(frozen=True)
class Contract:
    """A group of endpoints with one evidence status, read together.

    For an `assumed` contract `shape` is the JSON Schema of the read's payload:
    an answer outside it means the contract is not what the service speaks.
    """

    id: str  # e.g. "loop.portal_settings"
    service: str
    status: ContractStatus
    source: str | None  # where it is published, or why it is assumed
    read: str | None = None  # the Endpoint id that reads it (and proves it in a run)
    shape: Mapping[str, Any] | None = None
    manual_title: str = ""  # what a person does instead, when it cannot be used
    manual_where: str = ""  # the admin screen, e.g. "Loop admin > Return portal"
    proof: str | None = None  # the verify check that proves the manual outcome, if any


Destructive = Callable[[Any, Any, Mapping[str, Any]], bool]  # (before, after, live) -> bool


def never(before: Any, after: Any, live: Mapping[str, Any]) -> bool:
    return False


@dataclass(frozen=True)
class Setting:
    """One managed setting: where it comes from, how it is read and written, how it is gated."""

    address: str  # reconciler.model docstring
    path: tuple[str, ...]  # where it sits in the merchant file
    service: str
    contract: str  # the Contract that reads and writes it
    label: str  # what a person calls it in the vendor's admin
    where: str  # exact place in the admin screen
    kind: str  # "enum" | "text" | "bool" | "presence"
    wire: str | None = None  # the provider's field on the wire
    allowed: tuple[Any, ...] | None = None  # enum values, in the merchant file's vocabulary
    max_length: int | None = None
    order: int = 100  # apply order (lower first)
    destructive: Destructive = field(default=never)
    held_by: tuple[str, ...] = ()  # manual action ids that hold it back, first wins
    normalize: str = "none"  # "lower" | "strip" | "text" | "none": see providers' normalize


@dataclass(frozen=True)
class Attestation:
    """A setting with no API at all (`none`): a person does it, the merchant file attests it.

    `path` holds `approved: bool` and `evidence: str`; until approved, the plan
    lists the manual action `id` (`instructions` takes {shop_id} and {source}).
    """

    id: str
    path: tuple[str, ...]
    service: str
    contract: str
    title: str
    instructions: str
