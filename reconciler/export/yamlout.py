"""A small YAML writer for merchant files: block style, comments above keys, literal text blocks.

PyYAML cannot write comments, and merchant files are read by people, so
this writes the few shapes a merchant file has (mappings of scalars) by
hand and proves each result by reading it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

DocPath = tuple[str, ...]
INDENT = "  "


def dump(doc: Mapping[str, Any], *, header: Sequence[str] = (),
         comments: Mapping[DocPath, Sequence[str]] | None = None) -> str:
    """YAML text for `doc`; `comments[path]` lines go above the key at `path`."""
    lines = [_comment(text, "") for text in header] + ([""] if header else [])
    _mapping(doc, (), comments or {}, lines)
    lines = _spaced(lines)
    text = "\n".join(lines) + "\n"
    if yaml.safe_load(text) != _plain(doc):
        raise ValueError("internal error: exported YAML does not read back as written")
    return text


def _spaced(lines: list[str]) -> list[str]:
    """A blank line before each top-level section (a mapping) after the first key."""
    out: list[str] = []
    for index, line in enumerate(lines):
        opens_section = line.endswith(":") and not line.startswith((" ", "#"))
        if opens_section and index and out and out[-1] != "" and not out[-1].startswith("#"):
            out.append("")
        out.append(line)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _comment(text: str, indent: str) -> str:
    return f"{indent}# {text}".rstrip() if text else f"{indent}#"


def _mapping(doc: Mapping[str, Any], path: DocPath, comments: Mapping[DocPath, Sequence[str]],
             lines: list[str]) -> None:
    indent = INDENT * len(path)
    for key, value in doc.items():
        here = (*path, key)
        lines.extend(_comment(text, indent) for text in comments.get(here, ()))
        if isinstance(value, Mapping):
            lines.append(f"{indent}{key}:" + ("" if value else " {}"))
            _mapping(value, here, comments, lines)
        else:
            _scalar(f"{indent}{key}:", value, indent + INDENT, lines)


def _scalar(prefix: str, value: Any, inner: str, lines: list[str]) -> None:
    if isinstance(value, str) and _literal_block_fits(value):
        chomp = "" if value.endswith("\n") and not value.endswith("\n\n") else "-"
        if value.endswith("\n\n"):
            chomp = "+"
        lines.append(f"{prefix} |{chomp}")
        body = value[:-1] if value.endswith("\n") else value
        lines.extend(f"{inner}{line}" if line else "" for line in body.split("\n"))
        return
    lines.append(f"{prefix} {scalar_text(value)}")


def _literal_block_fits(value: str) -> bool:
    if "\n" not in value.rstrip("\n"):
        return False
    printable = all(ch == "\n" or (ch.isprintable() and ch != "\t") for ch in value)
    return printable and not value.startswith((" ", "\n")) and "\r" not in value


def scalar_text(value: Any) -> str:
    """One-line YAML for a scalar: plain when PyYAML would read it back as is, else quoted."""
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31, allow_unicode=True)
    text = text.removesuffix("\n").removesuffix("\n...")
    if "\n" in text or yaml.safe_load(text) != value:
        return json.dumps(value, ensure_ascii=False)
    return text
