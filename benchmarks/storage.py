"""The flush knobs on S3 (moto_server on loopback) against local disk, in one run.

    python benchmarks/storage.py --messages 20000

For each store and each (flush_max_rows, flush_max_seconds) pair, the real
``Worker`` (the XACT plugins, as ``nox -s bench`` runs it) drains a fresh
topic of ``--messages`` results into fresh Delta tables; it prints results
per second and the Parquet files it wrote per minute (over both tables).
Needs ``moto[server]`` and ``boto3`` (``nox -s integration`` installs them).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import dataset
import framework
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from pydantic import SecretStr
from spec import RunSpec, Stopwatch

from kafka_pipeline._config import DeltaSettings
from kafka_pipeline._observability.stats import FlushReport
from kafka_pipeline._worker.runner import Worker

KNOBS = ((20_000, 5.0), (5_000, 1.0), (1_000, 0.2))
TABLES = ("xact_attachments", "xact_attachments_failed")


@contextmanager
def moto() -> Iterator[dict[str, str]]:
    """moto_server on a free loopback port; the deltalake options that reach it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.1)
        yield {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_ALLOW_HTTP": "true",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def s3_bucket(options: dict[str, str]) -> str:
    import boto3  # only this script needs it

    name = f"bench-{uuid.uuid4().hex[:10]}"
    client = boto3.client(
        "s3",
        endpoint_url=options["AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )
    client.create_bucket(Bucket=name)
    return f"s3://{name}"


def files(root: str, options: dict[str, str] | None) -> int:
    total = 0
    for table in TABLES:
        with suppress(TableNotFoundError):
            total += len(DeltaTable(f"{root.rstrip('/')}/{table}", storage_options=options).file_uris())
    return total


async def drain(spec: RunSpec, options: dict[str, str] | None, rows: int, seconds: float) -> float:
    """Seconds from partition assignment to the last commit of ``spec.messages`` results."""
    config = framework.config_for(spec)
    delta = DeltaSettings(
        root=spec.delta_root,
        flush_max_rows=rows,
        flush_max_seconds=seconds,
        storage_options={k: SecretStr(v) for k, v in (options or {}).items()},
    )
    worker = Worker.from_config(config.model_copy(update={"delta": delta}), "xact")
    watch = Stopwatch()
    committed: dict[tuple[str, int], int] = {}

    def on_flush(report: FlushReport) -> None:
        committed.update(report.offsets)
        if sum(committed.values()) >= spec.messages:
            watch.stop()

    worker.add_flush_listener(on_flush)

    async def stop_when_read() -> None:
        while not worker.stats.assignment:  # noqa: ASYNC110
            await asyncio.sleep(0.001)
        watch.start()
        while worker.stats.consumed < spec.messages:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        worker.request_stop()

    watcher = asyncio.create_task(stop_when_read())
    try:
        await worker.run()
    finally:
        watcher.cancel()
    return watch.seconds


async def measure(
    broker: str, root: str, options: dict[str, str] | None, args: argparse.Namespace
) -> list[Any]:
    lines = []
    for rows, seconds in KNOBS:
        prefix = f"st{uuid.uuid4().hex[:8]}"
        run_root = f"{root.rstrip('/')}/{prefix}"
        spec = RunSpec(
            bootstrap_servers=broker,
            source_topic=f"{prefix}.results",
            messages=args.messages,
            group_id=f"{prefix}-group",
            prefix=prefix,
            delta_root=run_root,
            partitions=args.partitions,
        )
        await dataset.produce(broker, spec.source_topic, args.messages, args.seed, args.partitions)
        for topic in spec.namespace.all_topics():
            with suppress(Exception):
                await dataset.create_topics(broker, [topic], args.partitions)
        elapsed = await drain(spec, options, rows, seconds)
        written = files(run_root, options)
        lines.append((rows, seconds, args.messages / elapsed, written / (elapsed / 60), written, elapsed))
    return lines


async def amain(args: argparse.Namespace) -> None:
    with dataset.broker() as broker, moto() as s3_options, tempfile.TemporaryDirectory() as local:
        results = {
            "local disk": await measure(broker.bootstrap_servers, str(Path(local) / "delta"), None, args),
            "S3 (moto)": await measure(
                broker.bootstrap_servers, f"{s3_bucket(s3_options)}/delta", s3_options, args
            ),
        }
    print(f"\n{args.messages:,} results per run, {args.partitions} partitions, XACT plugins, one worker")
    print("| store | flush_max_rows | flush_max_seconds | results/s | files/min | files | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for store, lines in results.items():
        for rows, seconds, rate, per_minute, written, elapsed in lines:
            cells = (store, f"{rows:,}", f"{seconds:g}", f"{rate:,.0f}", f"{per_minute:,.0f}", written)
            print("| " + " | ".join(map(str, cells)) + f" | {elapsed:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(amain(parser.parse_args()))


if __name__ == "__main__":
    main()
