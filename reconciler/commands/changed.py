"""`plan --changed-since REF`: the merchants a change touches, and the files that chose them.

`git diff --name-only --no-renames REF...` (what the branch changed since it
left REF), with uncommitted and untracked files too, runs in the merchants
directory's repository. A merchant file
selects its merchant; a profile selects every merchant whose `extends` chain
reaches it, through other profiles too (templates live in those files, so a
template edit selects the same way). A merchant file that is gone is
reported as deleted; other files select nothing.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.commands.common import CommandError, Selection, say

_EXTENDS = re.compile(r"""^extends:\s*["']?([A-Za-z0-9_.-]+)["']?\s*(?:#.*)?$""", re.MULTILINE)
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ChangedSelection:
    ref: str
    changed_files: tuple[str, ...]
    by_merchant: dict[str, list[str]] = field(default_factory=dict)  # slug -> files that chose it
    deleted: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"changed_since": self.ref, "changed_files": list(self.changed_files),
                "merchants": {s: self.by_merchant[s] for s in sorted(self.by_merchant)},
                "deleted": list(self.deleted)}


def _git(directory: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(directory), *args], capture_output=True,
                              text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CommandError(f"--changed-since: cannot run git ({exc}); nothing was read") from None
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise CommandError(f"--changed-since: git {' '.join(args[:1])} in {directory}: {detail}; "
                           "nothing was read")
    return done.stdout


def changed_files(merchants_dir: Path, ref: str) -> tuple[Path, list[str]]:
    """The repository's top directory, and the files changed since `ref` (relative to it)."""
    if ref.startswith("-"):
        raise CommandError(f"--changed-since: {ref!r} is not a git ref")
    top = Path(_git(merchants_dir, "rev-parse", "--show-toplevel").strip())
    base = _git(top, "merge-base", ref, "HEAD").strip()
    # From the merge base to the working tree (as `REF...` and then uncommitted
    # edits), and files git does not track yet: CI checks out the base commit
    # and lays the pull request's merchants/ over it without committing.
    names = _git(top, "diff", "--name-only", "--no-renames", "-z", base, "--")
    names += "\0" + _git(top, "ls-files", "--others", "--exclude-standard", "-z")
    return top, sorted({n for n in names.split("\0") if n})


def _extends(path: Path) -> str | None:
    try:
        found = _EXTENDS.search(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    return found.group(1) if found else None


def _chains(merchants_dir: Path, selection: Selection) -> dict[str, set[str]]:
    """Each merchant's profiles, all the way up its `extends` chain."""
    parents: dict[str, str | None] = {}

    def profile_parent(name: str) -> str | None:
        if name not in parents:
            files = [merchants_dir / "profiles" / f"{name}{s}" for s in _SUFFIXES]
            parents[name] = next((_extends(f) for f in files if f.is_file()), None)
        return parents[name]

    chains: dict[str, set[str]] = {}
    for merchant in selection.all:
        chain: set[str] = set()
        name = _extends(Path(merchant.source))
        while name and name not in chain:  # a cycle is a load error already; never loop
            chain.add(name)
            name = profile_parent(name)
        chains[merchant.slug] = chain
    return chains


def select_changed(merchants_dir: Path, ref: str, selection: Selection) -> ChangedSelection:
    top, names = changed_files(merchants_dir, ref)
    root = merchants_dir.resolve()
    slugs = {m.slug for m in selection.all}
    chains = _chains(merchants_dir, selection)
    by_merchant: dict[str, list[str]] = {}
    deleted: list[str] = []
    for name in names:
        path = (top / name).resolve() if (top / name).exists() else top.resolve() / name
        if not path.is_relative_to(root) or path.suffix not in _SUFFIXES:
            continue
        relative = path.relative_to(root)
        if len(relative.parts) == 1:
            if relative.stem in slugs:
                by_merchant.setdefault(relative.stem, []).append(name)
            elif not path.exists():
                deleted.append(name)
        elif relative.parts[0] == "profiles" and len(relative.parts) == 2:
            for slug, chain in chains.items():
                if relative.stem in chain:
                    by_merchant.setdefault(slug, []).append(name)
    return ChangedSelection(ref, tuple(names), by_merchant, tuple(deleted))


def narrow(selection: Selection, changed: ChangedSelection) -> Selection:
    chosen = [m for m in selection.chosen if m.slug in changed.by_merchant]
    return Selection(selection.all, chosen, selection.include,
                     (*selection.asked, f"--changed-since {changed.ref}"))


def tell(changed: ChangedSelection, shown: int = 10) -> None:
    """On stderr: how many merchants, and which files chose them."""
    files: dict[str, list[str]] = {}
    for slug in sorted(changed.by_merchant):
        for name in changed.by_merchant[slug]:
            files.setdefault(name, []).append(slug)
    say(f"Changed since {changed.ref}: {len(changed.changed_files)} file(s); "
        f"{len(changed.by_merchant)} merchant(s) selected.", err=True)
    for name, chosen in sorted(files.items()):
        listed = ", ".join(chosen[:shown]) + (f", … ({len(chosen) - shown} more)"
                                              if len(chosen) > shown else "")
        say(f"  {name} selects {len(chosen)} merchant(s): {listed}", err=True)
    for name in changed.deleted:
        say(f"  {name}: merchant file deleted (its live settings are left as they are)", err=True)
