"""The registry: every managed setting and every endpoint, declared once.

    Attestation  a setting with no API at all (H5 Redirect): the file attests it
    Setting   address, merchant-file path, service, contract, wire field,
              allowed values and limits, normalization, apply order,
              destructive predicate, prerequisite gates, admin location
    Contract  evidence status (published with source | assumed | none),
              the endpoint that reads it, the shape an assumed read must have,
              the manual steps when it cannot be used
    Endpoint  method and path per service, scopes, which commands send it

What can be derived is derived from here: the desired state's addresses
(config/desired.py), apply order, destructive changes and gates
(engine/gates.py), provider field maps, the sandbox's limits and its
published-only mode, doctor's probes. Tests check the rest against it: the
merchant schema's enums and limits, the addresses providers return, and the
endpoint tables in docs/providers/*.md. Adding a setting means adding it
here; a test fails until the schema and the provider agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from reconciler.declarations.endpoints import CONTRACTS, ENDPOINTS
from reconciler.declarations.settings import (
    ATTESTATIONS,
    FLOW_ENTITIES,
    INTEGRATIONS,
    LOOP_INSTRUCTIONS_MAX,
    SETTINGS,
)
from reconciler.declarations.types import Attestation, Contract, ContractStatus, Endpoint, Setting

BY_ADDRESS: dict[str, Setting] = {s.address: s for s in SETTINGS}
BY_ATTESTATION: dict[str, Attestation] = {a.id: a for a in ATTESTATIONS}
BY_CONTRACT_ID: dict[str, Contract] = {c.id: c for c in CONTRACTS}
BY_ENDPOINT_ID: dict[str, Endpoint] = {e.id: e for e in ENDPOINTS}
UNRANKED = 1000  # an address with no declaration sorts after every declared one

__all__ = [
    "ATTESTATIONS", "Attestation", "BY_ADDRESS", "BY_ATTESTATION", "BY_CONTRACT_ID", "BY_ENDPOINT_ID", "CONTRACTS", "ENDPOINTS", "FLOW_ENTITIES",
    "INTEGRATIONS", "LOOP_INSTRUCTIONS_MAX", "SETTINGS", "Contract", "ContractStatus", "Endpoint",
    "Setting", "assumed_endpoint", "contract_of", "manual_action_id", "normalize_text",
    "normalized", "settings_of",
]


def contract_of(address: str) -> Contract | None:
    setting = BY_ADDRESS.get(address)
    return BY_CONTRACT_ID[setting.contract] if setting else None


def settings_of(contract_id: str) -> Iterator[Setting]:
    return (s for s in SETTINGS if s.contract == contract_id)


def manual_action_id(contract_id: str) -> str:
    """The manual action that stands in for a contract that cannot be used."""
    return f"{contract_id}.manual"


def normalize_text(text: str) -> str:
    """Line endings, trailing spaces per line and trailing blank lines do not count.

    Loop's editor trims them and YAML block scalars add a final newline, so
    both sides are compared (and written) in this form.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def normalized(address: str, value: Any) -> Any:
    """The comparable form of a value at `address`, as its declaration says."""
    setting = BY_ADDRESS.get(address)
    if setting is None or value is None or not isinstance(value, str):
        return value
    if setting.normalize == "lower":
        return value.strip().lower()
    if setting.normalize == "strip":
        return value.strip()
    if setting.normalize == "text":
        return normalize_text(value)
    return value


@lru_cache(maxsize=1)
def _assumed_patterns() -> tuple[tuple[str, str, re.Pattern[str], Endpoint], ...]:
    found = []
    for endpoint in ENDPOINTS:
        if BY_CONTRACT_ID[endpoint.contract].status is not ContractStatus.ASSUMED:
            continue
        pattern = re.escape(endpoint.path).replace(re.escape("{id}"), "[^/]+")
        found.append((endpoint.service, endpoint.method, re.compile(pattern + "/?"), endpoint))
    return tuple(found)


def assumed_endpoint(service: str, method: str, path: str) -> Endpoint | None:
    """The assumed endpoint a request (path relative to the service base) calls, if any."""
    for svc, verb, pattern, endpoint in _assumed_patterns():
        if svc == service and verb == method and pattern.fullmatch(path):
            return endpoint
    return None
