"""Profiles (`merchants/profiles/<name>.yaml`) and `extends:` with deep merge.

A profile is a partial merchant document; it may itself extend another
profile. Merging: mappings merge key by key, anything else (scalars, lists,
null) in the extending file replaces the inherited value. Each profile is
read, checked and merged once per `ProfileStore`, so a fleet of thousands of
merchants extending one profile costs one read of it. Problems inside a
profile file are kept on the store and reported once, against that file;
each merchant extending a broken profile gets one P003 at its `extends:` line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from reconciler.config import schema
from reconciler.config.catalog import hint
from reconciler.config.problems import ConfigError, Problem
from reconciler.config.yamldoc import Located, load_file

PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MAX_DEPTH = 8  # profiles extending profiles: the standard recipe needs one


class ProfileStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.problems: list[Problem] = []
        self._done: dict[str, Located | None] = {}  # None: the profile is broken
        self._loading: list[str] = []  # the extends chain being resolved, to spot cycles

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.iterdir()
                      if p.suffix in (".yaml", ".yml") and PROFILE_NAME.match(p.stem))

    def cycle_through(self, name: str) -> str | None:
        """The cycle `name` would close if extended now, e.g. "a -> b -> a"."""
        if name not in self._loading:
            return None
        return " -> ".join([*self._loading[self._loading.index(name):], name])

    def depth(self) -> int:
        """How many profiles the chain being resolved holds already."""
        return len(self._loading)

    def file_of(self, name: str) -> Path | None:
        """The profile's file, whatever it is: loading it says if it is not a plain file."""
        for suffix in (".yaml", ".yml"):
            path = self.directory / f"{name}{suffix}"
            if path.exists() or path.is_symlink():
                return path
        return None

    def get(self, name: str) -> Located | None:
        """The profile merged with the profiles it extends, or None if it has problems."""
        if name in self._done:
            return self._done[name]
        self._loading.append(name)
        try:
            located = self._load(name)
        except Exception as exc:  # last resort: a bad profile must never become a traceback
            message = f"unexpected {type(exc).__name__} while loading this profile"
            self.problems.append(Problem(str(self.file_of(name)), 1, 1, "F002", message, hint("F002")))
            located = None
        finally:
            self._loading.pop()
        self._done[name] = located
        return located

    def _load(self, name: str) -> Located | None:
        path = self.file_of(name)
        assert path is not None  # callers check existence first
        root = self.directory.parent.resolve()
        if not path.resolve().is_relative_to(root):
            rule = "F004"
            self.problems.append(Problem(str(path), 1, 1, rule, "symbolic link leads out of "
                                         f"{root} (to {path.resolve()}); not loaded", hint(rule)))
            return None
        try:
            doc = load_file(path, str(path))
        except ConfigError as exc:
            self.problems.extend(exc.problems)
            return None
        own = schema.validate(doc, complete=False)
        merged, problems = extend(doc, self)
        self.problems.extend(own + problems)
        return None if own or problems else merged


def extend(doc: Located, store: ProfileStore) -> tuple[Located, list[Problem]]:
    """`doc` merged onto the profile it extends (without the `extends` key).

    On a problem with the profile, returns `doc` itself (without `extends`) and
    problems placed at its `extends:` value.
    """
    own = _without_extends(doc)
    if "extends" not in doc.data:
        return own, []
    name = doc.data["extends"]
    pos = doc.value_pos(("extends",))
    if not isinstance(name, str) or not PROFILE_NAME.match(name):
        shown = repr(name)[:60] if isinstance(name, str) else "not a name"
        return own, [Problem.at(pos, "P004", f"invalid profile name {shown}", hint("P004"))]
    if store.depth() >= MAX_DEPTH:
        return own, [Problem.at(pos, "P005", f"profile chain is deeper than {MAX_DEPTH} profiles "
                                f"(extending '{name}')", hint("P005"))]
    chain = store.cycle_through(name)
    if chain:
        return own, [Problem.at(pos, "P002", f"profiles extend each other in a cycle: {chain}",
                                hint("P002"))]
    if store.file_of(name) is None:
        where = store.directory / f"{name}.yaml"
        return own, [Problem.at(pos, "P001", f"profile '{name}' not found (no {where})", hint("P001"))]
    base = store.get(name)
    if base is None:
        return own, [Problem.at(pos, "P003", f"profile '{name}' has problems (see {store.file_of(name)})",
                                hint("P003"))]
    return merge(base, own), []


def merge(base: Located, over: Located) -> Located:
    """Deep-merge `over` onto `base`; positions follow whichever file supplied each value.

    `base` is a cached profile, shared by every document extending it: none
    of its containers ends up in the result. `over` is the extending
    document's own, read for this merge alone: its containers are taken over.
    """
    values = {**base.values, **over.values}
    keys = {**base.keys, **over.keys}
    return Located(_merge_values(base.data, over.data), values, keys)


def _merge_values(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = {key: _copy(value) for key, value in base.items()}
        for key, value in over.items():
            merged[key] = _merge_values(base[key], value) if key in base else value
        return merged
    return over


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _without_extends(doc: Located) -> Located:
    if "extends" not in doc.data:
        return doc
    data = {k: v for k, v in doc.data.items() if k != "extends"}
    return Located(data, doc.values, doc.keys)
