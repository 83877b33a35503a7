"""What plan, apply, verify and export share: loading and selecting merchants, output helpers."""

from __future__ import annotations

import contextlib
import difflib
import io
import logging
import os
import select
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.model import DesiredState
from reconciler.output.printable import terminal_safe
from reconciler.secrets import (
    MIN_LENGTH,
    MissingSecretError,
    SecretFileError,
    UnsafeSecretError,
    prefetch,
    redactor,
    resolve,
)
from reconciler.targets import Target

if TYPE_CHECKING:  # the HTTP stack loads only when a run reads
    from reconciler.http.notices import Notices


class CommandError(Exception):
    """A clean failure: printed as one line on stderr, exit 1, no traceback."""


@dataclass(frozen=True)
class Selection:
    all: list[DesiredState]  # every valid merchant file (the sandbox seeds from these)
    chosen: list[DesiredState]
    include: tuple[str, ...] = ()  # the slugs named by --merchant
    asked: tuple[str, ...] = ()  # the selecting options as given, for messages

    @property
    def narrowed(self) -> bool:
        """Whether --merchant, --exclude or --shard narrowed the fleet."""
        return bool(self.asked)


def announce(target: Target, fmt: str = "text") -> None:
    """Every command's first line names the target, printed before anything is read, so it
    shows even when the merchant files are bad: on stdout for text, else on stderr (stdout
    stays machine-readable)."""
    say(f"Target: {target.name}", err=fmt != "text")


def load_selection(merchants_dir: Path, include: Iterable[str] = (), exclude: Iterable[str] = (),
                   shard: str | None = None) -> Selection:
    from reconciler.collector import freeze_long_lived
    from reconciler.config import load_merchants
    from reconciler.engine.shard import parse_shard, shard_of

    check_merchants_dir(merchants_dir)
    with timed("load") as fields:
        result = load_merchants(merchants_dir)
        fields["files"] = len(result.merchants)
    # The loaded fleet lives until the process exits (on a 1,000-merchant plan,
    # walking it again on every collection was about a seventh of the CPU time).
    freeze_long_lived()
    if result.problems:
        for problem in result.problems:
            say(problem.format(), err=True)
        raise CommandError(
            f"{len(result.problems)} problem(s) in merchant files; nothing was read or written "
            f"(run 'reconciler validate' for details)"
        )
    by_slug = {m.slug: m for m in result.merchants}
    include, exclude = list(include), set(exclude)
    unknown = [s for s in [*include, *exclude] if s not in by_slug]
    if unknown:
        raise CommandError(
            f"unknown merchant(s): {', '.join(_with_suggestion(s, by_slug) for s in unknown)} "
            f"(no such file in {merchants_dir}/)"
        )
    chosen = [by_slug[s] for s in dict.fromkeys(include)] if include else list(result.merchants)
    chosen = [m for m in chosen if m.slug not in exclude]
    if shard:
        try:
            index, count = parse_shard(shard)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--shard") from None
        chosen = [m for m in chosen if shard_of(m.slug, count) == index]
    asked = (*(f"--merchant {s}" for s in include), *(f"--exclude {s}" for s in sorted(exclude)),
             *((f"--shard {shard}",) if shard else ()))
    return Selection(result.merchants, chosen, tuple(dict.fromkeys(include)), asked)


def check_merchants_dir(merchants_dir: Path) -> None:
    """A missing or empty merchants directory is an error, never an empty, successful run."""
    from reconciler.config.loader import SUFFIXES

    if not merchants_dir.is_dir():
        raise CommandError(f"no merchants directory {merchants_dir}/: run from the repository "
                           "root or pass --merchants DIR")
    if not any(p.suffix in SUFFIXES and not p.name.startswith(("_", "."))
               for p in merchants_dir.iterdir()):
        raise CommandError(f"merchants directory {merchants_dir}/ holds no merchant files "
                           "(<slug>.yaml)")


def _with_suggestion(slug: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(slug, list(known), n=1)
    return f"{slug} (did you mean {close[0]}?)" if close else slug


def check_credentials(target: Target, merchants: Iterable[DesiredState]) -> None:
    """Resolve every credential of the selection before any request is sent.

    On a live target an unset variable stops the whole run (exit 1), naming
    each variable and who uses it, never a value; so does, on any target, a
    `sops:` file that cannot be decrypted or lacks a key, naming the file and
    the key path, and a value too short to redact safely (`env:` or `sops:`).
    Nothing is sent anywhere. The files are decrypted first, in parallel, each
    once. Resolving up front also registers every value with the redactor.
    """
    merchants = list(merchants)
    environ = dict(os.environ)
    with timed("secrets") as fields:
        refs = [ref for merchant in merchants for ref in merchant.credentials.all().values()]
        prefetch(refs, sandbox=target.is_sandbox, environ=environ)
        fields["references"] = len(refs)
    missing: dict[str, list[str]] = {}
    unreadable: dict[str, list[str]] = {}
    short: dict[str, list[str]] = {}
    for merchant in merchants:
        for ref in merchant.credentials.all().values():
            try:
                resolve(ref, sandbox=target.is_sandbox, environ=environ)
            except MissingSecretError:
                missing.setdefault(ref.var, []).append(merchant.slug)
            except SecretFileError as exc:
                unreadable.setdefault(str(exc), []).append(merchant.slug)
            except UnsafeSecretError:
                short.setdefault(str(ref), []).append(merchant.slug)
    problems = []
    if short:
        problems.append(f"credential(s) shorter than {MIN_LENGTH} characters, too short to hide "
                        f"safely from output: {_users(short)}. Set the real credentials")
    if unreadable:
        problems.append(f"secret file(s) cannot be used: {_users(unreadable)}")
    if missing:
        problems.append(f"environment variable(s) not set: {_users(missing)}. "
                        "Export them and run again")
    if problems:
        raise CommandError(". ".join(problems) + "; nothing was sent.")


def require_state_dir(target: Target, *, writes: bool = False) -> None:
    """The state directory exists (or can be made) and takes files, before anything is read.

    The embedded sandbox keeps its state there; an apply keeps its locks and
    journal there on every target (`writes`). A read-only, full or misnamed
    directory is one clear error naming it, not a traceback halfway through.
    """
    if not (writes or target.embedded):
        return
    directory = target.state_dir
    fix = "make it writable, or set RECONCILER_STATE_DIR to a writable directory; nothing was sent"
    if directory.exists() and not directory.is_dir():
        raise CommandError(f"state directory {directory} is not a directory; {fix}")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=directory)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CommandError(f"state directory {directory} is not writable "
                           f"({exc.strerror or exc}); {fix}") from None


