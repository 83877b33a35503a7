"""Desired vs live: the changes that make one merchant match.

Only declared (managed) settings are compared. API quirks that are not real
differences are filtered here, in one place (`normalize`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.engine import gates
from reconciler.model import Action, Change, DesiredState, ManualAction
from reconciler.providers import PROVIDER_CLASSES


def normalize(address: str, value: Any) -> Any:
    """The comparable form of a setting, as the service's provider defines it.

    Each provider knows its service's quirks (case, trailing whitespace); the
    engine applies that one definition to both sides before comparing.
    """
    provider = PROVIDER_CLASSES.get(address.split(".", 1)[0])
    return provider.normalize(address, value) if provider else value


def diff(desired: DesiredState, live: Mapping[str, Any],
         manual: list[ManualAction]) -> list[Change]:
    """Changes in apply order. `live` is the union of all services' snapshot settings."""
    manual_ids = {action.id for action in manual}
    changes: list[Change] = []
    for address, want in desired.settings.items():
        have = live.get(address)
        if want == have or normalize(address, want) == normalize(address, have):
            continue
        action = Action.CREATE if have is None else Action.UPDATE
        if _is_integration(address):
            # The integration record exists or not; its settings are separate changes.
            if have is not None:
                continue
            action = Action.CREATE
        destructive = gates.is_destructive(address, action, have, want, live)
        blocked_by = gates.held_by(address, manual_ids)
        if blocked_by is None and destructive:
            blocked_by = gates.DESTRUCTIVE
        changes.append(Change(
            address=address, action=action, before=have, after=want,
            destructive=destructive, blocked_by=blocked_by,
        ))
    changes.sort(key=lambda c: gates.order_key(c.address, c.action))
    return changes


def _is_integration(address: str) -> bool:
    parts = address.split(".")
    return len(parts) == 3 and parts[:2] == ["pipe17", "integration"]
