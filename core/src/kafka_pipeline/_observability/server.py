"""``MetricsServer``: ``/metrics``, ``/healthz`` and ``/readyz`` on one port, on a thread of its own.

``prometheus_client.start_http_server`` serves only metrics; Kubernetes-style
probes need the health paths on the same port. A small threaded
``http.server`` does both. It runs beside the worker's event loop, never on
it, so a scrape never delays a batch and a busy batch never delays a probe.

Whoever can reach the port must not be able to hurt the worker: at most
``max_connections`` requests are served at once, one thread and one socket
each; a connection beyond that is answered ``503`` at once and closed, so
it holds neither. A client that sends nothing for ``timeout_seconds`` is
dropped. A client that goes away mid-answer is logged at debug level, not
as a traceback on stderr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from kafka_pipeline._errors import KafkaPipelineError

log = logging.getLogger("kafka_pipeline.metrics.server")

#: Requests served at once. Prometheus and two probes need three; the rest is headroom.
MAX_CONNECTIONS: Final = 16
#: The longest a client may keep the server waiting for its next bytes, or for reading the answer.
TIMEOUT_SECONDS: Final = 5.0

_BUSY_BODY = b"too many connections to the metrics endpoint; try again\n"
_BUSY: Final = (
    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)


class MetricsServerError(KafkaPipelineError):
    """The metrics endpoint could not listen where it was told to."""


@dataclass(frozen=True)
class Readiness:
    """What ``/readyz`` answers: ready, or the reasons why not."""

    ready: bool
    reasons: tuple[str, ...] = field(default=())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Stopping must not wait for slow clients; their daemon threads end with their timeout.
    block_on_close = False
    # A restarted worker must get its port back at once, not after TIME_WAIT.
    allow_reuse_address = True
    # Connections waiting to be accepted are the kernel's, not this process's file descriptors.
    request_queue_size = 64

    registry: CollectorRegistry
    readiness: Callable[[], Readiness]
    health: Callable[[], Readiness] | None

    def __init__(self, address: tuple[str, int], max_connections: int, timeout_seconds: float) -> None:
        super().__init__(address, _Handler)
        self._slots = threading.BoundedSemaphore(max_connections)
        self.request_timeout = timeout_seconds

    def process_request(self, request: Any, client_address: Any) -> None:
        # On the accepting thread: refusing must not block, or one slow client would stop the accepting.
        if not self._slots.acquire(blocking=False):
            self._refuse(request, client_address)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread started: the slot is not going to be given back otherwise
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def _refuse(self, request: socket.socket, client_address: Any) -> None:
        log.debug("metrics endpoint busy: 503 to %s", _host(client_address))
        with contextlib.suppress(OSError):
            request.setblocking(False)
            request.send(_BUSY)
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exception()
        if isinstance(exc, ConnectionError | TimeoutError):
            # A scraper that timed out or hung up: nothing to fix here.
            log.debug("metrics client %s went away: %r", _host(client_address), exc)
        else:
            log.warning("metrics request from %s failed", _host(client_address), exc_info=exc)


def _host(client_address: Any) -> str:
    return str(client_address[0]) if isinstance(client_address, tuple) and client_address else "?"


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Every read and write waits this long at most (a timeout ends the request, see handle_error).
        self.connection.settimeout(self.server.request_timeout)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._reply(200, encoder(self.server.registry), content_type)
        elif path == "/healthz":
            health = self.server.health() if self.server.health is not None else Readiness(True)
            if health.ready:
                self._json(200, {"status": "alive"})
            else:
                self._json(503, {"status": "unhealthy", "reasons": list(health.reasons)})
        elif path == "/readyz":
            try:
                state = self.server.readiness()
            except Exception as exc:  # a probe must answer, whatever the worker is doing
                state = Readiness(False, (f"readiness check failed: {exc}",))
            self._json(200 if state.ready else 503, {"ready": state.ready, "reasons": list(state.reasons)})
        else:
            self._json(404, {"error": f"no such path {path!r}; try /metrics, /healthz or /readyz"})

    def _json(self, status: int, body: dict[str, Any]) -> None:
        self._reply(status, (json.dumps(body) + "\n").encode(), "application/json")

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        # Scrapes and probes every few seconds would drown the worker's log.
        log.debug("%s - %s", self.address_string(), format % args)


class MetricsServer:
    """Serves ``registry`` at ``/metrics``, ``/healthz`` and ``/readyz`` (``readiness()``).

    ``/healthz`` answers 200 while ``health()`` is ready (always, without
    ``health``), else 503 with its reasons: the orchestrator should restart.

    ``port=0`` picks a free port; :attr:`port` tells which. :meth:`start`
    raises :class:`MetricsServerError` when the address is taken, and logs
    the address it listens on (:attr:`address`). At most ``max_connections``
    requests are served at once (the rest get ``503``), and a client silent
    for ``timeout_seconds`` is dropped.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        readiness: Callable[[], Readiness],
        *,
        host: str = "0.0.0.0",
        port: int = 0,
        max_connections: int = MAX_CONNECTIONS,
        timeout_seconds: float = TIMEOUT_SECONDS,
        health: Callable[[], Readiness] | None = None,
    ) -> None:
        self._registry = registry
        self._readiness = readiness
        self._health = health
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.timeout_seconds = timeout_seconds
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where a client on this machine reaches the endpoint (loopback when it listens everywhere)."""
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host
        return f"http://{host}:{self.port}"

    @property
    def address(self) -> str:
        """Where the endpoint listens, as it is: ``0.0.0.0:9108 (all interfaces)``, ``127.0.0.1:9108``."""
        if self.host in {"0.0.0.0", ""}:
            return f"0.0.0.0:{self.port} (all interfaces)"
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        try:
            server = _Server((self.host, self.port), self.max_connections, self.timeout_seconds)
        except OSError as exc:
            raise MetricsServerError(
                f"cannot serve metrics on {self.host}:{self.port}: {exc.strerror or exc}; choose another "
                "metrics.port (or --metrics-port), or leave it unset to serve no metrics"
            ) from exc
        server.registry = self._registry
        server.readiness = self._readiness
        server.health = self._health
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="kafka-pipeline-metrics",
            daemon=True,
        )
        self._thread.start()
        log.info(
            "metrics endpoint listening on %s: /metrics, /healthz, /readyz (at most %d connections at once)",
            self.address,
            self.max_connections,
        )

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
