"""The sandbox: one ASGI app emulating TikTok Shop, Pipe17, Shopify and Loop Returns.

Two transports over the same emulator: `embedded_transport` (in process, the
default target, state in `<state_dir>/sandbox-state.json`) and `serve`
(uvicorn on loopback). See docs/sandbox.md.
"""

from __future__ import annotations

from reconciler.sandbox.app import build_app
from reconciler.sandbox.faults import ConnectionDropped
from reconciler.sandbox.scenarios import SCENARIOS, ScenarioError, load_scenarios, parse_selection
from reconciler.sandbox.server import NotLoopbackError, serve, serve_in_thread
from reconciler.sandbox.state import Emulator, SandboxState
from reconciler.sandbox.store import STATE_FILE_NAME, StateStore
from reconciler.sandbox.transport import EmbeddedTransport, embedded_transport

__all__ = [
    "SCENARIOS",
    "STATE_FILE_NAME",
    "ConnectionDropped",
    "EmbeddedTransport",
    "Emulator",
    "NotLoopbackError",
    "SandboxState",
    "ScenarioError",
    "StateStore",
    "build_app",
    "embedded_transport",
    "load_scenarios",
    "parse_selection",
    "serve",
    "serve_in_thread",
]
