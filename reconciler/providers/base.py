"""The provider contract the engine relies on.

A provider reads one service's live settings for one merchant into a
`ServiceSnapshot` (normalized to the addresses of `reconciler.model`) and
applies one `Change` at a time (one change = one write, so the journal and a
partial report are exact). The engine owns the workflow; providers only talk
to their service through the client they are given. A provider built for a
plan receives a read-only client and so cannot write.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from reconciler.model import Change, DesiredState, ServiceSnapshot


class Provider(ABC):
    service: ClassVar[str]

    @classmethod
    def normalize(cls, address: str, value: Any) -> Any:
        """The comparable form of a value at `address` (live or desired).

        `read()` returns live values in this form already; the engine applies
        it to desired values before diffing, so differences that are only API
        normalization (case, trailing whitespace) never show as changes.
        The one place per provider that knows its service's quirks.
        """
        return value

    @abstractmethod
    async def read(self) -> ServiceSnapshot:
        """Read the live settings this product manages, normalized."""

    @abstractmethod
    async def apply(self, change: Change, desired: DesiredState) -> None:
        """Make one change. Idempotent: re-sending an applied change is harmless."""
