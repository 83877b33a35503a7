"""Loading merchant files: read, merge profiles, validate, render, check rules.

Per file: safe YAML -> `extends:` merge -> schema (complete) -> templates ->
domain rules -> DesiredState. Then rules across files. Every problem of
every file is collected; a file with any problem yields no DesiredState,
and no file, however broken, raises out of here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.config import schema
from reconciler.config.catalog import hint
from reconciler.config.desired import build_desired
from reconciler.config.fleet import Member, check_fleet
from reconciler.config.problems import ConfigError, LoadResult, Problem
from reconciler.config.profiles import ProfileStore, extend
from reconciler.config.rules import check_merchant
from reconciler.config.secretfiles import check_secret_files
from reconciler.config.templates import render_templates, template_sources
from reconciler.config.yamldoc import Located, load_file
from reconciler.model import DesiredState

SUFFIXES = (".yaml", ".yml")


@dataclass
class _Outcome:
    file: str
    slug: str
    problems: list[Problem] = field(default_factory=list)
    doc: Located | None = None  # merged and rendered, once the schema passed
    desired: DesiredState | None = None


def load_merchants(merchants_dir: Path, paths: list[Path] | None = None, *,
                   secret_files: bool = True, against_rest: bool = False) -> LoadResult:
    """Load merchant files (all of `merchants_dir`, or `paths`: files or directories).

    Profiles always come from `merchants_dir/profiles/`. When the whole
    directory is loaded, every profile is checked, used or not. Without
    `secret_files`, `sops:` files are not checked (C003-C005): the sandbox
    seeds a merchant whose tokens `connect tiktok` is about to store. With
    `against_rest`, the rules across files (R030-R034) also compare `paths`
    with the other merchant files of `merchants_dir` (`validate FILE`, the
    pre-commit hook), reporting only on `paths`.
    """
    store = ProfileStore(merchants_dir / "profiles")
    files, profile_files, problems = _select(merchants_dir, paths, store)
    outcomes = [_load_one(path, store, secret_files) for path in files]
    members = [Member(o.file, o.slug, o.doc) for o in outcomes if o.doc is not None]
    by_file = {o.file: o for o in outcomes}
    if paths and against_rest:
        members += _rest_of(merchants_dir, {_resolved(p) for p in files}, store)
    for file, found in check_fleet(members).items():
        if file in by_file:
            by_file[file].problems.extend(found)
    for name in profile_files if paths else store.names():
        store.get(name)
    for outcome in outcomes:
        problems.extend(outcome.problems)
    problems.extend(store.problems)
    merchants = [o.desired for o in outcomes if o.desired is not None and not o.problems]
    return LoadResult(sorted(merchants, key=lambda m: m.slug), sorted(set(problems)),
                      [str(store.file_of(name) or name) for name in profile_files])


def _rest_of(merchants_dir: Path, chosen: set[Path], store: ProfileStore) -> list[Member]:
    """The other merchant files of `merchants_dir` that load far enough to be compared."""
    if not merchants_dir.is_dir():
        return []
    listed, _refused = _listing(merchants_dir, _resolved(merchants_dir))  # not reported here
    others = [_load_one(path, store, secret_files=False)  # compared, not decrypted
              for resolved, path in sorted(listed) if resolved not in chosen]
    return [Member(o.file, o.slug, o.doc) for o in others if o.doc is not None]


def load_merchant(path: Path, merchants_dir: Path) -> LoadResult:
    """Load one merchant file on its own (no rules across files)."""
    return load_merchants(merchants_dir, [path])


def _load_one(path: Path, store: ProfileStore, secret_files: bool = True) -> _Outcome:
    outcome = _Outcome(str(path), path.stem)
    try:
        _check(outcome, path, store, secret_files)
    except ConfigError as exc:
        outcome.problems.extend(exc.problems)
    except Exception as exc:  # last resort: a bad file must never become a traceback
        outcome.problems.append(Problem(
            outcome.file, 1, 1, "F002",
            f"unexpected {type(exc).__name__} while loading this file", hint("F002"),
        ))
    return outcome


def _check(outcome: _Outcome, path: Path, store: ProfileStore, secret_files: bool) -> None:
    doc = load_file(path, outcome.file)
    merged, problems = extend(doc, store)
    if problems:  # without its profile, still report what is wrong in the file itself
        outcome.problems.extend(problems + schema.validate(merged, complete=False))
        return
    problems = schema.validate(merged, complete=True)
    if problems:
        outcome.problems.extend(problems)
        return
    rendered, problems = render_templates(merged, outcome.slug)
    root = str(store.directory.parent)
    problems += check_merchant(rendered, outcome.file, outcome.slug)
    if secret_files:
        problems += check_secret_files(rendered, root)
    outcome.doc = rendered
    outcome.problems.extend(problems)
    if not problems:
        outcome.desired = build_desired(rendered, outcome.file, outcome.slug, root,
                                        template_sources(merged))


def _select(
    merchants_dir: Path, paths: list[Path] | None, store: ProfileStore
) -> tuple[list[Path], list[str], list[Problem]]:
    """Merchant files to load, profile names named explicitly, and problems with the paths."""
    if paths is None:
        paths = [merchants_dir]
    files: dict[Path, Path] = {}  # resolved -> as given, so one file named twice loads once
    profiles: list[str] = []
    problems: list[Problem] = []
    profile_dir = _resolved(store.directory)
    root = _resolved(merchants_dir)
    for path in paths:
        if path.is_dir():
            listed, refused = _listing(path, root)
            problems.extend(refused)
            for resolved, child in listed:
                files.setdefault(resolved, child)
        elif path.is_file() and _resolved(path.parent) == profile_dir:
            profiles.append(path.stem)  # a profile named explicitly, e.g. by a pre-commit hook
        elif path.is_file():
            files.setdefault(_resolved(path), path)
        else:
            problems.append(Problem(str(path), 1, 1, "F001", "no such file or directory",
                                    hint("F001")))
    return sorted(files.values()), profiles, problems


def _listing(directory: Path, root: Path) -> tuple[list[tuple[Path, Path]], list[Problem]]:
    """(resolved, as listed) for each merchant file in `directory`, in one directory read,
    and problems with entries that are refused rather than loaded.

    Files starting with "_" or "." are not merchants (e.g. _sandbox.yaml
    scenarios); directories are skipped. Only a symbolic link needs resolving
    on its own; any other entry resolves to the resolved directory plus its
    name. Refused: a name holding a control character (F005: it would break
    every line that names the file), a link that leads out of the merchants
    directory `root` (F004), and anything that is not a regular file (F003, never opened: a
    FIFO would block the read).
    """
    base = _resolved(directory)
    found: list[tuple[Path, Path]] = []
    refused: list[Problem] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if name.startswith(("_", ".")) or not name.endswith(SUFFIXES) or entry.is_dir():
                continue
            child = directory / name
            linked = entry.is_symlink()
            resolved = _resolved(child) if linked else base / name
            problem = _refusal(child, name, resolved if linked else None, root, entry.is_file())
            if problem:
                refused.append(problem)
            else:
                found.append((resolved, child))
    return found, refused


def _refusal(child: Path, name: str, link_target: Path | None, root: Path,
             regular: bool) -> Problem | None:
    def problem(rule: str, message: str) -> Problem:
        return Problem(str(child), 1, 1, rule, message, hint(rule))

    if not name.isprintable():
        return problem("F005", "file name holds a control character; the file is not loaded")
    if link_target is not None and not link_target.is_relative_to(root):
        return problem("F004", f"symbolic link leads out of {root} (to {link_target}); not loaded")
    if not regular:
        return problem("F003", "not a regular file (a device, FIFO, socket or dangling link); "
                               "not loaded")
    return None


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except OSError:
        return path.absolute()
