"""Secret references: resolution and redaction.

A merchant file holds references only: `env:VAR`, or `sops:PATH#KEY` (a value
in a SOPS-encrypted file, PATH relative to the merchants directory; see
`reconciler.sops`). Resolution happens at the
edge (building a client); values never enter the desired state, plans,
journals or output. Every resolved value is registered with the process-wide
`Redactor`. Structured output (plans, reports, journal lines) is redacted by
value before it is serialized (`Redactor.redact_values`), so redaction can
never break its syntax or checksum; free text (messages, logs) goes through
`Redactor.redact`. A credential shorter than `MIN_LENGTH` is refused: a short
value (`true`, `pull`) also occurs in ordinary text, so hiding it would both
mangle the text and show where the secret is.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import ahocorasick
import orjson

from reconciler import sops
from reconciler.model import SecretRef
from reconciler.sops import SecretFileError

REDACTED = "***"
MIN_LENGTH = 8  # characters; shorter credentials are refused (see above)
_ENV_REF = re.compile(r"^env:([A-Z_][A-Z0-9_]*)$")
_JSON_ESCAPED = re.compile(r'["\\\x00-\x1f]')
# PATH: relative segments that never start with a dot (no `..`, no hidden tricks).
_SOPS_REF = re.compile(
    r"^sops:((?:[A-Za-z0-9_-][A-Za-z0-9_.-]*/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(?:yaml|yml|json))"
    r"#([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)$"
)

__all__ = [
    "MIN_LENGTH", "MissingSecretError", "SecretError", "SecretFileError", "UnsafeSecretError",
    "Redactor", "redactor", "resolve",
]


class SecretError(Exception):
    """A credential reference that cannot be used; the message names it, never a value."""


class MissingSecretError(SecretError):
    """A referenced environment variable is unset on a live target."""

    def __init__(self, ref: SecretRef) -> None:
        super().__init__(
            f"environment variable {ref.var} is not set (referenced as {ref}); "
            f"export it before running against live services"
        )
        self.ref = ref


class UnsafeSecretError(SecretError):
    """A credential too short to redact safely."""

    def __init__(self, ref: SecretRef) -> None:
        super().__init__(
            f"the credential in {ref} is shorter than {MIN_LENGTH} characters, too short to hide "
            f"safely from output; use the real credential"
        )
        self.ref = ref


def parse_ref(text: str, root: str = "") -> SecretRef | None:
    """The reference `text` names (`root`: the merchants directory), or None if malformed."""
    match = _ENV_REF.match(text)
    if match:
        return SecretRef(match.group(1))
    match = _SOPS_REF.match(text)
    if match:
        return SecretRef(match.group(1), "sops", match.group(2), root)
    return None


def file_of(ref: SecretRef) -> tuple[Path, str]:
    """A `sops:` reference's file: (path to open, path as the user reads it)."""
    root = Path(ref.root) if ref.root else Path("merchants")
    path = root / ref.name
    return path, str(path)


@functools.lru_cache(maxsize=65536)  # each is asked for twice a run (checked, then bound)
def sandbox_credential(ref: SecretRef) -> str:
    """The credential the sandbox expects when `ref`'s variable is unset.

    Deterministic from the variable name, so the sandbox (seeding) and the
    clients agree without sharing anything but the merchant files.
    """
    digest = hashlib.sha256((ref.var if not ref.is_file else str(ref)).encode()).hexdigest()[:24]
    return f"sbx_{digest}"


