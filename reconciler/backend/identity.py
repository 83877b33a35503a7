"""Who runs a command and from where: shown to lock waiters and kept in the audit log."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.secrets import redactor


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid with no passwd entry (some containers)
        return f"uid{os.getuid()}"


def ci_run_url(environ: dict[str, str] | None = None) -> str | None:
    """The CI run's page, when the command runs in GitHub Actions."""
    env = os.environ if environ is None else environ
    parts = [env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts):
        return None
    return f"{parts[0].rstrip('/')}/{parts[1]}/actions/runs/{parts[2]}"


def _command(argv: list[str]) -> str:
    # The subcommand and its options (never the interpreter path), redacted, bounded.
    text = " ".join(["reconciler", *argv[1:]])
    return redactor.redact(text)[:300]


@dataclass(frozen=True)
class Identity:
    user: str
    host: str
    pid: int
    command: str
    ci_url: str | None

    @classmethod
    def current(cls) -> Identity:
        return cls(_user(), socket.gethostname(), os.getpid(), _command(sys.argv), ci_run_url())

    def holder(self) -> dict[str, object]:
        return {"user": self.user, "host": self.host, "pid": self.pid, "command": self.command,
                "since": datetime.now(UTC).isoformat(timespec="seconds")}
