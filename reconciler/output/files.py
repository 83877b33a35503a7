"""Writing an output file (a saved plan) atomically and safely.

The text goes to a temporary file with a random name, created with O_EXCL
in the target's own directory (so a planted `<out>.tmp` link is never
followed and the rename stays on one file system), is flushed to disk, and
then replaces the target in one rename. On any failure the temporary file is
removed, so nothing half-written or stray is left behind.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.private import replace_file


class OutputFileError(Exception):
    """The file cannot be written; the message names the path and the reason."""


def write_atomically(path: Path, text: str) -> None:
    if path.is_dir():
        raise OutputFileError(f"{path}: is a directory; give a file name, e.g. {path / 'plan.json'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputFileError(f"{path}: cannot write here ({exc.strerror or exc})") from None
    try:
        replace_file(path, text)
    except OSError as exc:
        raise OutputFileError(f"{path}: cannot write the file ({exc.strerror or exc}); "
                              "nothing was written") from None
