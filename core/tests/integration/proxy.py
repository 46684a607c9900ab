"""A loopback TCP proxy in front of a broker, which a test can cut and restore: a network outage on demand.

The broker advertises the proxy's port (``EmbeddedBroker(advertised_port=...)``),
so every connection of every client, bootstrap and leader alike, goes
through it. :meth:`TcpProxy.cut` resets the open connections and stops
listening, so that new ones are refused, as when a broker's host drops off
the network; :meth:`TcpProxy.restore` listens again on the same port. The
proxy runs its own event loop in a thread: it serves a worker on the test's
loop, or in a child process, alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from kafka_pipeline._broker.embedded import free_port

__all__ = ["TcpProxy"]

T = TypeVar("T")


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:upstream_port`` until cut; a context manager."""

    def __init__(self, upstream_port: int, port: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.port = port or free_port()
        #: Connections accepted since the start: proof that clients came this way.
        self.accepted = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="tcp-proxy", daemon=True)
        self._server: asyncio.Server | None = None
        self._up = False
        self._open: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def listening(self) -> bool:
        return self._up

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def start(self) -> TcpProxy:
        self._thread.start()
        self.restore()
        return self

    def restore(self) -> None:
        """Listen (again) on :attr:`port`; connections flow to the broker once more."""
        self._call(self._listen())

    def cut(self) -> None:
        """Reset every open connection and stop listening: clients get errors and refusals."""
        self._call(self._cut())

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._cut())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop.close()

    async def _listen(self) -> None:
        if not self._up:
            self._up = True
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, reuse_address=True)

    async def _cut(self) -> None:
        self._up = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._open):
            # abort(), not close(): the client sees a reset at once, not a polite end of stream.
            writer.transport.abort()
        self._open.clear()
        if server is not None:
            await server.wait_closed()
        # The aborted connections' handlers end at once; waiting for them leaves nothing half-closed.
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        handler.add_done_callback(self._handlers.discard)
        if not self._up:  # accepted just as the cut began
            client.transport.abort()
            return
        try:
            upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            client.transport.abort()
            return
        if not self.listening:  # cut while connecting upstream
            for writer in (client, upstream):
                writer.transport.abort()
            return
        self.accepted += 1
        self._open |= {client, upstream}
        try:
            await asyncio.gather(_pipe(client_reader, upstream), _pipe(upstream_reader, client))
        finally:
            for writer in (client, upstream):
                self._open.discard(writer)
                writer.transport.abort()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    # One direction ended: end the other too, as a real connection would.
    writer.transport.abort()
