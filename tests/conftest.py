"""Suite-wide: every sandbox, in-process or in a subprocess, lives on the same day (tests/clock.py)."""

from __future__ import annotations

import os

from tests.clock import PINNED

for _name, _value in PINNED.items():
    os.environ.setdefault(_name, _value)
