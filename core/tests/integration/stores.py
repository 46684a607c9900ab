"""Object-store emulators on loopback for the integration tests: moto_server (S3) and Azurite (Azure Blob).

Each runs as a child process on a free port for the test session; a test
gets its own bucket or container. An emulator that cannot be started fails
the tests that need it, with the command that installs it: never a skip
(``nox -s integration`` installs both).
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: The ``azurite-blob`` executable to run; nox points it at the copy it installed.
ENV_AZURITE_BLOB = "KAFKA_PIPELINE_AZURITE_BLOB"

MOTO_HINT = "pip install 'moto[server]>=5.1' boto3 (nox -s integration installs it)"
AZURITE_HINT = (
    "npm install --prefix .nox/azurite 'azurite@^3.37.0' and set "
    f"{ENV_AZURITE_BLOB}=.nox/azurite/node_modules/.bin/azurite-blob (nox -s integration does both)"
)

#: Azurite's well-known development account: public, documented, not a secret.
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Emulator:
    """A child process serving on ``port``, its output in ``log``."""

    name: str
    command: list[str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self, hint: str) -> Emulator:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            try:
                self.proc = subprocess.Popen(
                    self.command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            except OSError as exc:
                pytest.fail(f"cannot start {self.name} ({' '.join(self.command)}): {exc}. {hint}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{self.name} exited at start:\n{self.log.read_text(errors='replace')}\n{hint}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.5):
                return self
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{self.name} did not listen on port {self.port} within 60s. {hint}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class S3:
    """moto_server as S3: ``bucket()`` makes a fresh bucket; ``options`` reach it from deltalake."""

    endpoint: str
    options: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.options = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ALLOW_HTTP": "true",
        }

    def client(self) -> Any:
        try:
            import boto3
        except ImportError:
            pytest.fail(f"boto3 is not installed: {MOTO_HINT}")
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def bucket(self) -> str:
        """A new empty bucket's URI, ``s3://<name>``."""
        name = f"lake-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return f"s3://{name}"

    def keys(self, uri: str) -> list[str]:
        """Every key under ``s3://bucket/prefix``."""
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]


@dataclass
class Azure:
    """Azurite's Blob service: ``container()`` makes a fresh one; ``options`` reach it from deltalake."""

    endpoint: str
    options: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.options = {
            "AZURE_STORAGE_ACCOUNT_NAME": AZURITE_ACCOUNT,
            "AZURE_STORAGE_ACCOUNT_KEY": AZURITE_KEY,
            "AZURE_STORAGE_ENDPOINT": self.endpoint,
            "AZURE_ALLOW_HTTP": "true",
        }

    def service(self) -> Any:
        try:
            from azure.storage.blob import BlobServiceClient
        except ImportError:
            pytest.fail("azure-storage-blob is not installed: pip install azure-storage-blob")
        return BlobServiceClient.from_connection_string(
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def container(self) -> str:
        """A new empty container's URI, ``az://<name>``."""
        name = f"lake-{uuid.uuid4().hex[:12]}"
        self.service().create_container(name)
        return f"az://{name}"


@contextlib.contextmanager
def moto_server(logs: Path) -> Iterator[S3]:
    if importlib.util.find_spec("moto") is None:
        pytest.fail(f"moto_server is not installed: {MOTO_HINT}")
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    emulator = Emulator("moto_server", command, port, logs / "moto.log").start(MOTO_HINT)
    try:
        yield S3(f"http://127.0.0.1:{port}")
    finally:
        emulator.stop()


def azurite_command() -> str:
    configured = os.environ.get(ENV_AZURITE_BLOB)
    found = configured or shutil.which("azurite-blob")
    if not found:
        pytest.fail(f"azurite-blob was not found ({ENV_AZURITE_BLOB} unset, none on PATH): {AZURITE_HINT}")
    return found


@contextlib.contextmanager
def azurite(workdir: Path) -> Iterator[Azure]:
    port = free_port()
    command = [
        azurite_command(),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(workdir / "data"),
        "--silent",
        "--skipApiVersionCheck",
    ]
    emulator = Emulator("azurite-blob", command, port, workdir / "azurite.log").start(AZURITE_HINT)
    try:
        yield Azure(f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}")
    finally:
        emulator.stop()


class _IgnoreConditions(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the upstream store without its ``If-None-Match``/``If-Match``."""

    protocol_version = "HTTP/1.1"
    upstream: tuple[str, int]

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        dropped = {"if-none-match", "if-match", "host"}
        headers = {k: v for k, v in self.headers.items() if k.lower() not in dropped}
        connection = http.client.HTTPConnection(*self.upstream, timeout=30)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # http.server's names for the handlers of each method.
    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def ignoring_conditional_writes(store: S3) -> Iterator[S3]:
    """``store`` behind a proxy that drops conditional headers: an S3 without conditional writes."""
    host, _, port = store.endpoint.removeprefix("http://").partition(":")
    handler = type("Handler", (_IgnoreConditions,), {"upstream": (host, int(port))})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield S3(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
