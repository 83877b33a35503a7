"""Progress during apply's writes: on a terminal's stderr only, with counts, rate and time left."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.commands.progress import WriteProgress, format_done, format_progress
from tests.e2e.conftest import clean_env, write_fleet


def test_the_line_says_merchants_changes_rate_and_time_left() -> None:
    line = format_progress((120, 303), (1560, 3939), elapsed=72.0)
    assert line == ("applying 120/303 merchants, 1,560/3,939 changes, 21.7 changes/s, "
                    "about 1m50s left")
    assert format_progress((0, 5), (0, 40), elapsed=0.0) == "applying 0/5 merchants, 0/40 changes"
    assert format_done(303, 3939, 181.5) == "wrote 303 merchants, 3,939 changes in 3m02s (21.7 changes/s)"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_redraws_in_place_at_most_every_interval_and_leaves_the_totals() -> None:
    ticks = iter([0.0, 0.05, 0.1, 0.3, 0.31, 1.0])
    stream = Terminal()
    progress = WriteProgress(4, 40, stream=stream, clock=lambda: next(ticks), interval=0.2)
    for _ in range(4):
        progress.merchant_done(10)
    progress.close()
    drawn = stream.getvalue().split("\r")[1:]
    # 0.05: drawn (first), 0.1: skipped, 0.3: drawn, 0.31: the last merchant, always drawn.
    assert [d.split(",")[0] for d in drawn[:-1]] == ["applying 1/4 merchants",
                                                     "applying 3/4 merchants",
                                                     "applying 4/4 merchants"]
    assert drawn[-1].startswith("wrote 4 merchants, 40 changes in 1s") and drawn[-1].endswith("\n")


def test_nothing_is_drawn_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = WriteProgress(2, 4, stream=stream)
    progress.merchant_done(2)
    progress.close()
    assert stream.getvalue() == ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs a Linux pty")
def test_apply_shows_progress_on_a_terminal_stderr_and_never_on_stdout(tmp_path: Path) -> None:
    write_fleet(tmp_path / "merchants", 5)
    leader, follower = pty.openpty()
    env = clean_env(RECONCILER_STATE_DIR=str(tmp_path / "state"))
    process = subprocess.Popen(
        [sys.executable, "-m", "reconciler", "--merchants", str(tmp_path / "merchants"), "apply",
         "--auto-approve"], stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL,
        env=env)
    os.close(follower)
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    stdout, _ = process.communicate(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    terminal = seen.decode()
    assert "\rapplying 5/5 merchants, 65/65 changes" in terminal
    assert "wrote 5 merchants, 65 changes in" in terminal
    assert "applying" not in stdout.decode() and "Apply: 65 applied" in stdout.decode()
