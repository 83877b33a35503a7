"""Serving the sandbox over loopback HTTP (`reconciler sandbox serve`)."""

from __future__ import annotations

import contextlib
import errno
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette

from reconciler.collector import freeze_long_lived, space_young_collections
from reconciler.model import DesiredState
from reconciler.sandbox.app import build_app
from reconciler.sandbox.faults import ConnectionDropped
from reconciler.sandbox.guard import ControlGuard
from reconciler.sandbox.state import FULL, Emulator
from reconciler.sandbox.store import StateStore
from reconciler.targets import is_loopback

log = logging.getLogger("reconciler.sandbox")

class NotLoopbackError(ValueError):
    """The sandbox only listens on loopback addresses."""


def check_loopback(host: str) -> None:
    if not is_loopback(host):
        raise NotLoopbackError(
            f"refusing to serve the sandbox on {host!r}: use a loopback address such as 127.0.0.1"
        )


def wait_until_serving(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """For tooling that runs `reconciler sandbox serve` as a child process (tests, benchmark):
    return once `url` answers, or raise with the tail of the child's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"sandbox exited with {process.returncode}: {tail}")
        try:
            httpx.get(f"{url}/_sandbox/health", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    process.wait(timeout=10)
    raise RuntimeError(f"sandbox did not answer within {timeout:.0f} s")


def prepare(
    state_file: Path | None,
    merchants: Iterable[DesiredState],
    scenarios: Mapping[str, set[str]] | None,
    mode: str = FULL,
) -> tuple[Emulator, StateStore | None]:
    """An emulator loaded from `state_file` (if any) and synced with the merchant files."""
    emulator = Emulator(mode=mode)
    store = StateStore(state_file) if state_file is not None else None
    data = store.read() if store is not None else None
    if data is not None:
        try:
            emulator.load(data)
        except ValueError as exc:
            raise ValueError(f"{state_file}: {exc}; move it away and the sandbox starts afresh") from None
    emulator.sync(list(merchants), scenarios)
    if store is not None and (emulator.dirty or data is None):
        store.save(emulator)
    emulator.take_changes()
    return emulator, store


class _QuietDrops(logging.Filter):
    """Injected connection drops are intended; keep their tracebacks out of the server log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def serve(
    host: str,
    port: int,
    state_file: Path | None,
    merchants: Iterable[DesiredState],
    scenarios: Mapping[str, set[str]] | None = None,
    mode: str = FULL,
) -> None:
    """Run the sandbox with uvicorn until interrupted. Loopback hosts only.

    The socket is bound here, before uvicorn starts, so a port in use or an
    address that cannot be bound is a ValueError (one clean line, exit 1),
    not uvicorn's startup failure.
    """
    check_loopback(host)
    sock = listen(host, port)
    emulator, store = prepare(state_file, merchants, scenarios, mode)
    app = ControlGuard(build_app(emulator, persist=store.save if store is not None else None))
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    log.info("sandbox serving %d merchant(s) on http://%s:%d (%s)", len(emulator.merchants), host, port,
             mode)
    # The emulator's state (and the merchant files it was built from) lives as long as the server.
    freeze_long_lived()
    space_young_collections()
    try:
        uvicorn.Server(server_config(app, host, port)).run(sockets=[sock])
    finally:
        sock.close()


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to `host`:`port`, or a ValueError saying why it cannot be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _name, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, OverflowError) as exc:
        raise ValueError(f"cannot serve on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or str(exc)
        raise ValueError(f"cannot serve on {host}:{port}: {reason.lower()}"
                         + (" (another process listens there; choose --port)"
                            if exc.errno == errno.EADDRINUSE else "")) from None
    return sock


def server_config(app: Starlette | ControlGuard, host: str, port: int) -> uvicorn.Config:
    """How `serve` runs uvicorn.

    The event loop and HTTP parser are left to uvicorn's "auto" choice, which
    takes uvloop and httptools (both dependencies) over asyncio and h11.
    access_log=False: at log level "warning" the access log prints nothing
    anyway, but uvicorn would still format each request's log arguments.
    """
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                          timeout_graceful_shutdown=2)


@contextlib.contextmanager
def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0,
                    startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` on loopback in a background thread; yields its base URL (tests, benchmarks)."""
    check_loopback(host)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", timeout_graceful_shutdown=1,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("sandbox server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{'[' + host + ']' if ':' in host else host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
