"""`reconciler doctor`: which endpoints work for each merchant, read-only (see probes.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from reconciler import declarations
from reconciler.doctor.probes import AVAILABLE, Probe, probe_merchant
from reconciler.engine.fleet import bounded_map
from reconciler.engine.plan import error_text
from reconciler.http.client import ServiceClient
from reconciler.http.tokens import TokenNote
from reconciler.model import SERVICES, DesiredState


class ClientSource(Protocol):
    def client(self, service: str, merchant: DesiredState) -> ServiceClient: ...


@dataclass(frozen=True)
class MerchantDoctor:
    slug: str
    probes: tuple[Probe, ...] = ()
    error: str | None = None
    # What the run learnt about the merchant's TikTok tokens and an operator must act on:
    # a refresh token that expires within 30 days, one TikTok rotated (never a value).
    tokens: tuple[TokenNote, ...] = ()

    @property
    def unusable(self) -> bool:
        return self.error is not None or any(p.unusable for p in self.probes)

    def to_json(self) -> dict[str, Any]:
        return {"merchant": self.slug, "error": self.error, "unusable": self.unusable,
                "endpoints": [p.to_json() for p in self.probes],
                "tokens": [{"kind": n.kind, "message": n.message} for n in self.tokens]}


async def doctor_merchant(desired: DesiredState, source: ClientSource) -> MerchantDoctor:
    try:
        clients = {service: source.client(service, desired) for service in SERVICES}
        probes = tuple(await probe_merchant(desired, clients))
        # The TikTok probes exchanged the refresh token (once per run, see http/tokens.py).
        notes = tuple(n for n in getattr(source, "token_notes", ()) if n.merchant == desired.slug)
        return MerchantDoctor(desired.slug, probes, tokens=notes)
    except Exception as exc:  # e.g. an unset secret on a live target
        return MerchantDoctor(desired.slug, error=error_text(exc))


async def doctor_fleet(merchants: list[DesiredState], source: ClientSource, *, parallelism: int = 10,
                       on_done: Callable[[MerchantDoctor], None] | None = None) -> list[MerchantDoctor]:
    return await bounded_map(merchants, lambda m: doctor_merchant(m, source),
                             parallelism=parallelism, on_done=on_done)


def scopes() -> dict[str, list[str]]:
    """The key or app scopes each service needs, from the endpoint declarations."""
    needed: dict[str, list[str]] = {}
    for endpoint in declarations.ENDPOINTS:
        for scope in endpoint.scopes:
            if scope not in needed.setdefault(endpoint.service, []):
                needed[endpoint.service].append(scope)
    return needed


def document(target: str, reports: list[MerchantDoctor]) -> dict[str, Any]:
    return {"target": target, "ok": not any(r.unusable for r in reports), "scopes": scopes(),
            "merchants": [r.to_json() for r in reports]}


def render_text(target: str, reports: list[MerchantDoctor]) -> str:
    lines = [f"Target: {target}"]
    for report in reports:
        lines.append(f"{report.slug}:" + (f" error: {report.error}" if report.error else ""))
        for probe in report.probes:
            endpoint = probe.endpoint
            line = (f"  {endpoint.service:<12} {endpoint.call:<44} {probe.status.value:<9} "
                    f"{probe.result}")
            if probe.reason and probe.result != AVAILABLE:
                line += f": {probe.reason}"
            lines.append(line)
        for note in report.tokens:
            lines.append(f"  {'tiktok_shop':<12} {'refresh token':<44} {'warning':<9} {note.message}")
    lines.append("Scopes needed: " + "; ".join(f"{service} {', '.join(names)}"
                                               for service, names in scopes().items()))
    bad = sum(r.unusable for r in reports)
    verdict = (f"{bad} merchant(s) with an endpoint the plan needs unusable" if bad else
               "every endpoint the plan needs is usable (an unavailable assumed endpoint becomes "
               "a manual action)")
    lines.append(f"Doctor: {len(reports)} merchant(s); {verdict}.")
    tokens = sum(bool(r.tokens) for r in reports)
    if tokens:
        lines.append(f"{tokens} merchant(s) with a TikTok token to act on (see the warnings above).")
    return "\n".join(lines)
