from __future__ import annotations

from pathlib import Path

from reconciler.engine.journal import Journal, acknowledge, in_flight
from reconciler.model import Action, Change


def change(address: str) -> Change:
    return Change(address, Action.UPDATE, "email", "zip")


def test_a_write_without_outcome_is_in_flight_until_a_later_run_acknowledges_it(tmp_path: Path) -> None:
    crashed = Journal(tmp_path, "sandbox")
    crashed.write("acme", change("loop.portal.order_lookup"), "intent")
    crashed.write("acme", change("loop.portal.order_lookup"), "applied")
    crashed.write("acme", change("loop.portal.instructions"), "intent")  # the process died here
    crashed.close()
    pending = in_flight(tmp_path)
    assert [(e["merchant"], e["address"]) for e in pending] == [("acme", "loop.portal.instructions")]

    assert acknowledge(tmp_path, "next-run", ["acme"]) == 1
    assert in_flight(tmp_path) == []


def test_a_line_cut_short_by_a_crash_does_not_break_reading(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "sandbox")
    journal.write("acme", change("loop.portal.order_lookup"), "intent")
    journal.close()
    with journal.path.open("a") as handle:
        handle.write('{"phase": "appl')
    assert len(in_flight(tmp_path)) == 1
