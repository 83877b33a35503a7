"""The provider contract the engine relies on.

A provider reads one service's live settings for one merchant into a
`ServiceSnapshot` (normalized to the addresses of `reconciler.model`) and
applies one `Change` at a time (one change = one write, so the journal and a
partial report are exact). The engine owns the workflow; providers only talk
to their service through the client they are given. A provider built for a
plan receives a read-only client and so cannot write.

Reads of an `assumed` contract go through `read_assumed`, the one place that
turns "no such endpoint" or an answer outside the declared shape into an
`Unavailable` instead of an error (docs/design.md section 3, graceful on what is
not published).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, ClassVar

import fastjsonschema
import jsonschema

from reconciler import declarations
from reconciler.declarations import ContractStatus
from reconciler.http.errors import ServiceError, endpoint_missing
from reconciler.model import Change, DesiredState, ServiceSnapshot, Unavailable


class Provider(ABC):
    service: ClassVar[str]

    @classmethod
    def normalize(cls, address: str, value: Any) -> Any:
        """The comparable form of a value at `address` (live or desired).

        `read()` returns live values in this form already; the engine applies
        it to desired values before diffing, so differences that are only API
        normalization (case, trailing whitespace) never show as changes.
        The declaration of each setting says which form (reconciler.declarations).
        """
        return declarations.normalized(address, value)

    @abstractmethod
    async def read(self) -> ServiceSnapshot:
        """Read the live settings this product manages, normalized."""

    @abstractmethod
    async def apply(self, change: Change, desired: DesiredState) -> None:
        """Make one change. Idempotent: re-sending an applied change is harmless."""

    async def read_assumed(self, contract_id: str,
                           call: Callable[[], Awaitable[Any]]) -> tuple[Any, Unavailable | None]:
        """(payload, None), or (None, why) when the service does not speak this assumed contract.

        Only a "no such endpoint" answer or a payload outside the contract's
        shape degrades; any other failure is raised as it would be for a
        published contract.
        """
        contract = declarations.BY_CONTRACT_ID[contract_id]
        assert contract.status is ContractStatus.ASSUMED and contract.read is not None
        endpoint = declarations.BY_ENDPOINT_ID[contract.read]
        try:
            payload = await call()
        except ServiceError as exc:
            if not endpoint_missing(exc):
                raise
            return None, Unavailable(contract_id, endpoint.call, answer_of(exc))
        problem = shape_problem(contract_id, payload)
        if problem is not None:
            return None, Unavailable(contract_id, endpoint.call,
                                     f"the answer is not the assumed contract's shape: {problem}")
        return payload, None


def answer_of(exc: ServiceError) -> str:
    """What the service answered ("HTTP 404, Not found."), without the call it answered."""
    return exc.detail.partition(" failed: ")[2] or exc.detail


@cache
def _validator(contract_id: str) -> jsonschema.protocols.Validator:
    shape = declarations.BY_CONTRACT_ID[contract_id].shape or {}
    return jsonschema.Draft202012Validator(dict(shape))


@cache
def _fast_check(contract_id: str) -> Callable[[Any], Any]:
    """A compiled yes/no check of the shape (a plan runs one per assumed read).

    The shapes use only type, required, properties and items, which mean the
    same in draft-07 (what fastjsonschema implements) and in 2020-12.
    """
    shape = declarations.BY_CONTRACT_ID[contract_id].shape or {}
    return fastjsonschema.compile(
        {"$schema": "http://json-schema.org/draft-07/schema#", **shape}, use_default=False)


def shape_problem(contract_id: str, payload: Any) -> str | None:
    """Why `payload` is outside the contract's declared shape, or None."""
    try:
        _fast_check(contract_id)(payload)
        return None
    except fastjsonschema.JsonSchemaException:
        pass  # jsonschema, the reference, decides and explains
    error = jsonschema.exceptions.best_match(_validator(contract_id).iter_errors(payload))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{where or 'the body'}: {error.message}"[:300]
