"""A small forwarding HTTP proxy on 127.0.0.1 that remembers every request it was asked to carry.

Plain http requests arrive in absolute form (`GET http://host:port/path HTTP/1.1`)
and are forwarded one per connection; https arrives as `CONNECT host:port` and
is tunnelled byte for byte (the TLS inside is between the client and the
server, the proxy never sees it). It runs its own event loop in a thread, so
a CLI subprocess and an in-process test can both go through it.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class ForwardingProxy:
    requests: list[str] = field(default_factory=list)  # request lines, as the client sent them
    credentials: list[str] = field(default_factory=list)  # Proxy-Authorization values seen
    hang_up_connects: int = 0  # hang up on this many CONNECTs before tunnelling
    port: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> ForwardingProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop)
        self._server = future.result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        async def close() -> None:
            self._server.close()
            handlers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in handlers:  # tunnels still open: end them, closing their sockets
                task.cancel()
            await asyncio.gather(*handlers, return_exceptions=True)
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        self.requests.append(lines[0])
        headers = [line for line in lines[1:] if line]
        self.credentials += [line.split(":", 1)[1].strip() for line in headers
                             if line.lower().startswith("proxy-authorization:")]
        method, target, _ = lines[0].split(" ")
        try:
            if method == "CONNECT":
                await self._tunnel(target, reader, writer)
            else:
                await self._forward(method, target, headers, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()

    async def _tunnel(self, target: str, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        if self.hang_up_connects > 0:
            self.hang_up_connects -= 1
            return
        host, port = target.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _forward(self, method: str, target: str, headers: list[str],
                       reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        url = urlsplit(target)
        length = next((int(h.split(":", 1)[1]) for h in headers
                       if h.lower().startswith("content-length:")), 0)
        body = await reader.readexactly(length) if length else b""
        kept = [h for h in headers if h.split(":", 1)[0].lower()
                not in ("connection", "proxy-authorization", "keep-alive")]
        path = url.path + (f"?{url.query}" if url.query else "")
        upstream = "\r\n".join([f"{method} {path} HTTP/1.1", *kept, "connection: close", "", ""])
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
        up_writer.write(upstream.encode("latin-1") + body)
        await up_writer.drain()
        try:
            await _pipe(up_reader, writer)  # one answer per connection: the server closes after it
        finally:
            up_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
