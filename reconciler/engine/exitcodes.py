"""Exit codes (docs/design.md section 4, contract) and how several merchants combine."""

from __future__ import annotations

OK, ERROR, CHANGES, BLOCKED, PARTIAL, REFUSED = 0, 1, 2, 3, 4, 5

# Over several merchants the worst code wins: 1, then 4, 5, 3, 2, 0.
_SEVERITY = {ERROR: 5, PARTIAL: 4, REFUSED: 3, BLOCKED: 2, CHANGES: 1, OK: 0}


def worst(codes: list[int] | tuple[int, ...]) -> int:
    return max(codes, key=lambda c: _SEVERITY[c], default=OK)


def apply_code(codes: list[int], wrote: bool) -> int:
    """An apply's exit code over a fleet: exit 1 promises that nothing was written.

    Once anything was written (in any merchant), a merchant that errored, even
    before its own first write, makes the run partial (4), not an error (1).
    """
    if wrote:
        codes = [PARTIAL if code == ERROR else code for code in codes]
    return worst(codes)


def plan_code(entry: dict) -> int:
    if entry["status"] == "error":
        return ERROR
    if any(c["blocked_by"] == "destructive" for c in entry["changes"]):
        return BLOCKED
    return CHANGES if entry["changes"] else OK