def _users(by_name: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} (used by {', '.join(sorted(set(slugs)))})"
                     for name, slugs in sorted(by_name.items()))


def say(text: str, *, err: bool = False, styled: bool = False) -> None:
    """Every line a command prints goes through the redactor, its control characters escaped.

    `styled`: the text carries color codes and its renderer escaped every value itself.
    """
    text = redactor.redact(text)
    _print(text if styled else terminal_safe(text), err=err)


def say_json(document: object) -> None:
    """Print a JSON document, redacted by value (never by text: that could break its syntax)."""
    from reconciler.output.jsonout import pretty

    _print(pretty(redactor.redact_values(document)))


def _print(text: str, *, err: bool = False) -> None:
    if not _write_fully(sys.stderr if err else sys.stdout, text + "\n"):
        click.echo(text, err=err)


def _write_fully(stream: object, text: str) -> bool:
    """Write `text` to an unbuffered stream (python -u, PYTHONUNBUFFERED) in full.

    There the text layer hands each write to the file descriptor once and
    drops what a short write left over, which cut large plans piped to
    another process at 64 or 128 KiB. False (nothing written) for any other
    stream, which click writes as usual.
    """
    raw = getattr(stream, "buffer", None)
    if not isinstance(raw, io.FileIO):
        return False
    assert isinstance(stream, io.TextIOBase)
    if not raw.isatty():
        text = click.unstyle(text)  # as click.echo does for a pipe or a file
    stream.flush()
    data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    while data:
        written = raw.write(data)
        if written is None:  # a non-blocking descriptor that is full: wait until it drains
            select.select([], [raw], [])
            continue
        data = data[written:]
    return True


def show_notices(notices: Notices) -> None:
    """The services' warnings of a run on stderr: one redacted line per distinct warning."""
    for line in notices.lines():
        say(line, err=True)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redactor.redact(record.getMessage())
        record.args = ()
        return True


def configure_logging(spec: str) -> None:
    """Log to stderr at the levels `spec` names: `info`, or `warning,reconciler.timing=info`.

    A bare level applies to every logger of the package; `NAME=LEVEL` sets
    one logger (and those under it). Unknown levels fall back to warning.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("reconciler")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    root.propagate = False
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, level = part.rpartition("=")
        logger = logging.getLogger(name) if name.startswith("reconciler") else root
        logger.setLevel(getattr(logging, level.strip().upper(), logging.WARNING))


timing = logging.getLogger("reconciler.timing")


@contextlib.contextmanager
def timed(phase: str, **fields: object) -> Iterator[dict[str, object]]:
    """Log `phase`'s wall and CPU seconds on `reconciler.timing`, after the fields the
    block sets in the yielded dict: `read merchants=… parallelism=… seconds=… cpu_seconds=…`."""
    started, cpu = time.perf_counter(), time.process_time()
    yield fields
    named = " ".join(f"{name}={value}" for name, value in fields.items())
    timing.info("%s %sseconds=%.3f cpu_seconds=%.3f", phase, named + " " if named else "",
                time.perf_counter() - started, time.process_time() - cpu)


def read_with_progress(target: Target, selection: Selection, merchants_dir: Path, fleet, *,
                       verb: str, parallelism: int, workers: int | str | None = None,
                       notices: Notices | None = None) -> list:
    """Run a read-only fleet function (plan, verify) over the selection, counting on stderr.

    In this process, or in worker processes when `workers` asks for them;
    the services' warnings are added to `notices` (see `show_notices`).
    """
    from reconciler.engine.workers import read_fleet_blocking

    progress = Progress(len(selection.chosen), verb)
    try:
        return read_fleet_blocking(target, selection.all, selection.chosen, merchants_dir, fleet,
                                   parallelism=parallelism, workers=workers,
                                   on_done=progress.tick, on_progress=progress.advance_to,
                                   notices=notices)
    finally:
        progress.close()


class Progress:
    """A one-line counter on stderr for fleet runs on a terminal."""

    def __init__(self, total: int, verb: str) -> None:
        self.total, self.verb, self.done = total, verb, 0
        self.enabled = sys.stderr.isatty() and total >= 20

    def tick(self, _result: object = None) -> None:
        self.advance_to(self.done + 1)

    def advance_to(self, done: int) -> None:
        self.done = done
        if self.enabled:
            sys.stderr.write(f"\r{self.verb} {self.done}/{self.total} merchants")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()
