"""Offline checks of `sops:` references: the file exists, is SOPS-encrypted, holds the key.

Nothing is decrypted here (validate runs without keys): SOPS encrypts values
only, so a file's key names and its `sops` metadata are readable as stored.
"""

from __future__ import annotations

from pathlib import Path

from reconciler import sops
from reconciler.config.catalog import hint
from reconciler.config.problems import Problem
from reconciler.config.rules import get
from reconciler.config.schema import CREDENTIAL_FIELDS
from reconciler.config.yamldoc import Located
from reconciler.secrets import file_of, parse_ref


def check_secret_files(doc: Located, root: str) -> list[Problem]:
    """C003-C005 for each `sops:` credential of a merged merchant document."""
    problems = []
    for path in CREDENTIAL_FIELDS:
        text = get(doc.data, path)
        ref = parse_ref(text, root) if isinstance(text, str) else None
        if ref is None or not ref.is_file:
            continue
        where = doc.value_pos(path)
        file, shown = file_of(ref)
        field = ".".join(path)
        if not file.is_file():
            problems.append(Problem.at(where, "C003", f"{field}: {shown} does not exist",
                                       hint("C003")))
            continue
        problem = sops.metadata_problem(file)
        if problem is not None:
            problems.append(Problem.at(where, "C004", f"{field}: {shown} {problem}", hint("C004")))
        elif not sops.has_key_path(sops.read_plain(Path(file)), ref.key):
            problems.append(Problem.at(where, "C005", f"{field}: {shown} has no key {ref.key}",
                                       hint("C005")))
    return problems
