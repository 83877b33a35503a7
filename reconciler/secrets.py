"""Secret references: resolution and redaction.

A merchant file holds `env:VAR` references only. Resolution happens at the
edge (building a client); values never enter the desired state, plans,
journals or output. Every resolved value is registered with the process-wide
`Redactor`, which output layers and log handlers run text through.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading

from reconciler.model import SecretRef

REDACTED = "***"
_ENV_REF = re.compile(r"^env:([A-Z_][A-Z0-9_]*)$")


class MissingSecretError(Exception):
    """A referenced environment variable is unset on a live target."""

    def __init__(self, ref: SecretRef) -> None:
        super().__init__(
            f"environment variable {ref.var} is not set (referenced as {ref}); "
            f"export it before running against live services"
        )
        self.ref = ref


def parse_ref(text: str) -> SecretRef | None:
    match = _ENV_REF.match(text)
    return SecretRef(match.group(1)) if match else None


def sandbox_credential(ref: SecretRef) -> str:
    """The credential the sandbox expects when `ref`'s variable is unset.

    Deterministic from the variable name, so the sandbox (seeding) and the
    clients agree without sharing anything but the merchant files.
    """
    digest = hashlib.sha256(ref.var.encode()).hexdigest()[:24]
    return f"sbx_{digest}"


class Redactor:
    """Collects secret values seen by this process and scrubs them from text."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        if len(value) < 4:
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pattern = None

    def redact(self, text: str) -> str:
        with self._lock:
            if not self._values:
                return text
            if self._pattern is None:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            pattern = self._pattern
        return pattern.sub(REDACTED, text)


redactor = Redactor()


def resolve(ref: SecretRef, *, sandbox: bool) -> str:
    """Resolve a reference. Unset variables fall back to a sandbox credential only in sandbox targets."""
    value = os.environ.get(ref.var)
    if value:
        redactor.add(value)
        return value
    if sandbox:
        value = sandbox_credential(ref)
        redactor.add(value)
        return value
    raise MissingSecretError(ref)
