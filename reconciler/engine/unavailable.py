"""Manual actions for assumed contracts a service did not speak in this run.

When an assumed endpoint answers "no such endpoint" (or a shape the
contract does not describe), the merchant is not errored: each declared
setting under that contract becomes part of one manual action, with the
admin screen where a person sets it and the desired value spelled out, and
its changes are held back (`blocked_by`) like any other manual gate.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from reconciler import declarations
from reconciler.declarations import Setting
from reconciler.model import DesiredState, ManualAction, Unavailable


def unavailable_actions(desired: DesiredState, unavailable: Iterable[Unavailable]) -> list[ManualAction]:
    """One manual action per unavailable contract that holds a setting this merchant manages."""
    actions = []
    for gone in _distinct(unavailable):
        managed = [s for s in declarations.settings_of(gone.contract) if s.address in desired.settings]
        if managed:
            actions.append(_action(desired, gone, managed))
    return actions


def _distinct(unavailable: Iterable[Unavailable]) -> list[Unavailable]:
    seen: dict[str, Unavailable] = {}
    for gone in unavailable:
        seen.setdefault(gone.contract, gone)
    return [seen[c] for c in sorted(seen)]


def _action(desired: DesiredState, gone: Unavailable, managed: list[Setting]) -> ManualAction:
    contract = declarations.BY_CONTRACT_ID[gone.contract]
    steps = "; ".join(f"{s.label} ({s.where}): {_spelled(s, desired.settings[s.address])}"
                      for s in managed)
    proof = (f" verify proves it: its {contract.proof} check passes once the portal is set."
             if contract.proof else " verify cannot see these settings; keep a record of the change.")
    instructions = (
        f"The assumed contract {contract.id} is not available ({gone.endpoint}: {gone.reason}), "
        f"so these settings are neither read nor written here. In {contract.manual_where}, set: "
        f"{steps}.{proof}"
    )
    return ManualAction(id=declarations.manual_action_id(contract.id), title=contract.manual_title,
                        instructions=instructions)


def _spelled(setting: Setting, value: Any) -> str:
    """The desired value as a person types or picks it in the admin screen."""
    if setting.kind == "presence":
        return "added and connected"
    if setting.kind == "bool":
        return "on" if value is True else "off"
    if setting.kind == "text":
        return json.dumps(str(value), ensure_ascii=False)
    return str(value)
