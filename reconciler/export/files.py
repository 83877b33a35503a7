"""Writing exported merchant files: validated first, then put in place atomically.

A file is replaced only by YAML that loads cleanly as that merchant's file
(with the profiles of the merchants directory), through a temporary file in
the same directory and `os.replace`, so a reader sees the old file or the
new one, never a part. The replaced file keeps its mode. Every slug is a
file name, checked against the merchant slug pattern before any path is
made from it, so no name can reach outside the directory written to.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from reconciler.config import load_merchant
from reconciler.config.rules import SLUG
from reconciler.private import replace_file

MAX_SLUG = 64  # characters; a file name, and part of environment variable names


class ExportWriteError(Exception):
    pass


def check_slug(slug: str, origin: str) -> str:
    """`slug` if it is a valid merchant slug; else a clear error saying where it came from."""
    if len(slug) > MAX_SLUG or not SLUG.fullmatch(slug):
        raise ExportWriteError(f"{origin} {slug!r} is not a valid merchant slug (lower-case letters, "
                               f"digits and dashes, at most {MAX_SLUG} characters)")
    return slug


def write_merchant_file(directory: Path, slug: str, text: str, merchants_dir: Path,
                        existing: Path | None = None) -> Path:
    """Write `text` as `slug`'s file in `directory` (or over `existing`); returns the path.

    Refused, with nothing written, when the text does not validate or the
    path is not a regular file in `directory`.
    """
    check_slug(slug, "merchant")
    path = existing or directory / f"{slug}.yaml"
    if path.resolve().parent != directory.resolve():
        raise ExportWriteError(f"{path} is outside {directory}; nothing was written")
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ExportWriteError(f"{path} is not a regular file; nothing was written")
    _validate(text, slug, merchants_dir)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else _default_mode()
    replace_file(path, text, mode=mode)
    return path


def _validate(text: str, slug: str, merchants_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="reconciler-export-") as scratch:
        candidate = Path(scratch) / f"{slug}.yaml"
        candidate.write_text(text, encoding="utf-8")
        problems = load_merchant(candidate, merchants_dir).problems
    if problems:
        described = "; ".join(f"line {p.line}: {p.rule} {p.message}" for p in problems[:3])
        raise ExportWriteError(f"the exported YAML for {slug} does not validate ({described}); "
                               "nothing was written")


def _default_mode() -> int:
    """What a new file gets from the umask (read once: os.umask can only be read by setting it)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
