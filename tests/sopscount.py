"""`python -m tests.sopscount LOG ARGS...`: the CLI, recording every sops process it starts.

Each sops process started by the command or by a worker it forks adds a
line `<pid> <last argument>` to LOG (the first line is the command's own
pid), so tests can tell how many files went to the binary, and from which
process. Only file names are written, never a value.
"""

from __future__ import annotations

import os
import subprocess
import sys

from reconciler import sops
from reconciler.cli import main

LOG = sys.argv[1]
_real = subprocess.run


def _counting(args, *rest, **kwargs):  # type: ignore[no-untyped-def]
    if args and args[0] == sops.binary():
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(f"{os.getpid()} {args[-1]}\n")
    return _real(args, *rest, **kwargs)


if __name__ == "__main__":
    with open(LOG, "w", encoding="utf-8") as log:
        log.write(f"{os.getpid()} parent\n")
    subprocess.run = _counting  # inherited by forked workers
    sys.argv = ["reconciler", *sys.argv[2:]]
    main()
