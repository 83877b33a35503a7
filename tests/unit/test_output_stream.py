"""Large command output reaches a pipe whole, even on an unbuffered stream (PYTHONUNBUFFERED)."""

from __future__ import annotations

import io
import os
import sys
import threading
import time

from reconciler.commands.common import say


def test_a_large_plan_on_an_unbuffered_pipe_arrives_whole(monkeypatch) -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # every write can come back short, as on a busy pipe
    stream = io.TextIOWrapper(io.FileIO(write_end, "w"), encoding="utf-8", write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    received = bytearray()

    def slow_reader() -> None:
        while chunk := os.read(read_end, 4096):
            received.extend(chunk)
            time.sleep(0.0005)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    text = "\n".join(f'  "line {i}": "{"x" * 60}",' for i in range(8000))  # about 600 KB
    say(text)
    stream.close()
    reader.join(timeout=30)
    os.close(read_end)
    assert received.decode() == text + "\n"
