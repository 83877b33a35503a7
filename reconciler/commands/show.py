"""`reconciler show PLAN_FILE`: a saved JSON plan rendered again, without reading live state.

Like `terraform show`: the plan is checked before it is shown (format,
checksum over its merchants and each merchant's own, change sets agreeing with those merchants), so
what a reviewer reads is what `apply --plan` would apply. A file edited after
planning is refused with exit 1.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.commands.common import CommandError, say
from reconciler.engine.document import checksum, merchant_checksum
from reconciler.output.groups import check_groups
from reconciler.output.merge import PlanMergeError, read_plan


def run_show(path: Path, fmt: str) -> int:
    from reconciler.commands.plan import emit

    try:
        document = read_plan(path)
    except PlanMergeError as exc:
        raise CommandError(str(exc)) from None
    computed = checksum(document["target"], document["merchants"])
    if computed != document.get("checksum"):
        raise CommandError(
            f"{path}: the plan's content does not match its checksum (recorded "
            f"{document.get('checksum')!r}, computed {computed!r}): the file was changed after "
            "it was planned; plan again")
    for entry in document["merchants"]:
        own = entry.get("checksum")
        if own is not None and own != merchant_checksum(document["target"], entry):
            raise CommandError(f"{path}: the part of merchant {entry['merchant']!r} does not match "
                               "its checksum; plan again")
    problems = check_groups(document)
    if problems:
        raise CommandError(f"{path}: the plan's change sets do not match its merchants: "
                           f"{problems[0]}; plan again")
    if fmt != "text":  # stdout stays machine-readable; people still see the target first
        say(f"Target: {document['target']}", err=True)
    emit(document, fmt, f"reconciler apply --plan {path}")
    return 0
