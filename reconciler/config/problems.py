"""Problems found in merchant files, and the result of loading a fleet.

A `Problem` always points into a file (`file:line:column`, 1-based), names a
stable rule id (documented in docs/rules.md) and says how to fix it. Messages
never contain credential values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

from reconciler.model import DesiredState


class Pos(NamedTuple):
    """Where a key or value was written: file and 1-based line and column."""

    file: str
    line: int
    column: int


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    rule: str
    message: str
    hint: str = ""

    @classmethod
    def at(cls, pos: Pos, rule: str, message: str, hint: str = "") -> Problem:
        return cls(pos.file, pos.line, pos.column, rule, message, hint)

    def format(self) -> str:
        """One line, always: control characters in a file name or message are escaped."""
        text = f"{printable(self.file)}:{self.line}:{self.column}: {self.rule} {printable(self.message)}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def printable(text: str) -> str:
    """`text` with control characters written as escapes (`\\n`, `\\x1b`), so one problem stays one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)


class ConfigError(Exception):
    """Raised inside the loader to stop processing one file; carries its problems."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.format() for p in problems))
        self.problems = problems


@dataclass
class LoadResult:
    """Valid merchants (sorted by slug) and every problem found (sorted by place)."""

    merchants: list[DesiredState] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)  # profile files named explicitly, checked as profiles

    @property
    def ok(self) -> bool:
        return not self.problems
