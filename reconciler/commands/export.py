"""`reconciler export`: merchant YAML from live settings (read-only), on stdout or one file each.

`export SLUG` identifies the merchant through its file (ids and secret
references) and prints YAML that validates and, once the live settings are
complete, plans to no changes; `--write` replaces the merchant's own file
with it, `--out-dir DIR` writes DIR/SLUG.yaml. `export --all --out-dir DIR`
writes a file for every merchant found on the target that has no file yet
(sandbox only: see reconciler/export/identity.py). Files are written only
once their YAML validates, atomically (reconciler/export/files.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from reconciler.commands.common import CommandError, say
from reconciler.config import LoadResult, load_merchants
from reconciler.config.profiles import ProfileStore
from reconciler.engine.plan import error_text, merge_snapshots, read_live
from reconciler.engine.runtime import client_pool, run
from reconciler.export.document import Built, ExportError, build, load_candidate
from reconciler.export.files import ExportWriteError, check_slug, write_merchant_file
from reconciler.export.identity import (
    PROFILE,
    DiscoveryError,
    env_prefix,
    identity_of_account,
    identity_of_file,
    sandbox_accounts,
)
from reconciler.model import DesiredState
from reconciler.output.printable import terminal_safe
from reconciler.targets import Target


@dataclass(frozen=True)
class Subject:
    """One merchant to export: its identity document and the desired state used to read it."""

    slug: str
    identity: dict[str, Any]
    reader: DesiredState
    h5_comment: list[str]
    header: list[str]
    read_hint: str = ""  # added to a read failure's message


@dataclass(frozen=True)
class Destination:
    """Where exported YAML goes: stdout, DIR/SLUG.yaml, or over the merchant's own file."""

    out_dir: Path | None = None
    in_place: bool = False


def run_export(target: Target, merchants_dir: Path, *, slug: str | None,
               destination: Destination) -> int:
    say(f"Target: {target.name}", err=True)
    try:
        if slug is not None:
            check_slug(slug, "SLUG")
    except ExportWriteError as exc:
        raise CommandError(str(exc)) from None
    loaded = load_merchants(merchants_dir)
    profile = _profile(merchants_dir)
    rejected: list[tuple[str, Built | str]] = []
    try:
        subjects = [_subject(slug, loaded, profile, target, merchants_dir)] if slug else \
            _unfiled(loaded, profile, target, merchants_dir, rejected)
    except (DiscoveryError, ExportError) as exc:
        raise CommandError(str(exc)) from None
    try:
        # Where the files will live (the schema line is relative to it): the out dir, or the
        # merchants directory (--write, or printed for '> merchants/SLUG.yaml').
        results = run(_export_all(target, loaded.merchants, merchants_dir, subjects,
                                  destination.out_dir))
    except (ValueError, OSError) as exc:  # e.g. a bad sandbox scenario selection or state file
        raise CommandError(error_text(exc)) from None
    sources = {m.slug: m.source for m in loaded.merchants}
    return _emit([*results, *rejected], destination, merchants_dir, sources)


def _profile(merchants_dir: Path) -> dict[str, Any]:
    store = ProfileStore(merchants_dir / "profiles")
    if store.file_of(PROFILE) is None:
        raise CommandError(f"profile {PROFILE} not found in {merchants_dir / 'profiles'}: exported "
                           f"files extend it")
    located = store.get(PROFILE)
    if located is None:
        raise CommandError(f"profile {PROFILE} has problems: run 'reconciler validate'")
    return located.data


def _subject(slug: str, loaded: LoadResult, profile: dict[str, Any], target: Target,
             merchants_dir: Path) -> Subject:
    desired = next((m for m in loaded.merchants if m.slug == slug), None)
    if desired is not None:
        return _filed(desired, profile, target)
    if any(Path(p.file).stem == slug for p in loaded.problems):
        raise CommandError(f"{merchants_dir / slug}.yaml has problems; fix them first "
                           "(run 'reconciler validate')")
    if target.is_sandbox:
        for subject in _unfiled(loaded, profile, target, merchants_dir, rejected=[]):
            if subject.slug == slug:
                return subject
    raise CommandError(
        f"no merchant file {merchants_dir / slug}.yaml: export reads a merchant through the ids and "
        "secret references in its file; write those first (see merchants/bright-basics.yaml)"
    )


