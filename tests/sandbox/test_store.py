from __future__ import annotations

import time
from pathlib import Path

from reconciler.sandbox import Emulator, StateStore
from reconciler.sandbox.store import COMPACT_AFTER
from tests.sandbox.sandbox_helpers import make_merchant


def seeded(count: int) -> Emulator:
    emulator = Emulator()
    emulator.seed([make_merchant(f"m-{i:04d}") for i in range(count)])
    return emulator


def set_lookup(emulator: Emulator, slug: str, value: str) -> None:
    record = emulator.merchants[slug]
    record["loop"]["portal"]["order_lookup"] = value
    emulator.mark_dirty(record)


def test_writes_append_to_the_log_and_compact(tmp_path: Path) -> None:
    store, emulator = StateStore(tmp_path / "s.json"), seeded(2)
    store.save(emulator)
    snapshot = store.path.stat().st_mtime_ns
    set_lookup(emulator, "m-0000", "zip")
    store.save(emulator)
    assert store.path.stat().st_mtime_ns == snapshot and store.log_path.exists()
    assert StateStore(store.path).read()["merchants"]["m-0000"]["loop"]["portal"]["order_lookup"] == "zip"
    for i in range(COMPACT_AFTER):
        set_lookup(emulator, "m-0001", "phone" if i % 2 else "zip")
        store.save(emulator)
    assert not store.log_path.exists()
    assert StateStore(store.path).read() == emulator.to_json()


def test_torn_log_line_is_ignored_and_reader_catches_up(tmp_path: Path) -> None:
    writer, emulator = StateStore(tmp_path / "s.json"), seeded(1)
    writer.save(emulator)
    reader_emulator = Emulator()
    reader = StateStore(writer.path)
    reader_emulator.load(reader.read())
    set_lookup(emulator, "m-0000", "zip")
    writer.save(emulator)
    with open(writer.log_path, "ab") as handle:
        handle.write(b'{"merchant": "m-0000", "rec')
    assert reader.load_if_changed(reader_emulator)
    assert reader_emulator.merchants["m-0000"]["loop"]["portal"]["order_lookup"] == "zip"
    assert not reader.load_if_changed(reader_emulator)


def test_a_write_costs_one_record_not_the_fleet(tmp_path: Path) -> None:
    store, emulator = StateStore(tmp_path / "s.json"), seeded(1000)
    store.save(emulator)
    started = time.perf_counter()
    for i in range(50):
        set_lookup(emulator, f"m-{i:04d}", "zip")
        store.save(emulator)
    assert (time.perf_counter() - started) / 50 < 0.05
