"""Safe, bounded YAML reading with the position of every key and value.

Merchant files come from pull requests, so the reader trusts nothing:

* only plain YAML values are built (str, int, float, bool, null, maps,
  lists); any other tag, `!!python/object` included, is an error and is
  never constructed;
* size, nesting depth and alias expansion are bounded before and while the
  document is built, so an alias bomb or a deeply nested file fails fast
  instead of exhausting memory or the stack;
* booleans are YAML 1.2's `true` and `false` only (`off` is the flow
  direction "off", not false);
* duplicate keys, tabs in indentation, binary and non-UTF-8 files, empty
  files and non-mapping documents are reported with a line and column.

Positions are kept beside the data: `values[path]` and `keys[path]` give
where the value at `path` (a tuple of keys and list indexes) and its key
were written.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.config.catalog import hint
from reconciler.config.problems import ConfigError, Pos, Problem

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 16  # a merchant file is six levels deep at most
MAX_VALUES = 20_000  # a merchant file holds about a hundred values

DocPath = tuple[str | int, ...]

_LIBYAML = hasattr(yaml, "CSafeLoader")
# libyaml composes without recursing in Python and refuses nesting deeper than
# about a thousand levels itself, so a document is composed in one pass; the
# builder then bounds depth, tags and alias expansion as it walks the nodes.
if TYPE_CHECKING:  # one static base for the type checker; both offer the same interface
    _BASE_LOADER = yaml.SafeLoader
else:
    _BASE_LOADER = yaml.CSafeLoader if _LIBYAML else yaml.SafeLoader


class _Loader(_BASE_LOADER):
    """The safe loader, remembering how each plain scalar resolves.

    With no path resolvers, a scalar's implicit tag depends only on its text
    and style, and most texts (keys, regions, directions) recur in every
    merchant file; the regular-expression tests run once per distinct text.
    """

    _resolved: dict[tuple[str, tuple[bool, bool]], str] = {}

    def resolve(self, kind: type[Node], value: Any, implicit: Any) -> str:
        if kind is not ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._resolved) < 50_000:  # bounded: unique values (ids, tokens) also pass here
                self._resolved[key] = tag
        return tag


_LOADER = _Loader
_Y = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(
    {"!", *(_Y + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp"))}
)
_COLLECTION_TAGS = frozenset({"!", _Y + "map", _Y + "seq"})
_CONSTRUCTOR = SafeConstructor()
_OPENERS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSERS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


@dataclass
class Located:
    """A YAML document with where each of its keys and values was written."""

    data: dict[str, Any]
    values: dict[DocPath, Pos] = field(default_factory=dict)
    keys: dict[DocPath, Pos] = field(default_factory=dict)

    def value_pos(self, path: DocPath) -> Pos:
        """Where the value at `path` was written, or its nearest written ancestor."""
        for end in range(len(path), -1, -1):
            pos = self.values.get(path[:end])
            if pos is not None:
                return pos
        raise KeyError(path)  # the root always has a position

    def key_pos(self, path: DocPath) -> Pos:
        return self.keys.get(path) or self.value_pos(path)


def load_file(path: Path, file: str) -> Located:
    """Read and parse one file; raise ConfigError with every problem found."""
    return parse_text(read_text(path, file), file)


def read_text(path: Path, file: str) -> str:
    start = Pos(file, 1, 1)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # checked before opening: reading a FIFO would block
            raise _error(start, "F003", "not a regular file (a device, FIFO, socket or directory)")
        size = info.st_size
        if size > MAX_BYTES:
            raise _error(start, "Y007", f"file is {size} bytes; the limit is {MAX_BYTES} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise _error(start, "F001", f"cannot read file: {exc.strerror or exc}") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _error(_byte_pos(data, nul, file), "Y008", "binary file (it contains NUL bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = _byte_pos(data, exc.start, file)
        raise _error(where, "Y008", f"not valid UTF-8 (byte 0x{data[exc.start]:02x})") from None
    return text.removeprefix("\ufeff")


def parse_text(text: str, file: str) -> Located:
    if not text.strip():
        raise _error(Pos(file, 1, 1), "Y009", "file is empty")
    try:
        if not _LIBYAML:  # the pure-Python composer recurses: bound the depth before composing
            _prescan(text, file)
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError([_syntax_problem(exc, text, file)]) from None
    if root is None or (isinstance(root, ScalarNode) and root.tag == _Y + "null" and not root.value):
        raise _error(Pos(file, 1, 1), "Y009", "file holds no values, only comments or markers")
    if not isinstance(root, MappingNode):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        raise _error(_mark(root, file), "Y010", f"the document is {kind}, not a mapping")
    return _Builder(file, text).document(root)


def _prescan(text: str, file: str) -> bool:
    """Walk the event stream (no recursion, no building) to bound depth and refuse tags.

    Needed before composing only without libyaml; otherwise used to tell
    whether a document too large once expanded owes that to aliases.

    Returns whether the document uses aliases.
    """
    depth = 0
    aliases = False
    for event in yaml.parse(text, Loader=_LOADER):
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in _PLAIN_TAGS:
            raise _error(_event_pos(event, file), "Y004", f"unsupported tag {_short(_tag(tag))}")
        if isinstance(event, _OPENERS):
            depth += 1
            if depth > MAX_DEPTH:
                raise _error(_event_pos(event, file), "Y006", f"nesting deeper than {MAX_DEPTH} levels")
        elif isinstance(event, _CLOSERS):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases = True
    return aliases


class _Builder:
    """Builds plain Python values from composed nodes, recording positions."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.text = text
        self.count = 0
        self.active: set[int] = set()  # nodes on the current path: an alias cycle revisits one
        self.problems: list[Problem] = []
        self.located = Located({})

    def document(self, root: MappingNode) -> Located:
        self.located.data = self.build(root, ())
        if self.problems:
            raise ConfigError(self.problems)
        return self.located

    def build(self, node: Node, path: DocPath) -> Any:
        self._account(node, path)
        if isinstance(node, ScalarNode):
            self.located.values[path] = _mark(node, self.file)
            return self.scalar(node)
        if node.tag not in _COLLECTION_TAGS:
            raise _error(_mark(node, self.file), "Y004", f"unsupported tag {_short(_tag(node.tag))}")
        # A mapping or list is placed at its key: that is the line a reader looks for.
        self.located.values[path] = self.located.keys.get(path) or _mark(node, self.file)
        self.active.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def _account(self, node: Node, path: DocPath) -> None:
        self.count += 1
        if id(node) in self.active:
            where = self.located.keys.get(path) or _mark(node, self.file)  # the alias, not its anchor
            raise _error(where, "Y005", "an alias refers to the value that contains it")
        if len(path) >= MAX_DEPTH:
            raise _error(_mark(node, self.file), "Y006", f"nesting deeper than {MAX_DEPTH} levels")
        if self.count > MAX_VALUES:
            if _prescan(self.text, self.file):  # aliases: say so, the file itself may be small
                # aliased nodes carry the anchor's mark; the top-level key is where it blew up
                where = self.located.keys.get(path[:1]) or _mark(node, self.file)
                message = f"aliases expand to more than {MAX_VALUES} values"
                raise _error(where, "Y005", message)
            raise _error(_mark(node, self.file), "Y007", f"more than {MAX_VALUES} values")

    def scalar(self, node: ScalarNode) -> Any:
        tag = node.tag
        if tag in (_Y + "str", _Y + "timestamp", "!"):
            return node.value  # dates stay as written: they are evidence text here
        if tag == _Y + "int":
            try:
                return _CONSTRUCTOR.construct_yaml_int(node)
            except ValueError:  # Python refuses to convert integers of thousands of digits
                raise _error(_mark(node, self.file), "Y007",
                             f"number of {len(node.value)} characters is too long") from None
        if tag == _Y + "float":
            return _CONSTRUCTOR.construct_yaml_float(node)
        if tag == _Y + "bool":
            # YAML 1.2 booleans only: `off`, `no`, `on`, `yes` stay text, so
            # `refunds: off` means the flow direction "off", not false.
            lowered = node.value.lower()
            return lowered == "true" if lowered in ("true", "false") else node.value
        if tag == _Y + "null":
            return None
        raise _error(_mark(node, self.file), "Y004", f"unsupported tag {_short(_tag(tag))}")

    def mapping(self, node: MappingNode, path: DocPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key_pos = _mark(key_node, self.file)
            if key_node.tag == _Y + "merge":
                raise _error(key_pos, "Y012", "YAML merge keys (<<) are not supported")
            key = self.scalar(key_node) if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                raise _error(key_pos, "Y011", f"mapping key {_describe_key(key_node)} is not a string")
            if key in result:
                first = self.located.keys[(*path, key)]
                self.problems.append(Problem.at(
                    key_pos, "Y002", f"duplicate key '{_short(key)}' (first written at line {first.line})",
                    hint("Y002"),
                ))
                continue
            self.located.keys[(*path, key)] = key_pos
            result[key] = self.build(value_node, (*path, key))
        return result


def _syntax_problem(exc: yaml.YAMLError, text: str, file: str) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        pos = Pos(file, mark.line + 1, mark.column + 1)
    elif isinstance(position := getattr(exc, "position", None), int):
        pos = _char_pos(text, position, file)
    else:
        pos = Pos(file, 1, 1)
    tab = _tab_in_indentation(text, pos.line, file)
    if tab is not None:
        return Problem.at(tab, "Y003", "tab character in indentation", hint("Y003"))
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    return Problem.at(pos, "Y001", message, hint("Y001"))


def _tab_in_indentation(text: str, up_to_line: int, file: str) -> Pos | None:
    """The first tab used as indentation at or before the line where parsing failed."""
    for number, line in enumerate(text.splitlines()[:up_to_line], start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return Pos(file, number, indent.index("\t") + 1)
    return None


def _error(pos: Pos, rule: str, message: str) -> ConfigError:
    return ConfigError([Problem.at(pos, rule, message, hint(rule))])


def _mark(node: Node, file: str) -> Pos:
    return Pos(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _event_pos(event: yaml.Event, file: str) -> Pos:
    mark = event.start_mark
    assert mark is not None, "the parser marks every event it emits"
    return Pos(file, mark.line + 1, mark.column + 1)


def _byte_pos(data: bytes, offset: int, file: str) -> Pos:
    line_start = data.rfind(b"\n", 0, offset) + 1
    return Pos(file, data.count(b"\n", 0, offset) + 1, offset - line_start + 1)


def _char_pos(text: str, offset: int, file: str) -> Pos:
    line_start = text.rfind("\n", 0, offset) + 1
    return Pos(file, text.count("\n", 0, offset) + 1, offset - line_start + 1)


def _describe_key(node: Node) -> str:
    return _short(repr(node.value)) if isinstance(node, ScalarNode) else "that is a collection"


def _tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_Y) if tag.startswith(_Y) else tag


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
