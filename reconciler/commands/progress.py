"""Progress of apply's writes on a terminal: merchants and changes done, rate, time left.

Only on stderr, and only when stderr is a terminal: logs and pipes stay
clean. The line is redrawn in place at most every `interval` seconds, and a
last line with the totals stays when the writes end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_progress(merchants: tuple[int, int], changes: tuple[int, int], elapsed: float) -> str:
    """`applying 120/303 merchants, 1,560/3,939 changes, 21.7 changes/s, about 1m50s left`."""
    (m_done, m_total), (c_done, c_total) = merchants, changes
    text = f"applying {m_done:,}/{m_total:,} merchants, {c_done:,}/{c_total:,} changes"
    if c_done and elapsed > 0:
        rate = c_done / elapsed
        text += f", {rate:,.1f} changes/s, about {_duration((c_total - c_done) / rate)} left"
    return text


def format_done(merchants: int, changes: int, elapsed: float) -> str:
    rate = f" ({changes / elapsed:,.1f} changes/s)" if elapsed > 0 and changes else ""
    return f"wrote {merchants:,} merchants, {changes:,} changes in {_duration(elapsed)}{rate}"


class WriteProgress:
    def __init__(self, merchants: int, changes: int, *, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic, interval: float = 0.2) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.totals = (merchants, changes)
        self.merchants = self.changes = 0
        self.clock, self.interval = clock, interval
        self.started = clock()
        self._drawn = float("-inf")

    def merchant_done(self, changes: int) -> None:
        self.merchants += 1
        self.changes += changes
        now = self.clock()
        if self.enabled and (now - self._drawn >= self.interval or self.merchants == self.totals[0]):
            self._drawn = now
            line = format_progress((self.merchants, self.totals[0]), (self.changes, self.totals[1]),
                                   now - self.started)
            self.stream.write("\r" + line + "\033[K")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            done = format_done(self.merchants, self.changes, self.clock() - self.started)
            self.stream.write("\r" + done + "\033[K\n")
            self.stream.flush()