def _filed(desired: DesiredState, profile: dict[str, Any], target: Target) -> Subject:
    h5 = (["H5 Redirect approval has no API: attested as in " + desired.source]
          if desired.h5_redirect.approved else
          ["H5 Redirect approval has no API: not yet attested in " + desired.source,
           "(set approved: true and the evidence once TikTok approves)"])
    header = [f"{desired.slug}: exported from {target.name} by 'reconciler export {desired.slug}'."]
    return Subject(desired.slug, identity_of_file(desired, profile), desired, h5, header)


def _unfiled(loaded: LoadResult, profile: dict[str, Any], target: Target, merchants_dir: Path,
             rejected: list[tuple[str, Built | str]]) -> list[Subject]:
    """Subjects for the target's merchants without a file; `rejected` gets those whose
    name on the target could not be a file name (never used to make a path)."""
    filed = {m.slug for m in loaded.merchants} | {Path(p.file).stem for p in loaded.problems}
    subjects = []
    for account in sandbox_accounts(target):
        if account.slug in filed:
            continue
        try:
            check_slug(account.slug, "the target names a merchant")
        except ExportWriteError as exc:
            rejected.append((account.slug, f"{exc}; skipped"))
            continue
        identity = identity_of_account(account, profile)
        reader, problems = load_candidate(identity, account.slug, merchants_dir)
        if reader is None:
            raise ExportError(f"{account.slug}: its ids on the target do not validate: "
                              + "; ".join(f"{p.rule} {p.message}" for p in problems))
        prefix = env_prefix(account.slug)
        header = [f"{account.slug}: found on {target.name} with no merchant file; exported by "
                  "'reconciler export --all'.",
                  f"Secret references follow the {prefix}_* naming convention: set these variables."]
        h5 = ["H5 Redirect approval cannot be read from TikTok: set approved: true and the",
              "evidence (who approved, ticket, date) once the Account Manager confirms it"]
        hint = (f" (reading a merchant without a file uses the conventional variables {prefix}_*: "
                "set them to the merchant's credentials)")
        subjects.append(Subject(account.slug, identity, reader, h5, header, hint))
    return subjects


async def _export_all(target: Target, filed: list[DesiredState], merchants_dir: Path,
                      subjects: list[Subject], out_dir: Path | None) -> list[tuple[str, Built | str]]:
    known = {m.slug for m in filed}
    readers = [*filed, *(s.reader for s in subjects if s.slug not in known)]
    semaphore = asyncio.Semaphore(10)
    async with client_pool(target, readers, merchants_dir, read_only=True) as pool:

        async def one(subject: Subject) -> tuple[str, Built | str]:
            async with semaphore:
                try:
                    snapshots = await read_live(pool.providers(subject.reader))
                    settings, facts = merge_snapshots(snapshots)
                    unavailable = {u.contract: f"{u.endpoint}: {u.reason}"
                                   for snapshot in snapshots.values() for u in snapshot.unavailable}
                    return subject.slug, build(subject.slug, subject.identity, settings, facts,
                                               merchants_dir, h5_comment=subject.h5_comment,
                                               header=subject.header, unavailable=unavailable,
                                               file_dir=out_dir)
                except Exception as exc:  # one merchant's failure is reported, never a traceback
                    return subject.slug, error_text(exc) + subject.read_hint

        return list(await asyncio.gather(*(one(s) for s in subjects)))


def _emit(results: list[tuple[str, Built | str]], destination: Destination, merchants_dir: Path,
          sources: dict[str, str]) -> int:
    failed = [(slug, r) for slug, r in results if isinstance(r, str)]
    if destination.out_dir is None and not destination.in_place:
        if failed:
            raise CommandError(f"could not export {failed[0][0]}: {failed[0][1]}")
        built = results[0][1]
        assert isinstance(built, Built)
        # Redacted by value when built (reconciler/export/document.py); text redaction
        # could break the YAML. Control characters in it are already YAML escapes.
        click.echo(terminal_safe(built.text.rstrip("\n")))
        return 0
    if not results:
        say("No merchant without a file found on the target; nothing to export.", err=True)
    directory = merchants_dir if destination.in_place else destination.out_dir
    assert directory is not None
    if not destination.in_place:
        directory.mkdir(parents=True, exist_ok=True)
    for slug, result in results:
        if isinstance(result, Built):
            existing = Path(sources[slug]) if destination.in_place and slug in sources else None
            try:
                path = write_merchant_file(directory, slug, result.text, merchants_dir, existing)
            except (ExportWriteError, OSError) as exc:
                failed.append((slug, str(exc)))
                continue
            say(f"Wrote {path}", err=True)
    for slug, reason in failed:
        say(f"Error: could not export {slug}: {reason}", err=True)
    return 1 if failed else 0