def _automaton(values: list[str]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for value in values:
        automaton.add_word(value, len(value))
    automaton.make_automaton()
    return automaton


_LONG_TEXT = 64 * 1024  # characters


class Redactor:
    """Collects secret values seen by this process and scrubs them from text.

    Matching uses Aho-Corasick automata: one linear pass over the text finds
    every occurrence of every secret, overlapping ones included. A fleet run
    resolves thousands of secrets while it is already redacting output, so
    the secrets are kept in a few automata of doubling size (merged like a
    binary counter): adding a secret never rebuilds them all, and a
    redaction runs at most about log2(n) automata.
    """

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pending: list[str] = []
        self._chunks: list[tuple[list[str], ahocorasick.Automaton]] = []
        self._lock = threading.Lock()
        self._json_escaped = False  # whether a secret holds a character JSON writes escaped

    def add(self, value: str) -> None:
        if len(value) < MIN_LENGTH or value in self._values:  # most values are added again and again
            return
        with self._lock:
            if value not in self._values:
                self._values.add(value)
                self._pending.append(value)
                if _JSON_ESCAPED.search(value):
                    self._json_escaped = True

    def _matchers(self, merged: bool = False) -> list[ahocorasick.Automaton]:
        """The automata covering every secret; with `merged`, one automaton for them all."""
        with self._lock:
            if self._pending:
                values, self._pending = self._pending, []
                while self._chunks and len(self._chunks[-1][0]) <= len(values):
                    values = self._chunks.pop()[0] + values
                self._chunks.append((values, _automaton(values)))
            if merged and len(self._chunks) > 1:
                values = [value for chunk, _ in self._chunks for value in chunk]
                self._chunks = [(values, _automaton(values))]
            return [automaton for _, automaton in self._chunks]

    def redact(self, text: str) -> str:
        # A long text (a fleet's plan) is scanned once by one automaton rather than
        # once per automaton: building one costs about what one scan of it does.
        spans = sorted(
            (end - length + 1, end + 1)
            for automaton in self._matchers(merged=len(text) > _LONG_TEXT)
            for end, length in automaton.iter(text)
        )
        if not spans:
            return text
        pieces, cursor = [], 0
        for start, stop in spans:
            if stop <= cursor:
                continue  # inside a span already redacted
            if start >= cursor:
                pieces.append(text[cursor:start])
                pieces.append(REDACTED)
            cursor = stop
        pieces.append(text[cursor:])
        return "".join(pieces)

    def redact_values(self, value: Any) -> Any:
        """A JSON-like value in which every string holding a secret is `***` (a copy,
        or `value` itself when nothing in it holds a secret; never changed in place).

        The whole string is replaced, so neither where the secret sat nor its
        length shows; mapping keys (field names and addresses) are kept.
        """
        if not self._values:
            return value
        automaton = self._matchers(merged=True)[0]
        if not self._json_escaped and next(automaton.iter(_as_json(value)), None) is None:
            return value  # the common case: one scan of the serialized document finds nothing
        return _redact_value(value, automaton)


def _as_json(value: Any) -> str:
    """`value` serialized, quickly; a secret in a string shows in it unchanged unless the
    secret holds a character JSON escapes (`Redactor` then never relies on this)."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # a type orjson does not take: the same text, slower
        return json.dumps(value, ensure_ascii=False, default=str)


def _redact_value(value: Any, automaton: ahocorasick.Automaton) -> Any:
    if isinstance(value, str):
        return REDACTED if next(automaton.iter(value), None) is not None else value
    if isinstance(value, dict | Mapping):
        return {key: _redact_value(item, automaton) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item, automaton) for item in value]
    return value


redactor = Redactor()


def resolve(ref: SecretRef, *, sandbox: bool, environ: Mapping[str, str] | None = None) -> str:
    """Resolve a reference. Unset variables fall back to a sandbox credential only in sandbox targets.

    `environ`: a copy of the environment taken once for many references (`os.environ`
    encodes and decodes on every lookup); the process's own environment by default.
    A `sops:` reference reads its file's decrypted document (decrypted once per
    process); on a sandbox target with no age key at all, a file only an age key
    opens falls back to a sandbox credential as an unset variable does.
    """
    environ = os.environ if environ is None else environ
    if ref.is_file:
        value = _from_file(ref, sandbox=sandbox, environ=environ)
        if len(value) < MIN_LENGTH:
            raise UnsafeSecretError(ref)
        redactor.add(value)
        return value
    value = environ.get(ref.var) or ""
    if value:
        if len(value) < MIN_LENGTH:
            raise UnsafeSecretError(ref)
        redactor.add(value)
        return value
    if sandbox:
        value = sandbox_credential(ref)
        redactor.add(value)
        return value
    raise MissingSecretError(ref)


def _from_file(ref: SecretRef, *, sandbox: bool, environ: Mapping[str, str]) -> str:
    path, shown = file_of(ref)
    if sandbox and not sops.has_key_material(environ) and sops.age_only(path):
        return sandbox_credential(ref)
    try:
        document = sops.files.document(path, environ, shown)
    except SecretFileError as exc:
        raise SecretFileError(exc.file, ref.key, exc.reason) from None
    try:
        value = sops.lookup(document, ref.key)
    except KeyError:
        raise SecretFileError(shown, ref.key, f"has no key {ref.key}") from None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise SecretFileError(shown, ref.key, "the value there is not a non-empty string")
    return str(value)


def prefetch(refs: Iterable[SecretRef], *, sandbox: bool,
             environ: Mapping[str, str] | None = None) -> None:
    """Decrypt every file `refs` name, in parallel, before they are looked up one by one."""
    environ = os.environ if environ is None else environ
    wanted = [file_of(ref) for ref in refs if ref.is_file]
    if sandbox and not sops.has_key_material(environ):
        wanted = [item for item in wanted if not sops.age_only(item[0])]
    sops.files.prefetch(wanted, environ)
