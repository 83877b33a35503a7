"""What a terminal gets: values with control characters shown, and diffs of long values.

A value read from a service or a merchant file may hold terminal escape
sequences (`\\x1b]52;...` writes the clipboard, `\\x1b[2J` clears the screen),
other C0 or C1 controls, or bidirectional overrides that make a reviewer read
text in another order than it is. `terminal_safe` shows each as an escape
(`\\x1b`, `\\u202e`), so what is printed is what is there.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Any

_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_CONTROLS = "".join(chr(c) for c in [*range(0x20), 0x7f, *range(0x80, 0xa0)]) + _BIDI + "\u2028\u2029"
_TABLE = {ord(c): (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}") for c in _CONTROLS}
_KEEP_LINES = {**_TABLE}
for _kept in "\n\t":
    del _KEEP_LINES[ord(_kept)]
_UNSAFE = re.compile("[" + re.escape(_CONTROLS) + "]")

LONG = 60  # characters: a longer value is shown in full on its own lines, with a word diff


def terminal_safe(text: str, *, keep_newlines: bool = True) -> str:
    """`text` with every control character, escape sequence start and bidi override escaped."""
    if not _UNSAFE.search(text):  # the common case costs one scan
        return text
    return text.translate(_KEEP_LINES if keep_newlines else _TABLE)


def show(value: Any) -> str:
    """One value on one line, in full: JSON (strings quoted), controls escaped."""
    return terminal_safe(json.dumps(value, ensure_ascii=False), keep_newlines=False)


def is_long(value: Any) -> bool:
    return isinstance(value, str) and (len(value) > LONG or "\n" in value)


def line_diff(before: str, after: str) -> list[str]:
    """`- old line` / `+ new line` / `  same line` for multi-line text, every line shown;
    a long line replaced by another gets a `~` word diff under the pair."""
    old, new = before.splitlines(), after.splitlines()
    lines: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            lines += [f"  {_line(text)}" for text in old[i1:i2]]
            continue
        lines += [f"- {_line(text)}" for text in old[i1:i2]]
        lines += [f"+ {_line(text)}" for text in new[j1:j2]]
        if tag == "replace" and i2 - i1 == j2 - j1:
            lines += [f"~ {word_diff(a, b)}" for a, b in zip(old[i1:i2], new[j1:j2], strict=True)
                      if max(len(a), len(b)) > LONG]
    return lines


def _line(text: str) -> str:
    return terminal_safe(text, keep_newlines=False)


def word_diff(before: str, after: str, *, context: int = 4) -> str:
    """The words that changed, as `[-removed-]{+added+}`, with a few words of context either side."""
    old, new = re.split(r"(\s+)", before), re.split(r"(\s+)", after)
    pieces: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            same = old[i1:i2]
            if len(same) > 4 * context:
                same = [*same[: 2 * context if pieces else 0], " … ", *same[-2 * context:]]
            pieces.append("".join(same))
            continue
        if i2 > i1:
            pieces.append("[-" + "".join(old[i1:i2]) + "-]")
        if j2 > j1:
            pieces.append("{+" + "".join(new[j1:j2]) + "+}")
    return terminal_safe("".join(pieces).strip(), keep_newlines=False)


def value_diff(before: Any, after: Any) -> list[str]:
    """Detail lines for a changed long or multi-line value: both in full, then what changed."""
    if not (is_long(before) or is_long(after)):
        return []
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before + after):
        return line_diff(before, after)
    lines = [f"- {show(before)}", f"+ {show(after)}"]
    if isinstance(before, str) and isinstance(after, str):
        lines.append(f"~ {word_diff(before, after)}")
    return lines


def change_diff(change: Mapping[str, Any]) -> list[str]:
    """The detail lines of a plan change (`action`, `before`, `after`) whose value is long or
    multi-line, for every renderer: an update's line or word diff (value_diff), a created or
    removed value's lines each signed `+` or `-`; nothing for a short value."""
    before, after = change["before"], change["after"]
    if change["action"] == "update":
        return value_diff(before, after)
    value, sign = (after, "+") if change["action"] == "create" else (before, "-")
    if not is_long(value):
        return []
    if "\n" in value:
        return [f"{sign} {line[2:]}" for line in line_diff("", value)]
    return [f"{sign} {show(value)}"]
