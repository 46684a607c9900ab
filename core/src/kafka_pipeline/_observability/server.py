"""``MetricsServer``: ``/metrics``, ``/healthz`` and ``/readyz`` on one port, on a thread of its own.

``prometheus_client.start_http_server`` serves only metrics; Kubernetes-style
probes need the health paths on the same port. A small threaded
``http.server`` does both. It runs beside the worker's event loop, never on
it, so a scrape never delays a batch and a busy batch never delays a probe.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

from kafka_pipeline._errors import KafkaPipelineError

log = logging.getLogger("kafka_pipeline.metrics.server")


class MetricsServerError(KafkaPipelineError):
    """The metrics endpoint could not listen where it was told to."""


@dataclass(frozen=True)
class Readiness:
    """What ``/readyz`` answers: ready, or the reasons why not."""

    ready: bool
    reasons: tuple[str, ...] = field(default=())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A restarted worker must get its port back at once, not after TIME_WAIT.
    allow_reuse_address = True

    registry: CollectorRegistry
    readiness: Callable[[], Readiness]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._reply(200, encoder(self.server.registry), content_type)
        elif path == "/healthz":
            self._json(200, {"status": "alive"})
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
    """Serves ``registry`` at ``/metrics``, ``/healthz`` (alive) and ``/readyz`` (``readiness()``).

    ``port=0`` picks a free port; :attr:`port` tells which. :meth:`start`
    raises :class:`MetricsServerError` when the address is taken.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        readiness: Callable[[], Readiness],
        *,
        host: str = "0.0.0.0",
        port: int = 0,
    ) -> None:
        self._registry = registry
        self._readiness = readiness
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        try:
            server = _Server((self.host, self.port), _Handler)
        except OSError as exc:
            raise MetricsServerError(
                f"cannot serve metrics on {self.host}:{self.port}: {exc.strerror or exc}; choose another "
                "metrics.port (or --metrics-port), or leave it unset to serve no metrics"
            ) from exc
        server.registry = self._registry
        server.readiness = self._readiness
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="kafka-pipeline-metrics",
            daemon=True,
        )
        self._thread.start()

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
